"""Amazon extraction: orders last updated in a half-open window, with their items.

Orders API v2026-01-01 (the default): one ``searchOrders`` call per page returns the orders with their
``orderItems`` and the ``includedData`` sets asked for. Orders API v0 (a connection pinning ``api_version: v0``
until its removal): ``getOrders`` pages, then one ``getOrderItems`` call per order (v0 offers no bulk variant).
Both land in the same raw rows; v2026 values are mapped to the v0 ones the raw tables have always held (order
status names, the line price as unit price × quantity).

``lastUpdatedBefore`` includes its end, so orders updated exactly at the window end are left to the next
window. SP-API refuses a ``lastUpdatedBefore`` in the last two minutes, and a scheduled run starts right at its
interval's end: the window is cut to end ``WINDOW_LAG`` before now, and the source's lookback of the same length
re-reads the cut-off minutes on the next run. The client paces each operation by its usage plan, so a window of
thousands of orders waits instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from narrowcast.apis import versions
from narrowcast.apis.amazon import marketplace_list, may_read_buyer_email
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
V0 = "v0"
V2026 = "2026-01-01"
# searchOrders data sets the raw rows need: FULFILLMENT for the order status and shipped quantities, PROCEEDS for
# the order total; BUYER is added only when the connection may read the buyer's e-mail (orders_2026-01-01.json,
# parameter includedData; order items are always included).
INCLUDED_DATA = ("FULFILLMENT", "PROCEEDS")
# v2026-01-01 FulfillmentStatus → the v0 OrderStatus value of the same meaning (both enums in the Orders models),
# which the raw table, its accepted values and the dbt models read.
ORDER_STATUS_OF_FULFILLMENT = {
    "PENDING_AVAILABILITY": "PendingAvailability", "PENDING": "Pending", "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}


def _money(obj: dict[str, Any] | None, where: str, *, amount: str = "Amount",
           currency: str = "CurrencyCode") -> tuple[Decimal | None, str | None]:
    # Amazon leaves money objects out for pending and cancelled orders.
    if not obj or obj.get(amount) in (None, ""):
        return None, (obj or {}).get(currency)
    return parse_money(obj[amount], where=where), obj.get(currency)


def _order_row(where: str, order_id: Any, purchased: Any, updated: Any, status: Any, marketplace: Any,
               buyer_email: Any, total: tuple[Decimal | None, str | None]) -> dict[str, Any]:
    """One raw ``amazon_orders`` row, whichever version answered.

    The buyer e-mail is an anonymised Amazon relay address and restricted data: it is kept for invoicing and tax
    duties only and must never be used to link a buyer to a customer.
    """
    if not order_id:
        raise ValueError(f"{where}: the order id is missing")
    return {
        "amazon_order_id": order_id,
        "purchase_date": parse_timestamp(purchased, where=f"{where} purchase date"),
        "last_update_date": parse_timestamp(updated, where=f"{where} last update"),
        "order_status": status,
        "marketplace_id": marketplace,
        "buyer_email": buyer_email,
        "order_total": total[0],
        "currency": total[1],
    }


def _item_row(where: str, item_id: Any, amazon_order_id: str, sku: Any, ordered: Any, shipped: Any,
              price: Decimal | None) -> dict[str, Any]:
    """One raw ``amazon_order_items`` row; ``price`` is the line's (unit price × quantity, v0 ItemPrice)."""
    if not item_id:
        raise ValueError(f"{where}: the order item id is missing")
    return {
        "order_item_id": str(item_id),
        "amazon_order_id": amazon_order_id,
        "seller_sku": sku,
        "quantity_ordered": int(ordered or 0),
        "quantity_shipped": int(shipped or 0),
        "item_price": price,
    }


def order_record(order: dict[str, Any], ref: str, *, buyer_info: bool = False) -> dict[str, Any]:
    """One raw order row from a v0 Order; ``buyer_email`` only with ``buyer_info`` (the connection holds a role
    that allows it)."""
    where = f"{ref} order {order.get('AmazonOrderId')}"
    return _order_row(where, order.get("AmazonOrderId"), order.get("PurchaseDate"), order.get("LastUpdateDate"),
                      order.get("OrderStatus"), order.get("MarketplaceId"),
                      (order.get("BuyerInfo") or {}).get("BuyerEmail") if buyer_info else None,
                      _money(order.get("OrderTotal"), f"{where} OrderTotal"))


def item_record(item: dict[str, Any], amazon_order_id: str, ref: str) -> dict[str, Any]:
    """One raw item row from a v0 OrderItem (ItemPrice is already the line's price)."""
    where = f"{ref} item {item.get('OrderItemId')}"
    price, _ = _money(item.get("ItemPrice"), f"{where} ItemPrice")
    return _item_row(where, item.get("OrderItemId"), amazon_order_id, item.get("SellerSKU"),
                     item.get("QuantityOrdered"), item.get("QuantityShipped"), price)


def searched_order_records(order: dict[str, Any], ref: str, *,
                           buyer_email: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The raw order row and item rows of one v2026-01-01 Order; ``buyer_email`` as in :func:`order_record`."""
    where = f"{ref} order {order.get('orderId')}"
    status = ((order.get("fulfillment") or {}).get("fulfillmentStatus"))
    row = _order_row(where, order.get("orderId"), order.get("createdTime"), order.get("lastUpdatedTime"),
                     ORDER_STATUS_OF_FULFILLMENT.get(status, status),
                     (order.get("salesChannel") or {}).get("marketplaceId"),
                     (order.get("buyer") or {}).get("buyerEmail") if buyer_email else None,
                     _money((order.get("proceeds") or {}).get("grandTotal"), f"{where} proceeds.grandTotal",
                            amount="amount", currency="currencyCode"))
    items = []
    for item in order.get("orderItems") or []:
        item_where = f"{where} item {item.get('orderItemId')}"
        product = item.get("product") or {}
        unit, _ = _money((product.get("price") or {}).get("unitPrice"), f"{item_where} product.price.unitPrice",
                         amount="amount", currency="currencyCode")
        ordered = item.get("quantityOrdered")
        items.append(_item_row(item_where, item.get("orderItemId"), row["amazon_order_id"], product.get("sellerSku"),
                               ordered, (item.get("fulfillment") or {}).get("quantityFulfilled"),
                               None if unit is None else unit * int(ordered or 0)))
    return row, items


def _row_updated_in(row: dict[str, Any], window: Window, ref: str) -> bool:
    if row["last_update_date"] is None:
        raise ValueError(f"{ref} order {row['amazon_order_id']}: the last update time is missing")
    return window.contains(row["last_update_date"])


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
                         f"{WINDOW_LAG.total_seconds() / 60:.0f} minutes, which the SP-API Orders API does not serve yet; "
                         "run it later")
    return Window(window.start, latest)


def extract(conn: Connection, window: Window, *, client: AmazonClient | None = None,
            now: datetime | None = None) -> Iterator[Page]:
    """Amazon orders updated in ``[window.start, window.end)`` (see :func:`request_window`) and their items."""
    version = versions.AMAZON_ORDERS.of_connection(conn)
    if version not in (V0, V2026):
        raise ValueError(f"amazon: Orders API version {version!r} is not one Narrowcast speaks ({V2026}, {V0})")
    window = request_window(window, now or datetime.now(UTC).replace(tzinfo=None))
    client = client or AmazonClient.from_connection(conn)
    markets = marketplace_list(conn.require("marketplace_ids"))
    buyer_email = may_read_buyer_email(conn, version)
    if version == V0:
        yield from _extract_v0(client, markets, window, buyer_email)
        return
    included = INCLUDED_DATA + (("BUYER",) if buyer_email else ())
    for orders, ref in client.search_orders(markets, window.start, window.end, included):
        records = [searched_order_records(o, ref, buyer_email=buyer_email) for o in orders]
        kept = [(order, items) for order, items in records if _row_updated_in(order, window, ref)]
        yield Page("amazon_orders", [order for order, _ in kept], ref)
        if kept:
            yield Page("amazon_order_items", [item for _, items in kept for item in items], ref)


def _extract_v0(client: AmazonClient, markets: list[str], window: Window, buyer_info: bool) -> Iterator[Page]:
    for orders, ref in client.orders(markets, window.start, window.end):
        rows = [order_record(o, ref, buyer_info=buyer_info) for o in orders]
        kept = [row for row in rows if _row_updated_in(row, window, ref)]
        yield Page("amazon_orders", kept, ref)
        items: list[dict[str, Any]] = []
        item_refs = []
        for order in kept:
            order_id = order["amazon_order_id"]
            for order_items, item_ref in client.order_items(order_id):
                items.extend(item_record(i, order_id, item_ref) for i in order_items)
                item_refs.append(item_ref)
        if kept:
            yield Page("amazon_order_items", items, f"GET /orders/v0/orders/{{id}}/orderItems for {ref}",
                       meta={"requests": len(item_refs)})
