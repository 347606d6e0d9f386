"""Etsy extraction: receipts (and their transactions and refunds) last modified in a half-open window.

``min_last_modified``/``max_last_modified`` are whole unix seconds and include both ends; the window is widened
to whole seconds and receipts updated at or after its end are left to the next window. Etsy's receipt carries
its transactions and its refunds (``refunds``: every ShopRefund, partial ones included), so one request yields
the three tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from narrowcast.apis.etsy import amount, epoch_time, shop_id
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.sources.etsy.client import EtsyClient

ENTITIES: dict[str, tuple[str, ...]] = {
    "etsy_receipts": ("receipt_id",),
    "etsy_receipt_transactions": ("transaction_id",),
    "etsy_receipt_refunds": ("refund_key",),
}


def _epoch(moment: datetime) -> float:
    """A window end (naive UTC) as unix seconds."""
    return moment.replace(tzinfo=UTC).timestamp()


def receipt_record(receipt: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} receipt {receipt.get('receipt_id')}"
    if not receipt.get("receipt_id"):
        raise ValueError(f"{where}: receipt_id is missing")
    grandtotal, currency = amount(receipt.get("grandtotal"), f"{where} grandtotal")
    money = {name: amount(receipt.get(name), f"{where} {name}")[0]
             for name in ("subtotal", "total_price", "total_shipping_cost", "total_tax_cost", "total_vat_cost",
                          "discount_amt")}
    return {
        "receipt_id": str(receipt["receipt_id"]),
        "created_at": epoch_time(receipt.get("create_timestamp"), f"{where} create_timestamp"),
        "updated_at": epoch_time(receipt.get("update_timestamp"), f"{where} update_timestamp"),
        "status": receipt.get("status"),
        "is_paid": receipt.get("is_paid"),
        "is_shipped": receipt.get("is_shipped"),
        "buyer_user_id": None if receipt.get("buyer_user_id") is None else str(receipt["buyer_user_id"]),
        "buyer_email": receipt.get("buyer_email") or None,
        "grandtotal": grandtotal,
        **money,
        "currency": currency,
    }


def transaction_records(receipt: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    records = []
    for line in receipt.get("transactions") or []:
        where = f"{ref} receipt {receipt['receipt_id']} transaction {line.get('transaction_id')}"
        if not line.get("transaction_id"):
            raise ValueError(f"{where}: transaction_id is missing")
        price, _ = amount(line.get("price"), f"{where} price")
        shipping, _ = amount(line.get("shipping_cost"), f"{where} shipping_cost")
        records.append({
            "transaction_id": str(line["transaction_id"]),
            "receipt_id": str(receipt["receipt_id"]),
            "listing_id": None if line.get("listing_id") is None else str(line["listing_id"]),
            "product_id": None if line.get("product_id") is None else str(line["product_id"]),
            "sku": line.get("sku") or None,
            "quantity": int(line.get("quantity") or 0),
            "price": price,
            "shipping_cost": shipping,
            "shipped_at": epoch_time(line.get("shipped_timestamp"), f"{where} shipped_timestamp"),
        })
    return records


def refund_records(receipt: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One record per ShopRefund of the receipt (``refunds``): its time, amount and currency, reason, status."""
    records = []
    seen: dict[int, int] = {}
    for refund in receipt.get("refunds") or []:
        where = f"{ref} receipt {receipt['receipt_id']} refund"
        created = refund.get("created_timestamp")
        if created is None:
            raise ValueError(f"{where}: created_timestamp is missing")
        refunded, currency = amount(refund.get("amount"), f"{where} amount")
        if refunded is None:
            raise ValueError(f"{where} at {created}: amount is missing")
        number = seen[int(created)] = seen.get(int(created), 0) + 1
        records.append({
            "refund_key": f"{receipt['receipt_id']}:{int(created)}:{number}",
            "receipt_id": str(receipt["receipt_id"]),
            "refunded_at": epoch_time(created, f"{where} created_timestamp"),
            "amount": refunded,
            "currency": currency,
            "reason": refund.get("reason") or None,
            "status": refund.get("status") or None,
        })
    return records


def _modified_in(receipt: dict[str, Any], window: Window, ref: str) -> bool:
    where = f"{ref} receipt {receipt.get('receipt_id')} update_timestamp"
    modified = epoch_time(receipt.get("update_timestamp"), where)
    if modified is None:
        raise ValueError(f"{where}: missing")
    return window.contains(modified)


def extract(conn: Connection, window: Window, *, client: EtsyClient | None = None) -> Iterator[Page]:
    """Etsy receipts and their transactions modified in ``[window.start, window.end)``."""
    client = client or EtsyClient.from_connection(conn)
    seen: set[str] = set()
    low, high = math.floor(_epoch(window.start)), math.ceil(_epoch(window.end))
    for receipts, ref in client.receipts(shop_id(conn), low, high):
        kept = []
        for receipt in receipts:
            key = str(receipt.get("receipt_id"))
            # Overlapping pages repeat a few receipts; each is loaded once.
            if key not in seen and _modified_in(receipt, window, ref):
                seen.add(key)
                kept.append(receipt)
        yield Page("etsy_receipts", [receipt_record(r, ref) for r in kept], ref)
        yield Page("etsy_receipt_transactions", [t for r in kept for t in transaction_records(r, ref)], ref)
        yield Page("etsy_receipt_refunds", [f for r in kept for f in refund_records(r, ref)], ref)
