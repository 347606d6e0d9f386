"""Shopify extraction: orders (+ lines, refunds), their fulfillments (+ note attributes), customers and products
updated in a half-open window.

Shopify's search filter compares to the second, so a window end with sub-seconds is rounded up and rows with
``updated_at`` at or after the exact end are dropped here: consecutive windows partition the timeline and each
row lands in exactly one window.
"""

from __future__ import annotations

from collections.abc import Iterator

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window
from narrowcast.sources.shopify.client import ShopifyClient
from narrowcast.sources.shopify.queries import CUSTOMERS, FULFILLMENTS, ORDERS, PRODUCTS
from narrowcast.sources.shopify.records import (
    customer_record,
    field,
    fulfillment_records,
    line_records,
    order_attribute_records,
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
    "shop_fulfillments": ("fulfillment_id", "line_item_id"),
    "shop_order_attributes": ("order_id", "name"),
}


def extract_orders(client: ShopifyClient, window: Window) -> Iterator[Page]:
    for orders, ref in client.read(ORDERS, window):
        parsed = [(order, order_record(order, ref)) for order in orders]
        kept = [(order, record) for order, record in parsed if window.contains(record["updated_at"])]
        yield Page("shop_orders", [record for _, record in kept], ref)
        yield Page("shop_order_lines", [line for o, _ in kept for line in line_records(o, ref)], ref)
        yield Page("shop_refunds", [refund for o, _ in kept for refund in refund_records(o, ref)], ref)


def extract_fulfillments(client: ShopifyClient, window: Window) -> Iterator[Page]:
    """The fulfillments of the orders updated in the window: a new fulfillment updates its order, so the orders'
    watermark carries them."""
    for orders, ref in client.read(FULFILLMENTS, window):
        kept = [o for o in orders if window.contains(parse_timestamp(field(o, "updatedAt", ref), where=f"{ref} updatedAt"))]
        yield Page("shop_fulfillments", [r for o in kept for r in fulfillment_records(o, ref)], ref)
        yield Page("shop_order_attributes", [r for o in kept for r in order_attribute_records(o, ref)], ref)


def extract_customers(client: ShopifyClient, window: Window) -> Iterator[Page]:
    for customers, ref in client.read(CUSTOMERS, window):
        records = [customer_record(c, ref) for c in customers]
        yield Page("shop_customers", [r for r in records if window.contains(r["updated_at"])], ref)


def extract_products(client: ShopifyClient, window: Window) -> Iterator[Page]:
    for products, ref in client.read(PRODUCTS, window):
        # One product gives one record per variant, all with the product's updated_at.
        records = [r for p in products for r in product_records(p, ref)]
        yield Page("shop_products", [r for r in records if window.contains(r["updated_at"])], ref)


def reads_fulfillments(conn: Connection) -> bool:
    """Extra ``read_fulfillments``: the fulfillments cost a second query per window over the same orders, worth it
    where the shop's admin ships orders sold on marketplaces (the shipments models match them to those orders)."""
    value = conn.extra.get("read_fulfillments")
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def extract(conn: Connection, window: Window, *, client: ShopifyClient | None = None) -> Iterator[Page]:
    """Every Shopify entity updated in ``[window.start, window.end)``, page by page."""
    client = client or ShopifyClient.from_connection(conn)
    yield from extract_orders(client, window)
    if reads_fulfillments(conn):
        yield from extract_fulfillments(client, window)
    yield from extract_customers(client, window)
    yield from extract_products(client, window)
