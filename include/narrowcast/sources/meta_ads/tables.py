"""The Meta Ads source declares its raw table (daily campaign insights) and how it loads.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import MONEY, EntitySpec, SourceSpec

META_AD_INSIGHTS = EntitySpec(
    "meta_ad_insights",
    {
        "account_id": "BIGINT",
        "campaign_id": "BIGINT",
        "campaign_name": "VARCHAR",
        "date_start": "DATE",
        "date_stop": "DATE",
        "impressions": "BIGINT",
        "clicks": "BIGINT",
        "spend": MONEY,
        "purchases": "BIGINT",
        "purchase_value": MONEY,
        "account_currency": "VARCHAR",
    },
    key=("account_id", "campaign_id", "date_start"),
    load_mode="replace_partition",
    partition_column="date_start",
    required=("spend",),
    non_negative=("impressions", "clicks", "spend", "purchases", "purchase_value"),
    not_future=("date_start",),
    currency_columns=("account_currency",),
)

SOURCE = SourceSpec(
    "meta_ads",
    connection_pages("narrowcast.sources.meta_ads.extract:extract"),
    (META_AD_INSIGHTS,),
    lookback=timedelta(days=7),  # ad platforms restate the last days' spend and clicks
    catch_up_step=timedelta(days=7),  # each window re-reads a week anyway: catch up a week at a time
    connection_id="narrowcast_meta",
)
