"""GA4 BigQuery-export rows in the real export shape (as ``bq extract --destination_format NEWLINE_DELIMITED_JSON``
writes them: INT64 as strings, unused fields present as null), for the reader tests."""

from __future__ import annotations

import json
from typing import Any


def purchase_event(*, event_date: str = "20240105", ts: int = 1704448800123456, user: str = "1234567.7654321") -> dict[str, Any]:
    return {
        "event_date": event_date,
        "event_timestamp": str(ts),
        "event_name": "purchase",
        "event_params": [
            {"key": "ga_session_id", "value": {"string_value": None, "int_value": "1704448000", "float_value": None, "double_value": None}},
            {"key": "page_location", "value": {"string_value": "https://shop.example/checkout", "int_value": None, "float_value": None, "double_value": None}},
            {"key": "value", "value": {"string_value": None, "int_value": None, "float_value": None, "double_value": 59.9}},
        ],
        "event_previous_timestamp": None,
        "event_value_in_usd": None,
        "event_bundle_sequence_id": "1",
        "user_id": "c_42",
        "user_pseudo_id": user,
        "privacy_info": {"analytics_storage": "Yes", "ads_storage": "Yes", "uses_transient_token": "No"},
        "user_properties": [],
        "user_first_touch_timestamp": "1704000000000000",
        "user_ltv": {"revenue": 59.9, "currency": "EUR"},
        "device": {"category": "desktop", "mobile_brand_name": None, "operating_system": "Windows", "language": "de-de",
                   "is_limited_ad_tracking": "No", "web_info": {"browser": "Chrome", "browser_version": "120.0", "hostname": "shop.example"}},
        "geo": {"city": "Berlin", "country": "Germany", "continent": "Europe", "region": "Berlin", "sub_continent": "Western Europe", "metro": "(not set)"},
        "app_info": None,
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "stream_id": "4178923",
        "platform": "WEB",
        "event_dimensions": None,
        "ecommerce": {"total_item_quantity": "2", "purchase_revenue_in_usd": 65.1, "purchase_revenue": 59.9, "refund_value": None,
                      "shipping_value": None, "tax_value": None, "unique_items": "1", "transaction_id": "1001"},
        "items": [
            {"item_id": "SKU-1", "item_name": "Mug", "item_brand": "Acme", "item_variant": None, "item_category": "Kitchen",
             "price_in_usd": 32.55, "price": 29.95, "quantity": "2", "item_revenue": 59.9, "item_list_index": None},
        ],
        "collected_traffic_source": {"manual_campaign_id": None, "manual_campaign_name": "winter_sale", "manual_source": "google",
                                     "manual_medium": "cpc", "manual_term": None, "manual_content": None, "gclid": "Cj0KCQiA", "dclid": None},
        "is_active_user": True,
    }


def page_view_event(*, event_date: str = "20240105", ts: int = 1704448700000000, user: str = "1234567.7654321", name: str = "page_view") -> dict[str, Any]:
    return {
        "event_date": event_date,
        "event_timestamp": str(ts),
        "event_name": name,
        "event_params": [
            {"key": "ga_session_id", "value": {"string_value": None, "int_value": "1704448000", "float_value": None, "double_value": None}},
            {"key": "page_title", "value": {"string_value": "Mugs", "int_value": None, "float_value": None, "double_value": None}},
        ],
        "user_id": None,
        "user_pseudo_id": user,
        "device": {"category": "mobile"},
        "geo": {"city": "Lyon", "country": "France", "region": "Auvergne-Rhone-Alpes"},
        "traffic_source": {"name": "(organic)", "medium": "organic", "source": "google"},
        "ecommerce": None,
        "items": [],
        "collected_traffic_source": None,
    }


def ndjson(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)
