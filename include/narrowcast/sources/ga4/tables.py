"""The GA4 export source declares its raw tables (events, their params and items) and how they load.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import imported
from narrowcast.contracts.tables import EntitySpec, SourceSpec, text_columns

GA4_EVENTS = EntitySpec(
    "ga4_events",
    {
        "event_key": "VARCHAR",
        "event_date": "DATE",
        "event_timestamp": "BIGINT",
        **text_columns("event_name", "user_pseudo_id", "user_id"),
        **text_columns("collected_source", "collected_medium", "collected_campaign_name", "collected_gclid"),
        **text_columns("first_user_source", "first_user_medium", "geo_country", "geo_region", "geo_city"),
        **text_columns("device_category", "ecommerce_transaction_id"),
        "ecommerce_purchase_revenue": "DOUBLE",
    },
    key=("event_key",),
    load_mode="replace_partition",
    partition_column="event_date",
    # What GA4 itself always writes. It leaves user_pseudo_id NULL for consent-mode "cookieless pings"
    # (analytics_storage denied), user_id NULL unless the site sets one, geo/device fields empty when unknown,
    # and older export schemas lack later columns (collected_traffic_source, 2023): such rows are valid events.
    required=("event_date", "event_timestamp"),
    not_null=("event_date", "event_timestamp", "event_name"),
    non_negative=("ecommerce_purchase_revenue",),
    not_future=("event_timestamp", "event_date"),
    event_name_column="event_name",
    notes={"event_key": "stable hash of the export line", "event_timestamp": "µs since epoch"},
)

GA4_EVENT_PARAMS = EntitySpec(
    "ga4_event_params",
    {
        "event_key": "VARCHAR",
        "event_date": "DATE",
        "key": "VARCHAR",
        "string_value": "VARCHAR",
        "int_value": "BIGINT",
        "double_value": "DOUBLE",
    },
    key=("event_key", "key"),
    load_mode="replace_partition",
    partition_column="event_date",
    required=("event_date",),
    notes={"double_value": "GA4's `float_value` folds into it"},
)

GA4_EVENT_ITEMS = EntitySpec(
    "ga4_event_items",
    {
        "event_key": "VARCHAR",
        "event_date": "DATE",
        "item_index": "INTEGER",
        **text_columns("item_id", "item_name", "item_category"),
        "price": "DOUBLE",
        "quantity": "BIGINT",
    },
    key=("event_key", "item_index"),
    load_mode="replace_partition",
    partition_column="event_date",
    required=("event_date",),
    non_negative=("price", "quantity"),
)

SOURCE = SourceSpec(
    "ga4",
    imported("narrowcast.sources.ga4.reader:extract"),
    (GA4_EVENTS, GA4_EVENT_PARAMS, GA4_EVENT_ITEMS),
    # Files, not windows, decide what loads; the window (with GA4's 72 h of late events) only says which days'
    # exports are due, so a missing one raises an alert.
    lookback=timedelta(days=3),
    input_dir="exports/ga4",
    batch_per_file=True,
    files_load_together=True,
)
