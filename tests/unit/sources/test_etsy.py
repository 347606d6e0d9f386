"""Etsy receipts source: parsing Etsy's documented receipt shape, and extraction against the emulator (window,
offset pages, token refresh mid-run, 429 with retry-after, the pace the rate-limit headers set)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import RetryPolicy
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sandbox.tokens import TokenPolicy
from narrowcast.sources.etsy import EtsyClient, extract
from narrowcast.sources.etsy.extract import receipt_record, refund_records, transaction_records

WINDOW = Window(datetime(2026, 3, 1), datetime(2026, 3, 2))
START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
END = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())


def money(cents: int) -> dict:
    return {"amount": cents, "divisor": 100, "currency_code": "EUR"}


def receipt(receipt_id: int, updated: int, **fields) -> dict:
    """A ShopReceipt as getShopReceipts documents it (fields the source ignores left out)."""
    return {
        "receipt_id": receipt_id, "receipt_type": 0, "seller_user_id": 11, "buyer_user_id": 900 + receipt_id,
        "buyer_email": f"buyer{receipt_id}@example.org", "status": "paid", "is_paid": True, "is_shipped": False,
        "create_timestamp": updated - 60, "created_timestamp": updated - 60, "update_timestamp": updated,
        "updated_timestamp": updated, "grandtotal": money(4790), "subtotal": money(3980),
        "total_price": money(3980), "total_shipping_cost": money(490), "total_tax_cost": money(0),
        "total_vat_cost": money(320), "discount_amt": money(0), "gift_wrap_price": money(0), "shipments": [],
        "transactions": [
            {"transaction_id": receipt_id * 10 + 1, "receipt_id": receipt_id, "listing_id": 1500 + receipt_id,
             "product_id": 7001, "sku": "SKU-001", "quantity": 2, "price": money(1990), "shipping_cost": money(490),
             "shipped_timestamp": None, "variations": []},
        ],
        **fields,
    }


def test_a_receipt_parses_into_the_raw_columns_with_money_from_amount_and_divisor():
    record = receipt_record(receipt(7, START + 3600), "page 1")
    assert record == {
        "receipt_id": "7", "created_at": datetime(2026, 3, 1, 0, 59), "updated_at": datetime(2026, 3, 1, 1, 0),
        "status": "paid", "is_paid": True, "is_shipped": False, "buyer_user_id": "907",
        "buyer_email": "buyer7@example.org", "grandtotal": Decimal("47.90"), "subtotal": Decimal("39.80"),
        "total_price": Decimal("39.80"), "total_shipping_cost": Decimal("4.90"), "total_tax_cost": Decimal("0"),
        "total_vat_cost": Decimal("3.20"), "discount_amt": Decimal("0"), "currency": "EUR"}
    assert transaction_records(receipt(7, START + 3600), "page 1") == [{
        "transaction_id": "71", "receipt_id": "7", "listing_id": "1507", "product_id": "7001", "sku": "SKU-001",
        "quantity": 2, "price": Decimal("19.90"), "shipping_cost": Decimal("4.90"), "shipped_at": None}]


def test_a_partially_refunded_receipts_refunds_become_one_record_each():
    # ShopReceipt.refunds holds ShopRefund records: amount (Money), created_timestamp, reason, note_from_issuer,
    # status; two refunds of one receipt, two of them in the same second
    refunds = [
        {"amount": money(1000), "created_timestamp": START + 7200, "reason": "damaged item",
         "note_from_issuer": "Sorry about the chipped mug.", "status": "complete"},
        {"amount": money(490), "created_timestamp": START + 7200, "reason": "shipping", "note_from_issuer": None,
         "status": "complete"},
        {"amount": money(990), "created_timestamp": START + 9000, "reason": None, "note_from_issuer": None,
         "status": None},
    ]
    records = refund_records(receipt(7, START + 9000, status="partially refunded", refunds=refunds), "page 1")
    assert records == [
        {"refund_key": f"7:{START + 7200}:1", "receipt_id": "7", "refunded_at": datetime(2026, 3, 1, 2, 0),
         "amount": Decimal("10"), "currency": "EUR", "reason": "damaged item", "status": "complete"},
        {"refund_key": f"7:{START + 7200}:2", "receipt_id": "7", "refunded_at": datetime(2026, 3, 1, 2, 0),
         "amount": Decimal("4.9"), "currency": "EUR", "reason": "shipping", "status": "complete"},
        {"refund_key": f"7:{START + 9000}:1", "receipt_id": "7", "refunded_at": datetime(2026, 3, 1, 2, 30),
         "amount": Decimal("9.9"), "currency": "EUR", "reason": None, "status": None}]
    # a receipt without refunds has none; a refund without its amount is refused naming the receipt
    assert refund_records(receipt(8, START), "page 1") == []
    with pytest.raises(ValueError, match="receipt 9 refund at .*amount is missing"):
        refund_records(receipt(9, START, refunds=[{"created_timestamp": START}]), "page 1")


def test_a_receipt_without_its_id_is_refused_naming_the_page():
    with pytest.raises(ValueError, match="page 3 receipt None: receipt_id is missing"):
        receipt_record(receipt(7, START) | {"receipt_id": None}, "page 3")


# ---- against the emulator ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["etsy"], tokens=TokenPolicy("tokens", 2.0)) as server:
        yield server


@pytest.fixture()
def etsy(sandbox: SandboxServer):
    emulator = sandbox.app.state.emulators["etsy"]
    emulator.reset()
    sandbox.app.state.access_tokens.reset(TokenPolicy("tokens", 2.0))
    return emulator


def connection(sandbox: SandboxServer) -> Connection:
    return Connection("narrowcast_etsy", f"{sandbox.url}/etsy", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
                      extra={"shop_id": "27182818", "refresh_token": LOCAL_REFRESH_TOKEN,
                             "token_url": f"{sandbox.url}/etsy/v3/public/oauth/token"})


def client(sandbox: SandboxServer, sleeps: list[float] | None = None) -> EtsyClient:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(seconds)

    return EtsyClient.from_connection(connection(sandbox), sleep=sleep,
                                      retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02))


def kept_ids(pages) -> list[str]:
    return [r["receipt_id"] for p in pages if p.entity == "etsy_receipts" for r in p.records]


def test_receipts_modified_in_the_half_open_window_arrive_once_across_offset_pages(sandbox, etsy):
    # GIVEN 230 receipts in the window (three pages of 100) and one each at its start, its end and before it
    etsy.seed_receipts([receipt(i, START + 10 + i) for i in range(1, 231)])
    etsy.seed_receipts([receipt(900, START), receipt(901, END), receipt(902, START - 1)])
    # WHEN the window is extracted
    pages = list(extract(connection(sandbox), WINDOW, client=client(sandbox)))
    # THEN every receipt of [start, end) arrives once, each with its transaction, through limit/offset pages
    ids = kept_ids(pages)
    assert sorted(ids) == sorted([str(i) for i in range(1, 231)] + ["900"])
    assert len(ids) == len(set(ids))
    lines = [r for p in pages if p.entity == "etsy_receipt_transactions" for r in p.records]
    assert len(lines) == 231
    assert etsy.calls["getShopReceipts"] == 3


def test_the_request_filters_on_last_modified_seconds_and_sends_the_key_with_its_shared_secret(sandbox, etsy):
    api = client(sandbox)
    sent = []
    api.session.hooks["response"].append(lambda response, *a, **k: sent.append(response.request))
    list(extract(connection(sandbox), WINDOW, client=api))
    receipts_call = next(r for r in sent if "/receipts" in r.url)
    assert f"min_last_modified={START}" in receipts_call.url and f"max_last_modified={END}" in receipts_call.url
    assert receipts_call.headers["x-api-key"] == f"{LOCAL_CLIENT_ID}:{LOCAL_CLIENT_SECRET}"
    assert receipts_call.headers["Authorization"].startswith("Bearer 48151623.")


def test_an_access_token_that_expires_mid_run_is_refreshed_and_the_run_completes(sandbox, etsy):
    # GIVEN tokens that last two seconds and a run longer than that
    etsy.seed_receipts([receipt(i, START + 10 + i) for i in range(1, 151)])
    api = client(sandbox)
    pages = iter(extract(connection(sandbox), WINDOW, client=api))
    first = [next(pages), next(pages)]
    time.sleep(2.1)
    rest = list(pages)
    # THEN the second page went out with a new token and nothing was lost
    assert len(kept_ids(first + rest)) == 150
    assert api.auth.refreshes == 2


def test_the_rate_limit_headers_set_the_clients_pace(sandbox, etsy):
    # GIVEN an app allowance of 4 requests per second, reported on every answer
    etsy.per_second = 4
    etsy.seed_receipts([receipt(i, START + 10 + i) for i in range(1, 151)])
    api = client(sandbox)
    # WHEN the window is extracted
    assert len(kept_ids(extract(connection(sandbox), WINDOW, client=api))) == 150
    # THEN the token bucket follows the reported rate and the day's remainder is known
    assert api.app_pace.rate == 4.0
    assert api.remaining_today == 100_000 - etsy.calls["getShopReceipts"]


def test_a_429_is_retried_after_the_seconds_etsy_asks(sandbox, etsy):
    # GIVEN an allowance other clients of the same app key have just used up
    etsy.seed_receipts([receipt(i, START + 10 + i) for i in range(1, 151)])
    etsy.taken_by_others, etsy.retry_after_seconds = 1, 1
    sleeps: list[float] = []
    api = client(sandbox, sleeps)
    # WHEN the window is extracted
    ids = kept_ids(extract(connection(sandbox), WINDOW, client=api))
    # THEN the refused request waited the retry-after (not the short backoff) and nothing was lost
    assert len(ids) == 150
    assert api.retries == 1 and max(sleeps) >= 1.0


def test_a_key_without_the_shared_secret_is_refused_with_etsys_message(sandbox, etsy):
    conn = connection(sandbox)
    api = EtsyClient.from_connection(conn, retry=RetryPolicy(max_attempts=1))
    api.auth._headers = lambda token: {"x-api-key": LOCAL_CLIENT_ID, "Authorization": f"Bearer {token}"}
    with pytest.raises(Exception, match="Shared secret is required"):
        list(extract(conn, WINDOW, client=api))


def test_the_doctor_refreshes_the_token_and_reads_one_receipt(sandbox, etsy):
    from narrowcast.doctor import diagnose

    diagnosis = diagnose(connection(sandbox))
    assert diagnosis.problems == []
    assert "authenticated" in diagnosis.notes and etsy.calls["getShopReceipts"] == 1


def test_the_doctor_names_a_missing_shop_id_without_the_secret(sandbox, etsy):
    from narrowcast.doctor import diagnose

    conn = connection(sandbox)
    broken = Connection(conn.conn_id, conn.base_url, login=conn.login, password=conn.password,
                        extra={k: v for k, v in conn.extra.items() if k != "shop_id"})
    problems = " ".join(diagnose(broken).problems)
    assert "shop_id" in problems and LOCAL_CLIENT_SECRET not in problems


def test_a_receipt_leaving_the_window_between_two_pages_pushes_no_other_past_the_offset(sandbox, etsy):
    # GIVEN 150 receipts in the window, oldest change first
    etsy.seed_receipts([receipt(i, START + 10 + i) for i in range(1, 151)])
    pages = iter(extract(connection(sandbox), WINDOW, client=client(sandbox)))
    first = [next(pages), next(pages)]
    # WHEN a receipt of the first page is modified again after the window's end (it leaves the filtered set, and
    # every later receipt moves one place up)
    etsy.receipts["3"]["update_timestamp"] = END + 60
    rest = list(pages)
    # THEN receipt 101, now at offset 99, still arrives: the next page started a few rows back
    ids = kept_ids(first + rest)
    assert sorted(ids, key=int) == [str(i) for i in range(1, 151)]
