"""Google Ads campaign metadata: every campaign's type and bidding, and its user-list (audience) criteria.

proto3 JSON leaves out default values: a criterion without ``negative`` is a positive one; enums arrive as
their names; int64 ids as strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from narrowcast.apis.google_ads import digits
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.sources.google_ads.client import GoogleAdsClient
from narrowcast.sources.google_ads_campaigns.settings import CAMPAIGNS_QUERY, USER_LIST_CRITERIA_QUERY

ENTITIES: dict[str, tuple[str, ...]] = {
    "google_ads_campaigns": ("customer_id", "campaign_id"),
    "google_ads_campaign_criteria": ("customer_id", "campaign_id", "criterion_id"),
}

_CAMPAIGN_RESOURCE = re.compile(r"^customers/(\d+)/campaigns/(\d+)$")
_CRITERION_RESOURCE = re.compile(r"^customers/(\d+)/campaignCriteria/(\d+)~(\d+)$")


def _int(value: Any, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} = {value!r} is not a numeric id") from None


def campaign_record(row: dict[str, Any], customer_id: int, ref: str) -> dict[str, Any]:
    campaign = row.get("campaign") or {}
    where = f"{ref} campaign {campaign.get('id')}"
    match = _CAMPAIGN_RESOURCE.match(campaign.get("resourceName") or "")
    campaign_id = campaign.get("id") or (match.group(2) if match else None)
    if campaign_id is None:
        raise ValueError(f"{where}: campaign.id is missing")
    return {
        "customer_id": int(match.group(1)) if match else customer_id,
        "campaign_id": _int(campaign_id, f"{where}: campaign.id"),
        "campaign_name": campaign.get("name"),
        "status": campaign.get("status"),
        "advertising_channel_type": campaign.get("advertisingChannelType"),
        "advertising_channel_sub_type": campaign.get("advertisingChannelSubType"),
        "bidding_strategy_type": campaign.get("biddingStrategyType"),
    }


def criterion_record(row: dict[str, Any], customer_id: int, ref: str) -> dict[str, Any]:
    criterion = row.get("campaignCriterion") or {}
    where = f"{ref} campaign criterion {criterion.get('resourceName') or criterion.get('criterionId')}"
    match = _CRITERION_RESOURCE.match(criterion.get("resourceName") or "")
    campaign_id = (row.get("campaign") or {}).get("id") or (match.group(2) if match else None)
    criterion_id = criterion.get("criterionId") or (match.group(3) if match else None)
    if campaign_id is None or criterion_id is None:
        raise ValueError(f"{where}: campaign.id or campaign_criterion.criterion_id is missing")
    return {
        "customer_id": int(match.group(1)) if match else customer_id,
        "campaign_id": _int(campaign_id, f"{where}: campaign.id"),
        "criterion_id": _int(criterion_id, f"{where}: criterion_id"),
        "criterion_type": criterion.get("type"),
        "status": criterion.get("status"),
        "user_list": (criterion.get("userList") or {}).get("userList"),
        "negative": bool(criterion.get("negative", False)),
    }


def extract(conn: Connection, window: Window, *, client: GoogleAdsClient | None = None) -> Iterator[Page]:
    """Every campaign, then every user-list criterion, of the account (the window only dates the batch)."""
    client = client or GoogleAdsClient.from_connection(conn)
    customer_id = digits(conn.require("customer_id"))
    reads = (("google_ads_campaigns", CAMPAIGNS_QUERY, campaign_record),
             ("google_ads_campaign_criteria", USER_LIST_CRITERIA_QUERY, criterion_record))
    for entity, query, record in reads:
        for results, ref in client.search_stream(customer_id, query):
            yield Page(entity, [record(r, int(customer_id), ref) for r in results], ref)
