"""Amazon Finances extraction: transactions posted in a half-open window and their item breakdowns.

``postedAfter`` is inclusive and ``postedBefore`` exclusive, which is the window's own shape. A window ending
within the last minutes is cut to ``now - WINDOW_LAG`` (Amazon refuses a later postedBefore); the lookback
re-reads that span next run. Breakdowns are nested (``Expenses > AmazonFees > Commission``); each leaf becomes a
row with its path, so a model can tell fees from sales and taxes without knowing Amazon's tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.money import parse_money
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window
from narrowcast.sources.amazon_finances.client import AmazonFinancesClient
from narrowcast.sources.amazon_finances.settings import WINDOW_LAG

ENTITIES: dict[str, tuple[str, ...]] = {
    "amazon_finance_transactions": ("transaction_id",),
    "amazon_finance_breakdowns": ("transaction_id", "item_number", "breakdown_path"),
}
PATH_SEPARATOR = " > "


def _amount(currency: dict[str, Any] | None, where: str) -> tuple[Decimal | None, str | None]:
    currency = currency or {}
    if currency.get("currencyAmount") in (None, ""):
        return None, currency.get("currencyCode")
    return parse_money(currency["currencyAmount"], where=where), currency.get("currencyCode")


def _related(identifiers: list[dict[str, Any]] | None, name: str) -> str | None:
    return next((str(i.get("relatedIdentifierValue")) for i in identifiers or []
                 if i.get("relatedIdentifierName") == name), None)


def transaction_record(transaction: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} transaction {transaction.get('transactionId')}"
    if not transaction.get("transactionId"):
        raise ValueError(f"{where}: transactionId is missing")
    total, currency = _amount(transaction.get("totalAmount"), f"{where} totalAmount")
    marketplace = (transaction.get("marketplaceDetails") or {}).get("marketplaceId") or (
        transaction.get("sellingPartnerMetadata") or {}).get("marketplaceId")
    return {
        "transaction_id": str(transaction["transactionId"]),
        "transaction_type": transaction.get("transactionType"),
        "transaction_status": transaction.get("transactionStatus"),
        "description": transaction.get("description"),
        "order_id": _related(transaction.get("relatedIdentifiers"), "ORDER_ID"),
        "marketplace_id": marketplace,
        "posted_date": parse_timestamp(transaction.get("postedDate"), where=f"{where} postedDate"),
        "total_amount": total,
        "currency": currency,
    }


def _breakdown_list(value: Any) -> list[dict[str, Any]]:
    # The schema says an array; the model's own example wraps it as {"breakdowns": [...]}: accept both.
    if isinstance(value, dict):
        value = value.get("breakdowns")
    return value if isinstance(value, list) else []


def _leaves(breakdowns: Any, prefix: tuple[str, ...], where: str) -> Iterator[tuple[str, Decimal | None, str | None]]:
    for breakdown in _breakdown_list(breakdowns):
        path = (*prefix, str(breakdown.get("breakdownType") or "Unknown"))
        children = _breakdown_list(breakdown.get("breakdowns"))
        if children:
            yield from _leaves(children, path, where)
        else:
            amount, currency = _amount(breakdown.get("breakdownAmount"), f"{where} {PATH_SEPARATOR.join(path)}")
            yield PATH_SEPARATOR.join(path), amount, currency


def _product(item: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in item.get("contexts") or [] if c.get("contextType") == "ProductContext"), {})


def breakdown_records(transaction: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    transaction_id = str(transaction["transactionId"])
    where = f"{ref} transaction {transaction_id}"
    sources = [(number, item.get("breakdowns"), _product(item))
               for number, item in enumerate(transaction.get("items") or [], start=1)]
    if not sources:
        sources = [(0, transaction.get("breakdowns"), {})]
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for number, breakdowns, product in sources:
        for path, amount, currency in _leaves(breakdowns, (), f"{where} item {number}"):
            row = rows.setdefault((number, path), {
                "transaction_id": transaction_id, "item_number": number, "sku": product.get("sku"),
                "quantity": product.get("quantityShipped"), "breakdown_path": path, "amount": Decimal(0),
                "currency": currency,
            })
            row["amount"] += amount or Decimal(0)
    return list(rows.values())


def request_window(window: Window, now: datetime | None = None) -> Window | None:
    """The window as Amazon will answer it: its end no later than ``now - WINDOW_LAG``; None when nothing is left."""
    now = now or datetime.now(UTC)
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    latest = now - WINDOW_LAG
    end = min(window.end, latest)
    return Window(window.start, end) if end > window.start else None


def extract(conn: Connection, window: Window, *, client: AmazonFinancesClient | None = None,
            now: datetime | None = None) -> Iterator[Page]:
    """Amazon transactions (and their item breakdowns) posted in ``[window.start, window.end)``."""
    asked = request_window(window, now)
    if asked is None:
        return
    client = client or AmazonFinancesClient.from_connection(conn)
    marketplace = conn.extra.get("finances_marketplace_id")
    for items, ref in client.transactions(asked.start, asked.end, str(marketplace) if marketplace else None):
        yield Page("amazon_finance_transactions", [transaction_record(t, ref) for t in items], ref)
        yield Page("amazon_finance_breakdowns", [row for t in items for row in breakdown_records(t, ref)], ref)
