"""The Airflow Assets that chain Narrowcast's stages: raw datasets → dbt marts → activation."""

from __future__ import annotations

from airflow.sdk import Asset

RAW_URI = "x-narrowcast://warehouse/raw/{name}"
MART_URI = "x-narrowcast://warehouse/marts/{name}"

RAW_DATASETS = {
    "shop": ("shop_orders", "shop_order_lines", "shop_refunds", "shop_customers", "shop_products"),
    "web_events": ("ga4_events", "ga4_event_params", "ga4_event_items"),
    "ad_costs": ("meta_ad_insights", "google_ads_campaign_stats"),
    "marketplace_orders": ("ebay_orders", "ebay_order_lines", "amazon_orders", "amazon_order_items"),
    "inbox": ("file_orders", "file_erp_stock", "file_budget_plan", "file_marketplace_listings",
              "file_privacy_requests"),
}

MARTS = (
    "customer_rfm",
    "customer_segments",
    "customer_recommendations",
    "kpi_channel_daily",
    "kpi_funnel",
    "budget_vs_actual",
    "marketplace_listing_feed",
    "audience_members",
)


def raw_asset(table: str) -> Asset:
    return Asset(RAW_URI.format(name=table), group="raw")


def mart_asset(name: str) -> Asset:
    return Asset(MART_URI.format(name=name), group="marts")


def raw_assets(family: str) -> list[Asset]:
    return [raw_asset(table) for table in RAW_DATASETS[family]]


ALL_RAW_ASSETS = [raw_asset(t) for tables in RAW_DATASETS.values() for t in tables]
MART_ASSETS = {name: mart_asset(name) for name in MARTS}
