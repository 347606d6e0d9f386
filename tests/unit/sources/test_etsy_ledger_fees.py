"""Etsy finances source: the payment account ledger's fee entries, from Etsy's documented shape and against the
emulator (created-time window, offset pages, receipts found through the payments of payment entries)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError, RetryPolicy
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sandbox.tokens import TokenPolicy
from narrowcast.sources.etsy_finances import EtsyFinancesClient, extract
from narrowcast.sources.etsy_finances.extract import fee_record, is_fee, minor_units

FIXTURES = Path(__file__).parent / "fixtures"
WINDOW = Window(datetime(2026, 3, 1), datetime(2026, 3, 2))
START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
END = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())
SHOP = "27182818"


def ledger_page() -> dict:
    return json.loads((FIXTURES / "etsy_ledger_entries_page.json").read_text())


def payments_page() -> dict:
    return json.loads((FIXTURES / "etsy_ledger_entry_payments.json").read_text())


def fee_entry(entry_id: int, created: int, cents: int = -20) -> dict:
    """A listing-fee PaymentAccountLedgerEntry as the reference documents it."""
    return {"entry_id": entry_id, "ledger_id": 7700, "sequence_number": entry_id, "amount": cents,
            "currency": "EUR", "description": "Listing fee", "balance": 0, "create_date": created,
            "created_timestamp": created, "ledger_type": "listing", "reference_type": "listing",
            "reference_id": str(1500 + entry_id), "payment_adjustments": []}


# ---- Etsy's documented shape ---------------------------------------------------------------------------

def test_a_fee_entry_becomes_a_positive_fee_in_currency_units_tied_to_its_receipt():
    entries = ledger_page()["results"]
    assert [e["entry_id"] for e in entries if is_fee(e)] == [41000002, 41000003, 41000004, 41000005]
    assert fee_record(entries[1], {}, "page 1") == {
        "entry_id": "41000002", "ledger_id": "7700", "sequence_number": 502, "ledger_type": "transaction",
        "description": "Transaction fee", "reference_type": "receipt", "reference_id": "3001",
        "receipt_id": "3001", "fee_amount": Decimal("3.11"), "currency": "EUR",
        "created_at": datetime(2026, 3, 1, 1, 0)}
    # a payment entry reaches its receipt only through the payment; a listing fee has no receipt
    assert fee_record(entries[2], {"5501": "3001"}, "page 1")["receipt_id"] == "3001"
    assert fee_record(entries[2], {}, "page 1")["receipt_id"] is None
    assert fee_record(entries[3], {}, "page 1")["receipt_id"] is None


def test_minor_units_follow_the_currency_and_a_bad_amount_is_refused_naming_the_entry():
    assert minor_units(-311, "EUR", "x") == Decimal("-3.11")
    assert minor_units(-500, "JPY", "x") == Decimal("-500")
    with pytest.raises(ValueError, match="page 2 ledger entry 7: amount '3.11' is not an integer"):
        fee_record(fee_entry(7, START, cents="3.11"), {}, "page 2")  # type: ignore[arg-type]


# ---- against the emulator ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["etsy"], tokens=TokenPolicy("tokens", 60.0)) as server:
        yield server


@pytest.fixture()
def etsy(sandbox: SandboxServer):
    emulator = sandbox.app.state.emulators["etsy"]
    emulator.reset()
    sandbox.app.state.access_tokens.reset(TokenPolicy("tokens", 60.0))
    return emulator


def connection(sandbox: SandboxServer) -> Connection:
    return Connection("narrowcast_etsy", f"{sandbox.url}/etsy", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
                      extra={"shop_id": SHOP, "refresh_token": LOCAL_REFRESH_TOKEN,
                             "token_url": f"{sandbox.url}/etsy/v3/public/oauth/token"})


class RecordingClient(EtsyFinancesClient):
    """Keeps the query string of every request it sends."""

    def request(self, method: str, path_or_url: str, **kwargs):
        response = super().request(method, path_or_url, **kwargs)
        self.sent.append(response.request.url)
        return response


def client(sandbox: SandboxServer) -> RecordingClient:
    made = RecordingClient.from_connection(connection(sandbox), sleep=time.sleep,
                                           retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
    made.sent = []
    return made


def pull(sandbox: SandboxServer, made: RecordingClient | None = None) -> list[dict]:
    made = made or client(sandbox)
    return [r for page in extract(connection(sandbox), WINDOW, client=made) for r in page.records]


def test_the_documented_page_yields_its_fees_each_tied_to_a_receipt_or_to_none(sandbox, etsy):
    # GIVEN the ledger page of the fixture and the payment its processing-fee entry refers to
    etsy.seed_ledger_entries(ledger_page()["results"], {"41000003": payments_page()["results"][0]})
    made = client(sandbox)
    # WHEN the day is extracted
    records = pull(sandbox, made)
    # THEN the four fees arrive, the payment's fee on the payment's receipt, the listing fee on none
    assert [(r["entry_id"], r["ledger_type"], r["receipt_id"], r["fee_amount"]) for r in records] == [
        ("41000002", "transaction", "3001", Decimal("3.11")),
        ("41000003", "payment_processing_fee", "3001", Decimal("1.69")),
        ("41000004", "listing", None, Decimal("0.2")),
        ("41000005", "offsite_ads_fee", "3001", Decimal("7.18"))]
    # AND the requests filter on whole created seconds and ask the payment of the payment entry only
    assert f"min_created={START}&max_created={END}&limit=100&offset=0" in made.sent[0]
    assert made.sent[1].endswith("/payment-account/ledger-entries/payments?ledger_entry_ids=41000003")


def test_fee_entries_created_in_the_half_open_window_arrive_once_across_offset_pages(sandbox, etsy):
    # GIVEN 230 fee entries in the window (three pages of 100), one at its end and one before its start
    etsy.seed_ledger_entries([fee_entry(i, START + i) for i in range(1, 231)]
                             + [fee_entry(900, END), fee_entry(901, START - 1)])
    made = client(sandbox)
    # WHEN the day is extracted
    records = pull(sandbox, made)
    # THEN each entry of the window arrives once, the one at the end is left to the next window
    assert sorted(int(r["entry_id"]) for r in records) == list(range(1, 231))
    assert [u.split("offset=")[1] for u in made.sent] == ["0", "100", "200"]


def test_a_429_on_the_ledger_is_retried_and_the_window_completes(sandbox, etsy):
    # GIVEN one fee entry and another client of the app using up the current second once
    etsy.seed_ledger_entries([fee_entry(1, START + 1)])
    etsy.retry_after_seconds = 0
    etsy.taken_by_others = 1
    made = client(sandbox)
    # WHEN the day is extracted THEN the refused request is sent again and the entry arrives
    assert [r["entry_id"] for r in pull(sandbox, made)] == ["1"]
    assert etsy.taken_by_others == 0  # the refusal was served
    assert etsy.calls["getShopPaymentAccountLedgerEntries"] == 1


@pytest.mark.parametrize("params, message", [
    pytest.param({"limit": 100}, "min_created and max_created are required", id="without the created bounds"),
    pytest.param({"min_created": START, "max_created": END, "limit": 101}, "limit must be between 1 and 100",
                 id="with a limit above the documented 100"),
    pytest.param({"min_created": 1, "max_created": END}, "at least 946684800", id="before the documented minimum"),
])
def test_the_ledger_refuses_a_request_outside_the_documented_parameters(sandbox, etsy, params, message):
    path = f"v3/application/shops/{SHOP}/payment-account/ledger-entries"
    with pytest.raises(FatalApiError, match=message):
        client(sandbox).request("GET", path, params=params)
