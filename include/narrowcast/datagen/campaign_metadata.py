"""Campaign settings as the ad platforms hold them: Meta objectives and ad-set audiences, Google Ads channel types,
bidding and user-list criteria, for the demo's campaigns (``traffic.campaigns``).

The mix is chosen so the demo's classification (seed ``campaign_type_rules``) shows every path: a rule on the
audience (remarketing, lookalike prospecting), on the objective or channel type, the campaign-name fallback, and
one campaign no rule matches (flagged unclassified).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from narrowcast.datagen.table_writer import timestamps
from narrowcast.datagen.traffic import GOOGLE_CUSTOMER_ID, META_ACCOUNT_ID, Campaign


@dataclass(frozen=True)
class CampaignSettings:
    objective_or_channel: str  # Meta objective, or Google advertising_channel_type
    sub_type_or_bidding: tuple[str | None, str | None] = (None, None)  # Google (sub type, bidding strategy)
    audiences: tuple[tuple[int, str], ...] = ()  # Meta custom audiences, or Google user-list ids (name unused)


# Keyed by the campaign's position in traffic.campaigns(); unknown positions get no settings row.
SETTINGS: dict[int, CampaignSettings] = {
    0: CampaignSettings("OUTCOME_SALES"),  # classified by its name ("Prospecting")
    1: CampaignSettings("OUTCOME_SALES", audiences=((23_851_000_900_001, "Website visitors 30d"),
                                                    (23_851_000_900_002, "Added to cart 14d"))),
    2: CampaignSettings("OUTCOME_LEADS", audiences=((23_851_000_900_003, "Lookalike (DE, 1%) - Buyers"),)),
    3: CampaignSettings("OUTCOME_SALES", audiences=((23_851_000_900_004, "Narrowcast upsell candidates"),)),
    4: CampaignSettings("SEARCH", (None, "TARGET_IMPRESSION_SHARE")),  # classified by its name ("Brand")
    5: CampaignSettings("SEARCH", (None, "MAXIMIZE_CONVERSIONS")),  # no rule matches: flagged unclassified
    6: CampaignSettings("PERFORMANCE_MAX", (None, "MAXIMIZE_CONVERSION_VALUE")),
    7: CampaignSettings("SHOPPING", (None, "TARGET_ROAS"), audiences=((7_001_234_567, "Cart abandoners"),)),
}


def build_campaign_metadata(all_campaigns: list[Campaign], start_s: int) -> dict[str, pa.Table]:
    """World tables ``meta_campaigns``, ``meta_ad_sets``, ``google_ads_campaigns``, ``google_ads_campaign_criteria``."""
    meta_c: dict[str, list] = {k: [] for k in ("account_id", "campaign_id", "name", "objective", "status",
                                                "created_time", "updated_time")}
    meta_a: dict[str, list] = {k: [] for k in ("account_id", "adset_id", "campaign_id", "name", "status",
                                                "custom_audiences", "created_time", "updated_time")}
    google_c: dict[str, list] = {k: [] for k in ("customer_id", "campaign_id", "name", "status",
                                                  "advertising_channel_type", "advertising_channel_sub_type",
                                                  "bidding_strategy_type")}
    google_k: dict[str, list] = {k: [] for k in ("customer_id", "campaign_id", "criterion_id", "type",
                                                  "criterion_status", "user_list", "negative")}
    for position, campaign in enumerate(all_campaigns):
        settings = SETTINGS.get(position)
        if settings is None:
            continue
        # Created a month before its first active day; last changed the day it started.
        created = start_s + (campaign.first_day - 30) * 86400 + 9 * 3600
        updated = start_s + campaign.first_day * 86400 + 8 * 3600
        status = "ACTIVE" if campaign.last_day is None else "PAUSED"
        if campaign.platform == "meta":
            for column, value in (("account_id", META_ACCOUNT_ID), ("campaign_id", campaign.campaign_id),
                                  ("name", campaign.name), ("objective", settings.objective_or_channel),
                                  ("status", status), ("created_time", created), ("updated_time", updated)):
                meta_c[column].append(value)
            audiences = [{"id": a_id, "name": a_name} for a_id, a_name in settings.audiences]
            for column, value in (("account_id", META_ACCOUNT_ID), ("adset_id", campaign.campaign_id * 10 + 1),
                                  ("campaign_id", campaign.campaign_id), ("name", f"{campaign.name} - ad set"),
                                  ("status", status), ("custom_audiences", json.dumps(audiences)),
                                  ("created_time", created), ("updated_time", updated)):
                meta_a[column].append(value)
            continue
        sub_type, bidding = settings.sub_type_or_bidding
        for column, value in (("customer_id", GOOGLE_CUSTOMER_ID), ("campaign_id", campaign.campaign_id),
                              ("name", campaign.name), ("status", "ENABLED" if status == "ACTIVE" else "PAUSED"),
                              ("advertising_channel_type", settings.objective_or_channel),
                              ("advertising_channel_sub_type", sub_type), ("bidding_strategy_type", bidding)):
            google_c[column].append(value)
        for number, (list_id, _name) in enumerate(settings.audiences, start=1):
            for column, value in (("customer_id", GOOGLE_CUSTOMER_ID), ("campaign_id", campaign.campaign_id),
                                  ("criterion_id", 900_000 + number), ("type", "USER_LIST"),
                                  ("criterion_status", "ENABLED"),
                                  ("user_list", f"customers/{GOOGLE_CUSTOMER_ID}/userLists/{list_id}"),
                                  ("negative", False)):
                google_k[column].append(value)

    def table(columns: dict[str, list], times: tuple[str, ...] = ()) -> pa.Table:
        return pa.table({k: timestamps(np.array(v, dtype=np.int64)) if k in times else pa.array(v)
                         for k, v in columns.items()})

    return {
        "meta_campaigns": table(meta_c, ("created_time", "updated_time")),
        "meta_ad_sets": table(meta_a, ("created_time", "updated_time")),
        "google_ads_campaigns": pa.table({k: pa.array(v, pa.int64() if k.endswith("_id") else pa.string())
                                          for k, v in google_c.items()}),
        "google_ads_campaign_criteria": pa.table({
            k: pa.array(v, pa.bool_() if k == "negative" else pa.int64() if k.endswith("_id") else pa.string())
            for k, v in google_k.items()}),
    }
