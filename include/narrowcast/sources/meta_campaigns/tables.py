"""The Meta campaign-metadata source declares its raw tables (campaigns, ad sets) and how they load.

Both merge on their id: a campaign or ad set read again replaces its stored row (a changed objective, a new
audience), one never read again keeps its last known state.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import EntitySpec, SourceSpec, text_columns, timestamp_columns

META_CAMPAIGNS = EntitySpec(
    "meta_campaigns",
    {
        "account_id": "BIGINT",
        "campaign_id": "BIGINT",
        **text_columns("campaign_name", "objective", "status", "effective_status", "buying_type"),
        **timestamp_columns("created_time", "updated_time"),
    },
    key=("account_id", "campaign_id"),
    not_future=("updated_time",),
    notes={"objective": "Meta's campaign objective, e.g. OUTCOME_LEADS, OUTCOME_SALES, OUTCOME_TRAFFIC"},
)

META_AD_SETS = EntitySpec(
    "meta_ad_sets",
    {
        "account_id": "BIGINT",
        "adset_id": "BIGINT",
        "campaign_id": "BIGINT",
        **text_columns("adset_name", "status", "custom_audience_ids", "custom_audience_names",
                       "excluded_custom_audience_ids"),
        **timestamp_columns("updated_time"),
    },
    key=("account_id", "adset_id"),
    required=("campaign_id",),
    not_future=("updated_time",),
    notes={"custom_audience_ids": "ids of the custom/lookalike audiences targeted, comma-joined; NULL = none",
           "custom_audience_names": "their names, joined with ' | '"},
)

SOURCE = SourceSpec(
    "meta_campaigns",
    connection_pages("narrowcast.sources.meta_campaigns.extract:extract"),
    (META_CAMPAIGNS, META_AD_SETS),
    lookback=timedelta(days=1),  # an object updated just before the previous window closed is read again
    catch_up_step=timedelta(days=31),  # metadata is small: catch up a month at a time
    connection_id="narrowcast_meta",
)
