"""Where visits come from: the channel set, ad campaigns, and every (source, medium, campaign) the site sees."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import numpy as np

CHANNELS = ("paid_social", "paid_search", "organic_search", "email", "direct", "referral", "affiliate",
            "marketplace")
PAID_SOCIAL, PAID_SEARCH, ORGANIC, EMAIL, DIRECT, REFERRAL, AFFILIATE = range(7)
# Share of sessions per channel (marketplace orders have no site sessions). Paid media brings about a third of the
# visits; with the campaigns' CPCs this puts paid ROAS near 4x (benchmarks in narrowcast.datagen.benchmarks).
BROWSE_MIX = np.array([0.15, 0.15, 0.28, 0.07, 0.23, 0.07, 0.05])
PURCHASE_MIX = np.array([0.15, 0.22, 0.20, 0.13, 0.20, 0.05, 0.05])
META_ACCOUNT_ID = 1_048_576_200_001
GOOGLE_CUSTOMER_ID = 4_815_162_342


@dataclass(frozen=True)
class Campaign:
    platform: str  # 'meta' or 'google_ads'
    campaign_id: int
    name: str
    first_day: int  # day index within the window, inclusive
    last_day: int | None  # None = always on
    weight: float  # share of the platform's paid sessions while active
    cpc_cents: tuple[int, int]


def campaigns(days: int) -> list[Campaign]:
    """The campaigns of the demo account; two per platform run the whole window, others come and go.

    Cost per click in euro cents, in the range published for European e-commerce (Meta about €0.50-1.50, Google
    search €0.20-3.00), which with the traffic mix puts paid ROAS near 4x (narrowcast.datagen.benchmarks)."""
    third = max(days // 3, 1)
    return [
        Campaign("meta", 23_851_000_000_101, "NC | Prospecting | Broad", 0, None, 0.40, (56, 144)),
        Campaign("meta", 23_851_000_000_102, "NC | Retargeting | DPA", 0, None, 0.30, (40, 112)),
        Campaign("meta", 23_851_000_000_103, "NC | Lookalike 1% | Buyers", third, None, 0.20, (64, 176)),
        Campaign("meta", 23_851_000_000_104, "NC | Autumn Sale", 2 * third, min(2 * third + 20, days - 1), 0.35,
                 (48, 128)),
        Campaign("google_ads", 20_481_000_201, "Search | Brand", 0, None, 0.25, (16, 64)),
        Campaign("google_ads", 20_481_000_202, "Search | Generic | Espresso", 0, None, 0.35, (80, 288)),
        Campaign("google_ads", 20_481_000_203, "PMax | All products", 0, None, 0.30, (48, 192)),
        Campaign("google_ads", 20_481_000_204, "Shopping | Grinders", min(10, days - 1), max(days - 15, 10), 0.20,
                 (64, 240)),
    ]


@dataclass(frozen=True)
class TrafficSource:
    channel: int
    source: str
    medium: str
    campaign: str
    campaign_index: int  # index into campaigns(), -1 for unpaid sources
    landing_query: str
    referrer: str | None
    campaign_id: str | None = None  # the ad platform's campaign id, as GA4 imports it


def traffic_sources(all_campaigns: list[Campaign]) -> list[TrafficSource]:
    out: list[TrafficSource] = []
    for ci, camp in enumerate(all_campaigns):
        if camp.platform == "meta":
            for source in ("facebook", "instagram"):
                for medium in ("paid_social", "cpc"):
                    query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={quote(camp.name)}"
                    out.append(TrafficSource(PAID_SOCIAL, source, medium, camp.name, ci, query,
                                             f"https://l.{source}.com/", str(camp.campaign_id)))
        else:
            # Google Ads auto-tagging: the landing URL carries a gclid, GA4 resolves the campaign from it.
            out.append(TrafficSource(PAID_SEARCH, "google", "cpc", camp.name, ci, "?gclid=",
                                     "https://www.google.com/", str(camp.campaign_id)))
    for source, share in (("google", 0), ("bing", 1), ("duckduckgo", 2)):
        out.append(TrafficSource(ORGANIC, source, "organic", "(organic)", -1, "",
                                 ("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/")[share]))
    for flow in ("newsletter_weekly", "abandoned_cart_flow", "welcome_series", "winback_flow"):
        out.append(TrafficSource(EMAIL, "klaviyo", "email", flow, -1,
                                 f"?utm_source=klaviyo&utm_medium=email&utm_campaign={flow}", None))
    out.append(TrafficSource(DIRECT, "(direct)", "(none)", "(direct)", -1, "", None))
    for site in ("blog.example.com", "forum.example.net", "news.example.org"):
        out.append(TrafficSource(REFERRAL, site, "referral", "(referral)", -1, "", f"https://{site}/"))
    for partner in ("awin_publisher_1021", "awin_publisher_2203", "cashback_partner_77"):
        out.append(TrafficSource(AFFILIATE, "awin", "affiliate", partner, -1,
                                 f"?utm_source=awin&utm_medium=affiliate&utm_campaign={partner}",
                                 "https://www.awin1.com/"))
    return out


def active_matrix(all_campaigns: list[Campaign], days: int) -> np.ndarray:
    """(days × campaigns) bool: is the campaign running on that day."""
    day = np.arange(days)[:, None]
    first = np.array([c.first_day for c in all_campaigns])[None, :]
    last = np.array([days - 1 if c.last_day is None else c.last_day for c in all_campaigns])[None, :]
    return (day >= first) & (day <= last)
