"""The dashboard's Sources panel: which sources this merchant has connected, and why a chart without data has none.

Which sources are used is decided once, by :mod:`narrowcast.sources.enabled`; this module only says which sources
feed each chart, so an empty chart can name the missing ones ("no data: ga4 not connected") instead of looking
broken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from narrowcast.sources.enabled import ConnectionLookup, SourceState, source_states

ORDER_SOURCES = ("shopify", "inbox", "ebay", "amazon")
AD_SOURCES = ("meta_ads", "google_ads")
# The sources whose data a chart shows (any one of them fills it). A source not listed here feeds no chart.
CHART_SOURCES: dict[str, tuple[str, ...]] = {
    "kpi": (*ORDER_SOURCES, "ga4", *AD_SOURCES),
    "budget": (*ORDER_SOURCES, "ga4", *AD_SOURCES),  # the plan is a seed; the actuals come from these
    "funnel": ("ga4", *AD_SOURCES),
    "rfm": ORDER_SOURCES,
    "recommendations": ORDER_SOURCES,
    "listings": ("inbox", "shopify"),  # ERP stock file and the shop's catalogue
    "marketplaces": (*ORDER_SOURCES, "ebay_finances", "amazon_finances", "etsy_finances"),
    "uplift": ORDER_SOURCES,  # outcomes are orders; the groups come from the audiences
    "syncs": (),
    "discounts": ("shopify",),  # redemptions are read from the shop's orders' discount codes
    "affiliates": ("shopify", "inbox", "ga4"),  # referral codes on shop orders, referral and affiliate visits
    # campaign types and spend, GA4 lead events, the shop's newsletter consent, Klaviyo sign-ups and the orders
    "leads": ("ga4", "shopify", *AD_SOURCES, "meta_campaigns", "google_ads_campaigns", "klaviyo"),
}


def sources_panel(connected: ConnectionLookup | None = None) -> dict[str, Any]:
    """Every source, connected or not, with the reason and the fix for each one that is not."""
    states = source_states(connected)
    return {
        "status": "ok",
        "connected": [name for name, state in states.items() if state.enabled],
        "not_connected": [{"source": name, "status": state.status, "reason": state.reason}
                          for name, state in states.items() if not state.enabled],
    }


def no_data_message(chart: str, states: Mapping[str, SourceState]) -> str | None:
    """``no data: <sources> not connected`` for a chart whose feeding sources are not all in use, else None."""
    absent = [name for name in CHART_SOURCES.get(chart, ()) if name in states and not states[name].enabled]
    if not absent:
        return None
    return f"no data: {', '.join(absent)} not connected"
