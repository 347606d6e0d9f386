"""Etsy finances extraction: the fee entries of the shop's payment account ledger created in a half-open window.

``min_created``/``max_created`` are whole unix seconds and include both ends; the window is widened to whole
seconds and entries created at or after its end are left to the next window (as the receipts source does with
last-modified times). Only fee entries (``settings.FEE_LEDGER_TYPES``) are kept. An entry names what it refers to
(``reference_type``/``reference_id``): a receipt directly, or a payment, whose receipt
``getPaymentAccountLedgerEntryPayments`` tells; a listing fee or a shipping label bought alone has no receipt.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from narrowcast.apis.etsy import epoch_time, shop_id
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.sources.etsy_finances.client import EtsyFinancesClient
from narrowcast.sources.etsy_finances.settings import (
    FEE_LEDGER_TYPES,
    PAYMENT_LOOKUP_BATCH,
    ZERO_DECIMAL_CURRENCIES,
)

ENTITIES: dict[str, tuple[str, ...]] = {"etsy_ledger_fees": ("entry_id",)}
log = logging.getLogger(__name__)


def _epoch(moment: datetime) -> float:
    """A window end (naive UTC) as unix seconds."""
    return moment.replace(tzinfo=UTC).timestamp()


def _entry_id(entry: dict[str, Any]) -> Any:
    # The reference names the id entry_id; some answers spell it ledger_entry_id.
    return entry.get("entry_id", entry.get("ledger_entry_id"))


def _created(entry: dict[str, Any], where: str) -> datetime:
    created = epoch_time(entry.get("created_timestamp", entry.get("create_date")), f"{where} create_date")
    if created is None:
        raise ValueError(f"{where}: create_date is missing")
    return created


def minor_units(value: Any, currency: str | None, where: str) -> Decimal:
    """A ledger amount (an integer in the currency's smallest unit) in the currency's units."""
    try:
        whole = Decimal(int(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: amount {value!r} is not an integer of minor units") from exc
    return whole if (currency or "").upper() in ZERO_DECIMAL_CURRENCIES else whole / 100


def is_fee(entry: dict[str, Any]) -> bool:
    return str(entry.get("ledger_type") or "") in FEE_LEDGER_TYPES


def fee_record(entry: dict[str, Any], receipts_of_payments: dict[str, str], ref: str) -> dict[str, Any]:
    """One fee entry; fee_amount is the seller's cost (the ledger debits a fee: its amount is negative)."""
    where = f"{ref} ledger entry {_entry_id(entry)}"
    if _entry_id(entry) is None:
        raise ValueError(f"{where}: entry_id is missing")
    currency = entry.get("currency") or None
    reference_type = str(entry.get("reference_type") or "").lower() or None
    reference_id = None if entry.get("reference_id") in (None, "") else str(entry["reference_id"])
    receipt_id = None
    if reference_type == "receipt":
        receipt_id = reference_id
    elif reference_type == "payment" and reference_id is not None:
        receipt_id = receipts_of_payments.get(reference_id)
    return {
        "entry_id": str(_entry_id(entry)),
        "ledger_id": None if entry.get("ledger_id") is None else str(entry["ledger_id"]),
        "sequence_number": None if entry.get("sequence_number") is None else int(entry["sequence_number"]),
        "ledger_type": entry.get("ledger_type"),
        "description": entry.get("description") or None,
        "reference_type": reference_type,
        "reference_id": reference_id,
        "receipt_id": receipt_id,
        "fee_amount": -minor_units(entry.get("amount"), currency, where),
        "currency": currency.upper() if currency else None,
        "created_at": _created(entry, where),
    }


def receipts_of_payments(client: EtsyFinancesClient, shop: str, entries: list[dict[str, Any]]) -> dict[str, str]:
    """payment_id -> receipt_id for the entries that refer to a payment."""
    ids = [str(_entry_id(e)) for e in entries if str(e.get("reference_type") or "").lower() == "payment"]
    found: dict[str, str] = {}
    for start in range(0, len(ids), PAYMENT_LOOKUP_BATCH):
        for payment in client.ledger_entry_payments(shop, ids[start:start + PAYMENT_LOOKUP_BATCH]):
            if payment.get("payment_id") is not None and payment.get("receipt_id") is not None:
                found[str(payment["payment_id"])] = str(payment["receipt_id"])
    return found


def extract(conn: Connection, window: Window, *, client: EtsyFinancesClient | None = None) -> Iterator[Page]:
    """Etsy ledger fee entries created in ``[window.start, window.end)``."""
    client = client or EtsyFinancesClient.from_connection(conn)
    shop = shop_id(conn)
    low, high = math.floor(_epoch(window.start)), math.ceil(_epoch(window.end))
    for entries, ref in client.ledger_entries(shop, low, high):
        kept = [e for e in entries if is_fee(e) and window.contains(_created(e, f"{ref} ledger entry "
                                                                              f"{_entry_id(e)}"))]
        # Entries of other types (sales, refunds, disbursements, or a fee type not in FEE_LEDGER_TYPES) are not
        # loaded: name them with their counts so a fee type Etsy adds shows up in the task log, not nowhere.
        skipped = Counter(str(e.get("ledger_type") or "(none)") for e in entries if not is_fee(e))
        if skipped:
            log.info("%s: ledger entries not loaded as fees, by ledger_type: %s", ref,
                     ", ".join(f"{kind} {count}" for kind, count in sorted(skipped.items())))
        payments = receipts_of_payments(client, shop, kept)
        yield Page("etsy_ledger_fees", [fee_record(e, payments, ref) for e in kept], ref)
