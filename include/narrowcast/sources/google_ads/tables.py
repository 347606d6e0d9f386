"""The Google Ads source declares its raw table (daily campaign stats) and how it loads.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import EntitySpec, SourceSpec

GOOGLE_ADS_CAMPAIGN_STATS = EntitySpec(
    "google_ads_campaign_stats",
    {
        "customer_id": "BIGINT",
        "campaign_id": "BIGINT",
        "campaign_name": "VARCHAR",
        "segments_date": "DATE",
        "impressions": "BIGINT",
        "clicks": "BIGINT",
        "cost_micros": "BIGINT",
        "conversions": "DOUBLE",
        "conversions_value": "DOUBLE",
    },
    key=("customer_id", "campaign_id", "segments_date"),
    load_mode="replace_partition",
    partition_column="segments_date",
    required=("cost_micros",),
    non_negative=("impressions", "clicks", "cost_micros", "conversions", "conversions_value"),
    not_future=("segments_date",),
)

SOURCE = SourceSpec(
    "google_ads",
    connection_pages("narrowcast.sources.google_ads.extract:extract"),
    (GOOGLE_ADS_CAMPAIGN_STATS,),
    lookback=timedelta(days=7),  # ad platforms restate the last days' spend and clicks
    catch_up_step=timedelta(days=7),  # each window re-reads a week anyway: catch up a week at a time
    connection_id="narrowcast_google_ads",
)
