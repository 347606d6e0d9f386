"""Amazon extraction: orders last updated in a half-open window, then each order's items.

``LastUpdatedBefore`` includes its end, so orders updated exactly at the window end are left to the next
window. SP-API refuses a ``LastUpdatedBefore`` in the last two minutes, and a scheduled run starts right at its
interval's end: the window is cut to end ``WINDOW_LAG`` before now, and the source's lookback of the same length
re-reads the cut-off minutes on the next run. Items come from one ``orderItems`` call per order (the API offers no bulk variant). The client paces
getOrders and getOrderItems by their usage plans, so a window of thousands of orders waits instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from narrowcast.apis.amazon import marketplace_list, may_read_buyer_info
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.money import parse_money
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window
from narrowcast.sources.amazon.client import AmazonClient
from narrowcast.sources.amazon.settings import WINDOW_LAG

ENTITIES: dict[str, tuple[str, ...]] = {
    "amazon_orders": ("amazon_order_id",),
    "amazon_order_items": ("order_item_id",),
}


def _money(obj: dict[str, Any] | None, where: str) -> tuple[Decimal | None, str | None]:
    # Amazon leaves money objects out for pending and cancelled orders.
    if not obj or obj.get("Amount") in (None, ""):
        return None, (obj or {}).get("CurrencyCode")
    return parse_money(obj["Amount"], where=where), obj.get("CurrencyCode")


def order_record(order: dict[str, Any], ref: str, *, buyer_info: bool = False) -> dict[str, Any]:
    """One raw order row; ``buyer_email`` only with ``buyer_info`` (the connection holds a role that allows it).

    BuyerEmail is an anonymised Amazon relay address and restricted data: it is kept for invoicing and tax
    duties only and must never be used to link a buyer to a customer.
    """
    where = f"{ref} order {order.get('AmazonOrderId')}"
    if not order.get("AmazonOrderId"):
        raise ValueError(f"{where}: AmazonOrderId is missing")
    total, currency = _money(order.get("OrderTotal"), f"{where} OrderTotal")
    return {
        "amazon_order_id": order["AmazonOrderId"],
        "purchase_date": parse_timestamp(order.get("PurchaseDate"), where=f"{where} PurchaseDate"),
        "last_update_date": parse_timestamp(order.get("LastUpdateDate"), where=f"{where} LastUpdateDate"),
        "order_status": order.get("OrderStatus"),
        "marketplace_id": order.get("MarketplaceId"),
        "buyer_email": (order.get("BuyerInfo") or {}).get("BuyerEmail") if buyer_info else None,
        "order_total": total,
        "currency": currency,
    }


def item_record(item: dict[str, Any], amazon_order_id: str, ref: str) -> dict[str, Any]:
    where = f"{ref} item {item.get('OrderItemId')}"
    if not item.get("OrderItemId"):
        raise ValueError(f"{where}: OrderItemId is missing")
    price, _ = _money(item.get("ItemPrice"), f"{where} ItemPrice")
    return {
        "order_item_id": str(item["OrderItemId"]),
        "amazon_order_id": amazon_order_id,
        "seller_sku": item.get("SellerSKU"),
        "quantity_ordered": int(item.get("QuantityOrdered") or 0),
        "quantity_shipped": int(item.get("QuantityShipped") or 0),
        "item_price": price,
    }


def _updated_in(order: dict[str, Any], window: Window, ref: str) -> bool:
    where = f"{ref} order {order.get('AmazonOrderId')} LastUpdateDate"
    updated = parse_timestamp(order.get("LastUpdateDate"), where=where)
    if updated is None:
        raise ValueError(f"{where}: missing")
    return window.contains(updated)


def request_window(window: Window, now: datetime) -> Window:
    """``window`` ending no later than ``WINDOW_LAG`` before ``now``, the latest ``LastUpdatedBefore`` SP-API accepts.

    A window that ends in the future is refused: its orders do not exist yet, and the next run's lookback only
    re-reads ``WINDOW_LAG``.
    """
    if window.end > now:
        raise ValueError(f"amazon: window end {window.end.isoformat()} is after now ({now.isoformat()}); "
                         "run this interval once it has ended")
    latest = now - WINDOW_LAG
    if window.end <= latest:
        return window
    if window.start >= latest:
        raise ValueError(f"amazon: window {window.start.isoformat()}..{window.end.isoformat()} lies within the last "
                         f"{WINDOW_LAG.total_seconds() / 60:.0f} minutes, which SP-API getOrders does not serve yet; "
                         "run it later")
    return Window(window.start, latest)


def extract(conn: Connection, window: Window, *, client: AmazonClient | None = None,
            now: datetime | None = None) -> Iterator[Page]:
    """Amazon orders updated in ``[window.start, window.end)`` (see :func:`request_window`) and their items."""
    window = request_window(window, now or datetime.now(UTC).replace(tzinfo=None))
    client = client or AmazonClient.from_connection(conn)
    markets = marketplace_list(conn.require("marketplace_ids"))
    buyer_info = may_read_buyer_info(conn)
    for orders, ref in client.orders(markets, window.start, window.end):
        kept = [o for o in orders if _updated_in(o, window, ref)]
        yield Page("amazon_orders", [order_record(o, ref, buyer_info=buyer_info) for o in kept], ref)
        items: list[dict[str, Any]] = []
        item_refs = []
        for order in kept:
            for order_items, item_ref in client.order_items(order["AmazonOrderId"]):
                items.extend(item_record(i, order["AmazonOrderId"], item_ref) for i in order_items)
                item_refs.append(item_ref)
        if kept:
            yield Page("amazon_order_items", items, f"GET /orders/v0/orders/{{id}}/orderItems for {ref}",
                       meta={"requests": len(item_refs)})
