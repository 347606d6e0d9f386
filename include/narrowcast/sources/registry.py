"""Every source Narrowcast extracts: its extractor, its raw tables (columns, types, keys) and how each loads.

The column types are the warehouse raw schema of ``docs/data-contracts.md`` §2; the loader creates the tables
from them and the quality gate checks values against them. Extractors are imported lazily so that reading the
registry (DAG parsing, the CLI's help) never pulls in an HTTP client or a heavy library.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.tables import (
    MONEY,
    EntitySpec,
    SourceSpec,
    money_columns,
    text_columns,
    timestamp_columns,
)

SHOP_CUSTOMERS = EntitySpec(
    "shop_customers",
    {
        "id": "BIGINT",
        **text_columns("email", "phone", "first_name", "last_name"),
        "accepts_marketing": "BOOLEAN",
        **text_columns("email_marketing_consent_state", "country_code", "province", "city"),
        **timestamp_columns("created_at", "updated_at"),
        "tags": "VARCHAR",
    },
    key=("id",),
    not_future=("created_at", "updated_at"),
)
SHOP_ORDERS = EntitySpec(
    "shop_orders",
    {
        "id": "BIGINT",
        "order_number": "BIGINT",
        "customer_id": "BIGINT",
        "email": "VARCHAR",
        **timestamp_columns("created_at", "updated_at", "processed_at", "cancelled_at"),
        **text_columns("financial_status", "fulfillment_status", "currency"),
        **money_columns("subtotal_price", "total_discounts", "total_tax", "total_shipping", "total_price"),
        "discount_codes": "VARCHAR",
        "test": "BOOLEAN",
        **text_columns("source_name", "landing_site", "referring_site", "billing_country_code"),
    },
    key=("id",),
    required=("created_at", "total_price"),
    non_negative=("subtotal_price", "total_discounts", "total_tax", "total_shipping", "total_price"),
    not_future=("created_at", "updated_at", "processed_at", "cancelled_at"),
    currency_columns=("currency",),
    line_totals=True,
)
SHOP_ORDER_LINES = EntitySpec(
    "shop_order_lines",
    {
        **dict.fromkeys(("id", "order_id", "product_id", "variant_id"), "BIGINT"),
        **text_columns("sku", "title"),
        "quantity": "INTEGER",
        **money_columns("price", "total_discount"),
    },
    key=("id",),
    required=("order_id",),
    non_negative=("quantity", "price", "total_discount"),
)
SHOP_REFUNDS = EntitySpec(
    "shop_refunds",
    {
        "id": "BIGINT",
        "order_id": "BIGINT",
        "created_at": "TIMESTAMP",
        "line_item_id": "BIGINT",
        "quantity": "INTEGER",
        "subtotal": MONEY,
    },
    key=("id", "line_item_id"),
    required=("order_id",),
    non_negative=("quantity", "subtotal"),
    not_future=("created_at",),
)
SHOP_PRODUCTS = EntitySpec(
    "shop_products",
    {
        **dict.fromkeys(("product_id", "variant_id", "inventory_item_id"), "BIGINT"),
        **text_columns("sku", "title", "product_type", "vendor"),
        **money_columns("price", "compare_at_price"),
        "status": "VARCHAR",
        **timestamp_columns("created_at", "updated_at"),
    },
    key=("variant_id",),
    non_negative=("price", "compare_at_price"),
    not_future=("created_at", "updated_at"),
)

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
    required=("event_date", "event_timestamp", "user_pseudo_id"),
    not_null=("event_date", "event_timestamp", "event_name", "user_pseudo_id"),
    non_negative=("ecommerce_purchase_revenue",),
    not_future=("event_timestamp", "event_date"),
    event_name_column="event_name",
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

# Marketplace order ids are strings in the real APIs ("12-34567-89012", "902-3159896-1390916").
EBAY_ORDERS = EntitySpec(
    "ebay_orders",
    {
        "order_id": "VARCHAR",
        **timestamp_columns("creation_date", "last_modified_date"),
        **text_columns("order_fulfillment_status", "order_payment_status", "cancel_state", "buyer_username"),
        "buyer_email": "VARCHAR",
        "total": MONEY,
        **text_columns("currency", "marketplace_id"),
    },
    key=("order_id",),
    non_negative=("total",),
    not_future=("creation_date", "last_modified_date"),
    currency_columns=("currency",),
    # getOrders returns buyer.buyerRegistrationAddress.email only for 14 days after the order.
    keep_stored=("buyer_email",),
)
EBAY_ORDER_LINES = EntitySpec(
    "ebay_order_lines",
    {
        "line_item_id": "VARCHAR",
        "order_id": "VARCHAR",
        "sku": "VARCHAR",
        "quantity": "INTEGER",
        "line_item_cost": MONEY,
        "line_item_fulfillment_status": "VARCHAR",
    },
    key=("line_item_id",),
    required=("order_id",),
    non_negative=("quantity", "line_item_cost"),
)
AMAZON_ORDERS = EntitySpec(
    "amazon_orders",
    {
        "amazon_order_id": "VARCHAR",
        **timestamp_columns("purchase_date", "last_update_date"),
        **text_columns("order_status", "marketplace_id", "buyer_email"),
        "order_total": MONEY,
        "currency": "VARCHAR",
    },
    key=("amazon_order_id",),
    non_negative=("order_total",),
    not_future=("purchase_date", "last_update_date"),
    currency_columns=("currency",),
)
AMAZON_ORDER_ITEMS = EntitySpec(
    "amazon_order_items",
    {
        "order_item_id": "VARCHAR",
        "amazon_order_id": "VARCHAR",
        "seller_sku": "VARCHAR",
        "quantity_ordered": "INTEGER",
        "quantity_shipped": "INTEGER",
        "item_price": MONEY,
    },
    key=("order_item_id",),
    required=("amazon_order_id",),
    non_negative=("quantity_ordered", "quantity_shipped", "item_price"),
)

# File tables: a new version of a file replaces every row the previous version loaded (partition _file_name).
FILE_ORDERS = EntitySpec(
    "file_orders",
    {
        "order_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "ordered_at": "TIMESTAMP",
        "currency": "VARCHAR",
        "total_price": MONEY,
        "email": "VARCHAR",
        "financial_status": "VARCHAR",
        "cancelled_at": "TIMESTAMP",
        **money_columns("refunded_amount", "discount_amount"),
        "sku": "VARCHAR",
        "quantity": "INTEGER",
        "line_price": MONEY,
        "line_number": "INTEGER",
        "_file_name": "VARCHAR",
    },
    key=("order_id", "line_number"),
    partition_column="_file_name",
    required=("customer_id", "ordered_at", "currency", "total_price", "_file_name"),
    non_negative=("total_price", "refunded_amount", "discount_amount", "quantity", "line_price"),
    not_future=("ordered_at", "cancelled_at"),
    currency_columns=("currency",),
)
FILE_ERP_STOCK = EntitySpec(
    "file_erp_stock",
    {
        "sku": "VARCHAR",
        "on_hand": "INTEGER",
        "cost": MONEY,
        "warehouse": "VARCHAR",
        "snapshot_at": "TIMESTAMP",
        "_file_name": "VARCHAR",
    },
    key=("_file_name", "sku"),
    partition_column="_file_name",
    required=("on_hand", "cost", "warehouse", "snapshot_at"),
    non_negative=("cost",),
    not_future=("snapshot_at",),
)
FILE_BUDGET_PLAN = EntitySpec(
    "file_budget_plan",
    {
        "month": "VARCHAR",
        "channel": "VARCHAR",
        "planned_spend": MONEY,
        "planned_sessions": "BIGINT",
        "planned_orders": "BIGINT",
        "planned_revenue": MONEY,
        "_file_name": "VARCHAR",
    },
    key=("month", "channel"),
    partition_column="_file_name",
    required=("planned_spend", "planned_sessions", "planned_orders", "planned_revenue", "_file_name"),
    non_negative=("planned_spend", "planned_sessions", "planned_orders", "planned_revenue"),
)
FILE_MARKETPLACE_LISTINGS = EntitySpec(
    "file_marketplace_listings",
    {"sku": "VARCHAR", "marketplace": "VARCHAR", "listing_id": "VARCHAR", "enabled": "BOOLEAN", "_file_name": "VARCHAR"},
    key=("sku", "marketplace"),
    partition_column="_file_name",
    required=("listing_id", "enabled", "_file_name"),
)
FILE_PRIVACY_REQUESTS = EntitySpec(
    "file_privacy_requests",
    {
        "customer_id": "BIGINT",
        "email": "VARCHAR",
        "request_type": "VARCHAR",
        "requested_at": "TIMESTAMP",
        "_file_name": "VARCHAR",
    },
    key=("customer_id", "request_type"),
    partition_column="_file_name",
    required=("email", "requested_at", "_file_name"),
    not_future=("requested_at",),
)

SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            "shopify",
            "api",
            "narrowcast.sources.shopify:extract",
            (SHOP_CUSTOMERS, SHOP_ORDERS, SHOP_ORDER_LINES, SHOP_REFUNDS, SHOP_PRODUCTS),
            connection_id="narrowcast_shopify",
        ),
        SourceSpec(
            "meta_ads",
            "api",
            "narrowcast.sources.meta_ads:extract",
            (META_AD_INSIGHTS,),
            lookback=timedelta(days=7),  # ad platforms restate the last days' spend and clicks
            connection_id="narrowcast_meta",
        ),
        SourceSpec(
            "google_ads",
            "api",
            "narrowcast.sources.google_ads:extract",
            (GOOGLE_ADS_CAMPAIGN_STATS,),
            lookback=timedelta(days=7),
            connection_id="narrowcast_google_ads",
        ),
        SourceSpec(
            "ebay",
            "api",
            "narrowcast.sources.ebay:extract",
            (EBAY_ORDERS, EBAY_ORDER_LINES),
            connection_id="narrowcast_ebay",
        ),
        SourceSpec(
            "amazon",
            "api",
            "narrowcast.sources.amazon:extract",
            (AMAZON_ORDERS, AMAZON_ORDER_ITEMS),
            connection_id="narrowcast_amazon",
        ),
        SourceSpec(
            "ga4",
            "ga4",
            "narrowcast.sources.ga4.reader:land_exports",
            (GA4_EVENTS, GA4_EVENT_PARAMS, GA4_EVENT_ITEMS),
            lookback=timedelta(days=3),  # GA4 keeps adding late events to a day's export for 72 h
        ),
        SourceSpec(
            "inbox",
            "inbox",
            "narrowcast.sources.files.inbox:land_inbox",
            (FILE_ORDERS, FILE_ERP_STOCK, FILE_BUDGET_PLAN, FILE_MARKETPLACE_LISTINGS, FILE_PRIVACY_REQUESTS),
        ),
    )
}

ENTITIES: dict[str, EntitySpec] = {e.name: e for s in SOURCES.values() for e in s.entities}


def source(name: str) -> SourceSpec:
    """The source called ``name``; the error lists the known ones."""
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r} (known: {', '.join(SOURCES)})") from None


def entity(name: str) -> EntitySpec:
    """The raw table spec called ``name`` (without the ``raw.`` schema)."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown raw table {name!r} (known: {', '.join(ENTITIES)})") from None

