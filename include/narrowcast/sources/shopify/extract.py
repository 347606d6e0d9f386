"""Shopify extraction: orders (+ lines, refunds), customers and products updated in a half-open window.

Shopify's ``updated_at_max`` is inclusive, so a row updated exactly at the window end would be read by this
window and the next. Rows with ``updated_at == end`` are dropped here, which makes consecutive windows
partition the timeline: each row lands in exactly one window.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from narrowcast.connections import Connection
from narrowcast.sources.base import Page, Window, parse_timestamp
from narrowcast.sources.shopify.client import ShopifyClient
from narrowcast.sources.shopify.records import (
    customer_record,
    line_records,
    order_record,
    product_records,
    refund_records,
)

ENTITIES: dict[str, tuple[str, ...]] = {
    "shop_orders": ("id",),
    "shop_order_lines": ("id",),
    "shop_refunds": ("id", "line_item_id"),
    "shop_customers": ("id",),
    "shop_products": ("variant_id",),
}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _window_filters(window: Window) -> dict[str, str]:
    # Shopify filters to the second: round the end up so no row of the window's last second is cut off
    # (the client-side check below still drops anything at or after the exact end).
    end = window.end if window.end.microsecond == 0 else window.end.replace(microsecond=0) + timedelta(seconds=1)
    return {"updated_at_min": _iso(window.start), "updated_at_max": _iso(end)}


def _in_window(item: dict, window: Window, ref: str) -> bool:
    updated_at = parse_timestamp(item.get("updated_at"), where=f"{ref} id {item.get('id')} updated_at")
    if updated_at is None:
        raise ValueError(f"{ref}: id {item.get('id')} has no updated_at")
    return window.contains(updated_at)


def extract_orders(client: ShopifyClient, window: Window) -> Iterator[Page]:
    for orders, ref in client.paginate("orders", {"status": "any", **_window_filters(window)}):
        kept = [order for order in orders if _in_window(order, window, ref)]
        yield Page("shop_orders", [order_record(o, ref) for o in kept], ref)
        yield Page("shop_order_lines", [line for o in kept for line in line_records(o, ref)], ref)
        yield Page("shop_refunds", [refund for o in kept for refund in refund_records(o, ref)], ref)


def extract_customers(client: ShopifyClient, window: Window) -> Iterator[Page]:
    for customers, ref in client.paginate("customers", _window_filters(window)):
        yield Page("shop_customers", [customer_record(c, ref) for c in customers if _in_window(c, window, ref)], ref)


def extract_products(client: ShopifyClient, window: Window) -> Iterator[Page]:
    for products, ref in client.paginate("products", _window_filters(window)):
        records = [r for p in products if _in_window(p, window, ref) for r in product_records(p, ref)]
        yield Page("shop_products", records, ref)


def extract(conn: Connection, window: Window, *, client: ShopifyClient | None = None) -> Iterator[Page]:
    """Every Shopify entity updated in ``[window.start, window.end)``, page by page."""
    client = client or ShopifyClient.from_connection(conn)
    yield from extract_orders(client, window)
    yield from extract_customers(client, window)
    yield from extract_products(client, window)
