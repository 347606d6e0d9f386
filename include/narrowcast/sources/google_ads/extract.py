"""Google Ads extraction: campaign × day stats for the days the window covers, via GAQL ``searchStream``.

proto3 JSON leaves out zero values, so a missing metric means 0; int64 metrics arrive as strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from narrowcast.apis.google_ads import digits
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_day
from narrowcast.contracts.windows import Window
from narrowcast.sources.google_ads.client import GoogleAdsClient
from narrowcast.sources.google_ads.settings import CAMPAIGN_STATS_QUERY

ENTITIES: dict[str, tuple[str, ...]] = {
    "google_ads_campaign_stats": ("customer_id", "campaign_id", "segments_date"),
}

_CAMPAIGN_RESOURCE = re.compile(r"^customers/(\d+)/campaigns/(\d+)$")


def _number(metrics: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = metrics.get(key, 0)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: metrics.{key} = {value!r} is not a number") from None


def stats_record(row: dict[str, Any], customer_id: int, ref: str) -> dict[str, Any]:
    campaign = row.get("campaign") or {}
    metrics = row.get("metrics") or {}
    where = f"{ref} campaign {campaign.get('id')} {(row.get('segments') or {}).get('date')}"
    match = _CAMPAIGN_RESOURCE.match(campaign.get("resourceName") or "")
    campaign_id = campaign.get("id") or (match.group(2) if match else None)
    if campaign_id is None:
        raise ValueError(f"{where}: campaign.id is missing")
    day = (row.get("segments") or {}).get("date")
    if not day:
        raise ValueError(f"{where}: segments.date is missing")
    return {
        "customer_id": int(match.group(1)) if match else customer_id,
        "campaign_id": int(campaign_id),
        "campaign_name": campaign.get("name"),
        "segments_date": parse_day(day, where=f"{where} segments.date"),
        "impressions": _number(metrics, "impressions", int, where),
        "clicks": _number(metrics, "clicks", int, where),
        "cost_micros": _number(metrics, "costMicros", int, where),
        "conversions": _number(metrics, "conversions", float, where),
        "conversions_value": _number(metrics, "conversionsValue", float, where),
    }


def extract(conn: Connection, window: Window, *, client: GoogleAdsClient | None = None) -> Iterator[Page]:
    """Campaign × day stats for every day ``[window.start, window.end)`` touches; one page per stream batch."""
    client = client or GoogleAdsClient.from_connection(conn)
    customer_id = digits(conn.require("customer_id"))
    since, until = window.days()
    query = CAMPAIGN_STATS_QUERY.format(since=since.isoformat(), until=until.isoformat())
    for results, ref in client.search_stream(customer_id, query):
        yield Page("google_ads_campaign_stats", [stats_record(r, int(customer_id), ref) for r in results], ref)
