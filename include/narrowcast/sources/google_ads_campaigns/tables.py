"""The Google Ads campaign-metadata source declares its raw tables and how they load (merge on the ids)."""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import EntitySpec, SourceSpec, text_columns

GOOGLE_ADS_CAMPAIGNS = EntitySpec(
    "google_ads_campaigns",
    {
        "customer_id": "BIGINT",
        "campaign_id": "BIGINT",
        **text_columns("campaign_name", "status", "advertising_channel_type", "advertising_channel_sub_type",
                       "bidding_strategy_type"),
    },
    key=("customer_id", "campaign_id"),
    notes={"advertising_channel_type": "AdvertisingChannelType enum name, e.g. SEARCH, PERFORMANCE_MAX",
           "bidding_strategy_type": "BiddingStrategyType enum name, e.g. TARGET_ROAS, MAXIMIZE_CONVERSIONS"},
)

GOOGLE_ADS_CAMPAIGN_CRITERIA = EntitySpec(
    "google_ads_campaign_criteria",
    {
        "customer_id": "BIGINT",
        "campaign_id": "BIGINT",
        "criterion_id": "BIGINT",
        **text_columns("criterion_type", "status", "user_list"),
        "negative": "BOOLEAN",
    },
    key=("customer_id", "campaign_id", "criterion_id"),
    # Every run reads every user-list criterion: the account's rows are replaced, so a removed list goes too.
    partition_column="customer_id",
    notes={"user_list": "resource name customers/{id}/userLists/{id}", "negative": "true = the list is excluded"},
)

SOURCE = SourceSpec(
    "google_ads_campaigns",
    connection_pages("narrowcast.sources.google_ads_campaigns.extract:extract"),
    (GOOGLE_ADS_CAMPAIGNS, GOOGLE_ADS_CAMPAIGN_CRITERIA),
    catch_up_step=timedelta(days=366),  # every run reads the whole account: one window catches up any gap
    connection_id="narrowcast_google_ads",
)
