"""eBay Finances extraction: monetary transactions dated in a half-open window and their fee lines.

``transactionDate:[a..b]`` includes both ends; transactions dated exactly at the window end are left to the next
window. Fees sit per order line (``orderLineItems[].marketplaceFees[]``); a transaction without order lines
(a seller credit, a payout) has no fee lines, its ``totalFeeAmount`` alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.money import parse_money
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window
from narrowcast.sources.ebay_finances.client import EbayFinancesClient

ENTITIES: dict[str, tuple[str, ...]] = {
    "ebay_finance_transactions": ("transaction_id", "transaction_type"),
    "ebay_finance_fee_lines": ("transaction_id", "transaction_type", "line_item_id", "fee_type"),
}


def _ebay_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def window_filter(window: Window) -> str:
    return f"transactionDate:[{_ebay_time(window.start)}..{_ebay_time(window.end)}]"


def _money(obj: dict[str, Any] | None, where: str) -> tuple[Decimal | None, str | None]:
    """An eBay Amount; None when the transaction carries none (a payout has no fee)."""
    obj = obj or {}
    if obj.get("value") in (None, ""):
        return None, obj.get("currency")
    return parse_money(obj["value"], where=where), obj.get("currency")


def transaction_record(transaction: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} transaction {transaction.get('transactionId')}"
    if not transaction.get("transactionId") or not transaction.get("transactionType"):
        raise ValueError(f"{where}: transactionId or transactionType is missing")
    amount, currency = _money(transaction.get("amount"), f"{where} amount")
    fees, fee_currency = _money(transaction.get("totalFeeAmount"), f"{where} totalFeeAmount")
    return {
        "transaction_id": str(transaction["transactionId"]),
        "transaction_type": transaction["transactionType"],
        "transaction_status": transaction.get("transactionStatus"),
        "booking_entry": transaction.get("bookingEntry"),
        "order_id": transaction.get("orderId"),
        "transaction_date": parse_timestamp(transaction.get("transactionDate"), where=f"{where} transactionDate"),
        "amount": amount,
        "total_fee_amount": fees,
        "currency": currency or fee_currency,
    }


def fee_line_records(transaction: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One row per (order line, fee type); fees of one type on one line are summed (eBay may split them)."""
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for line in transaction.get("orderLineItems") or []:
        where = f"{ref} transaction {transaction['transactionId']} line {line.get('lineItemId')}"
        if not line.get("lineItemId"):
            raise ValueError(f"{where}: lineItemId is missing")
        for fee in line.get("marketplaceFees") or []:
            amount, currency = _money(fee.get("amount"), f"{where} fee {fee.get('feeType')}")
            key = (str(line["lineItemId"]), str(fee.get("feeType") or "UNKNOWN"))
            row = by_key.setdefault(key, {
                "transaction_id": str(transaction["transactionId"]),
                "transaction_type": transaction["transactionType"],
                "line_item_id": key[0], "fee_type": key[1], "fee_amount": Decimal(0), "currency": currency,
            })
            row["fee_amount"] += amount or Decimal(0)
    return list(by_key.values())


def _dated_in(transaction: dict[str, Any], window: Window, ref: str) -> bool:
    where = f"{ref} transaction {transaction.get('transactionId')} transactionDate"
    dated = parse_timestamp(transaction.get("transactionDate"), where=where)
    if dated is None:
        raise ValueError(f"{where}: missing")
    return window.contains(dated)


def extract(conn: Connection, window: Window, *, client: EbayFinancesClient | None = None) -> Iterator[Page]:
    """eBay monetary transactions (and their fee lines) dated in ``[window.start, window.end)``."""
    client = client or EbayFinancesClient.from_connection(conn)
    for body, ref in client.transactions(window_filter(window)):
        kept = [t for t in body.get("transactions") or [] if _dated_in(t, window, ref)]
        yield Page("ebay_finance_transactions", [transaction_record(t, ref) for t in kept], ref)
        yield Page("ebay_finance_fee_lines", [line for t in kept for line in fee_line_records(t, ref)], ref)
