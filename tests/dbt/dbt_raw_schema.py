"""The warehouse raw tables of docs/data-contracts.md §2 as DDL, for building test warehouses.

Money columns are DECIMAL(18,2) and ids BIGINT, as the contract's conventions say; every table also carries the
loader's audit columns.
"""

from __future__ import annotations

AUDIT_COLUMNS: dict[str, str] = {"_batch_id": "VARCHAR", "_loaded_at": "TIMESTAMP", "_source": "VARCHAR"}

MONEY = "DECIMAL(18,2)"

RAW_TABLES: dict[str, dict[str, str]] = {
    "shop_customers": {
        "id": "BIGINT", "email": "VARCHAR", "phone": "VARCHAR", "first_name": "VARCHAR", "last_name": "VARCHAR",
        "accepts_marketing": "BOOLEAN", "email_marketing_consent_state": "VARCHAR", "country_code": "VARCHAR",
        "province": "VARCHAR", "city": "VARCHAR", "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP",
        "tags": "VARCHAR",
    },
    "shop_orders": {
        "id": "BIGINT", "order_number": "VARCHAR", "customer_id": "BIGINT", "email": "VARCHAR",
        "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP", "processed_at": "TIMESTAMP",
        "cancelled_at": "TIMESTAMP", "financial_status": "VARCHAR", "fulfillment_status": "VARCHAR",
        "currency": "VARCHAR", "subtotal_price": MONEY, "total_discounts": MONEY, "total_tax": MONEY,
        "total_shipping": MONEY, "total_price": MONEY, "discount_codes": "VARCHAR", "test": "BOOLEAN",
        "source_name": "VARCHAR", "landing_site": "VARCHAR", "referring_site": "VARCHAR",
        "billing_country_code": "VARCHAR",
    },
    "shop_order_lines": {
        "id": "BIGINT", "order_id": "BIGINT", "product_id": "BIGINT", "variant_id": "BIGINT", "sku": "VARCHAR",
        "title": "VARCHAR", "quantity": "INTEGER", "price": MONEY, "total_discount": MONEY,
    },
    "shop_refunds": {
        "id": "BIGINT", "order_id": "BIGINT", "created_at": "TIMESTAMP", "line_item_id": "BIGINT",
        "quantity": "INTEGER", "subtotal": MONEY,
    },
    "shop_products": {
        "product_id": "BIGINT", "variant_id": "BIGINT", "inventory_item_id": "BIGINT", "sku": "VARCHAR",
        "title": "VARCHAR", "product_type": "VARCHAR", "vendor": "VARCHAR", "price": MONEY,
        "compare_at_price": MONEY, "status": "VARCHAR", "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP",
    },
    "ga4_events": {
        "event_key": "VARCHAR", "event_date": "DATE", "event_timestamp": "BIGINT", "event_name": "VARCHAR",
        "user_pseudo_id": "VARCHAR", "user_id": "VARCHAR", "collected_source": "VARCHAR",
        "collected_medium": "VARCHAR", "collected_campaign_name": "VARCHAR", "collected_gclid": "VARCHAR",
        "first_user_source": "VARCHAR", "first_user_medium": "VARCHAR", "geo_country": "VARCHAR",
        "geo_region": "VARCHAR", "geo_city": "VARCHAR", "device_category": "VARCHAR",
        "ecommerce_transaction_id": "VARCHAR", "ecommerce_purchase_revenue": "DOUBLE",
    },
    "ga4_event_params": {
        "event_key": "VARCHAR", "event_date": "DATE", "key": "VARCHAR", "string_value": "VARCHAR",
        "int_value": "BIGINT", "double_value": "DOUBLE",
    },
    "ga4_event_items": {
        "event_key": "VARCHAR", "event_date": "DATE", "item_index": "INTEGER", "item_id": "VARCHAR",
        "item_name": "VARCHAR", "item_category": "VARCHAR", "price": "DOUBLE", "quantity": "BIGINT",
    },
    "meta_ad_insights": {
        "account_id": "VARCHAR", "campaign_id": "VARCHAR", "campaign_name": "VARCHAR", "date_start": "DATE",
        "date_stop": "DATE", "impressions": "BIGINT", "clicks": "BIGINT", "spend": MONEY, "purchases": "BIGINT",
        "purchase_value": MONEY, "account_currency": "VARCHAR",
    },
    "google_ads_campaign_stats": {
        "customer_id": "VARCHAR", "campaign_id": "VARCHAR", "campaign_name": "VARCHAR", "segments_date": "DATE",
        "impressions": "BIGINT", "clicks": "BIGINT", "cost_micros": "BIGINT", "conversions": "DOUBLE",
        "conversions_value": "DOUBLE",
    },
    "ebay_orders": {
        "order_id": "VARCHAR", "creation_date": "TIMESTAMP", "last_modified_date": "TIMESTAMP",
        "order_fulfillment_status": "VARCHAR", "order_payment_status": "VARCHAR", "cancel_state": "VARCHAR",
        "buyer_username": "VARCHAR", "buyer_email": "VARCHAR", "total": MONEY, "currency": "VARCHAR",
        "marketplace_id": "VARCHAR",
    },
    "ebay_order_lines": {
        "line_item_id": "VARCHAR", "order_id": "VARCHAR", "sku": "VARCHAR", "quantity": "INTEGER",
        "line_item_cost": MONEY, "line_item_fulfillment_status": "VARCHAR",
    },
    "amazon_orders": {
        "amazon_order_id": "VARCHAR", "purchase_date": "TIMESTAMP", "last_update_date": "TIMESTAMP",
        "order_status": "VARCHAR", "marketplace_id": "VARCHAR", "buyer_email": "VARCHAR", "order_total": MONEY,
        "currency": "VARCHAR",
    },
    "amazon_order_items": {
        "order_item_id": "VARCHAR", "amazon_order_id": "VARCHAR", "seller_sku": "VARCHAR",
        "quantity_ordered": "INTEGER", "quantity_shipped": "INTEGER", "item_price": MONEY,
    },
    "file_orders": {
        "order_id": "VARCHAR", "customer_id": "VARCHAR", "ordered_at": "TIMESTAMP", "currency": "VARCHAR",
        "total_price": MONEY, "email": "VARCHAR", "financial_status": "VARCHAR", "cancelled_at": "TIMESTAMP",
        "refunded_amount": MONEY, "discount_amount": MONEY, "sku": "VARCHAR", "quantity": "INTEGER",
        "line_price": MONEY, "line_number": "INTEGER", "_file_name": "VARCHAR",
    },
    "file_erp_stock": {
        "sku": "VARCHAR", "on_hand": "INTEGER", "cost": MONEY, "warehouse": "VARCHAR", "snapshot_at": "TIMESTAMP",
        "_file_name": "VARCHAR",
    },
    "file_budget_plan": {
        "month": "VARCHAR", "channel": "VARCHAR", "planned_spend": MONEY, "planned_sessions": "BIGINT",
        "planned_orders": "BIGINT", "planned_revenue": MONEY, "_file_name": "VARCHAR",
    },
    "file_marketplace_listings": {
        "sku": "VARCHAR", "marketplace": "VARCHAR", "listing_id": "VARCHAR", "enabled": "BOOLEAN",
        "_file_name": "VARCHAR",
    },
    "file_privacy_requests": {
        "customer_id": "BIGINT", "email": "VARCHAR", "request_type": "VARCHAR", "requested_at": "TIMESTAMP",
        "_file_name": "VARCHAR",
    },
}


def columns(table: str) -> dict[str, str]:
    """Every column of a raw table (contract columns, then the audit columns) with its DuckDB type."""
    if table not in RAW_TABLES:
        raise KeyError(f"raw.{table} is not in docs/data-contracts.md §2 (known: {', '.join(sorted(RAW_TABLES))})")
    return {**RAW_TABLES[table], **AUDIT_COLUMNS}


def create_table_sql(table: str) -> str:
    body = ", ".join(f'"{name}" {kind}' for name, kind in columns(table).items())
    return f"create or replace table raw.{table} ({body})"
