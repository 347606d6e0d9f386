"""eBay extraction: orders (and their lines) last modified in a half-open window.

The ``lastmodifieddate:[a..b]`` filter includes both ends; orders modified exactly at the window end are left
to the next window. eBay returns the buyer's e-mail only for 14 days after the order, so a later change of the
order arrives without it: the table's declaration (``keep_stored``) keeps the stored e-mail over that NULL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.money import parse_money
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window
from narrowcast.sources.ebay.client import EbayClient

ENTITIES: dict[str, tuple[str, ...]] = {
    "ebay_orders": ("order_id",),
    "ebay_order_lines": ("line_item_id",),
}


def _ebay_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def window_filter(window: Window) -> str:
    return f"lastmodifieddate:[{_ebay_time(window.start)}..{_ebay_time(window.end)}]"


def _amount(obj: dict[str, Any] | None, key: str, where: str) -> Any:
    amount = (obj or {}).get(key) or {}
    return parse_money(amount.get("value"), where=f"{where} {key}"), amount.get("currency")


def order_record(order: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} order {order.get('orderId')}"
    if not order.get("orderId"):
        raise ValueError(f"{where}: orderId is missing")
    total, currency = _amount(order.get("pricingSummary"), "total", where)
    lines = order.get("lineItems") or []
    buyer = order.get("buyer") or {}
    return {
        "order_id": str(order["orderId"]),
        "creation_date": parse_timestamp(order.get("creationDate"), where=f"{where} creationDate"),
        "last_modified_date": parse_timestamp(order.get("lastModifiedDate"), where=f"{where} lastModifiedDate"),
        "order_fulfillment_status": order.get("orderFulfillmentStatus"),
        "order_payment_status": order.get("orderPaymentStatus"),
        "cancel_state": (order.get("cancelStatus") or {}).get("cancelState"),
        "buyer_username": buyer.get("username"),
        "buyer_email": (buyer.get("buyerRegistrationAddress") or {}).get("email"),
        "total": total,
        "currency": currency,
        "marketplace_id": lines[0].get("purchaseMarketplaceId") if lines else None,
    }


def line_records(order: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    records = []
    for line in order.get("lineItems") or []:
        where = f"{ref} order {order['orderId']} line {line.get('lineItemId')}"
        if not line.get("lineItemId"):
            raise ValueError(f"{where}: lineItemId is missing")
        cost, _ = _amount(line, "lineItemCost", where)
        records.append({
            "line_item_id": str(line["lineItemId"]),
            "order_id": str(order["orderId"]),
            "sku": line.get("sku"),
            "quantity": int(line.get("quantity") or 0),
            "line_item_cost": cost,
            "line_item_fulfillment_status": line.get("lineItemFulfillmentStatus"),
        })
    return records


def _modified_in(order: dict[str, Any], window: Window, ref: str) -> bool:
    where = f"{ref} order {order.get('orderId')} lastModifiedDate"
    modified = parse_timestamp(order.get("lastModifiedDate"), where=where)
    if modified is None:
        raise ValueError(f"{where}: missing")
    return window.contains(modified)


def extract(conn: Connection, window: Window, *, client: EbayClient | None = None) -> Iterator[Page]:
    """eBay orders and order lines modified in ``[window.start, window.end)``."""
    client = client or EbayClient.from_connection(conn)
    for body, ref in client.orders(window_filter(window)):
        kept = [order for order in body.get("orders") or [] if _modified_in(order, window, ref)]
        yield Page("ebay_orders", [order_record(o, ref) for o in kept], ref)
        yield Page("ebay_order_lines", [line for o in kept for line in line_records(o, ref)], ref)
