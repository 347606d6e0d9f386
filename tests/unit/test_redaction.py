"""Redaction: what is masked (e-mails, phones, credentials), what must stay readable, and every place that uses it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from narrowcast.activation import engine, run_sync
from narrowcast.activation.destinations.base import Batch, JobStatus, RowResult
from narrowcast.activation.spec import parse_sync
from narrowcast.alerts import Alert, send_alert
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.redaction import RedactingFilter, redact, redacting_logger
from narrowcast.http import FatalApiError, HttpClient, RetryPolicy

EMAILS = [
    pytest.param("failed for jane.doe@example.com", "failed for <email>", id="a plain ascii address is masked"),
    pytest.param("customer jane.doe+x@mail.example.org failed", "customer <email> failed",
                 id="a plus tag and a subdomain are masked with the address"),
    pytest.param("Jane.Doe@Example.COM.", "<email>.", id="an upper-case address is masked and the full stop kept"),
    pytest.param("josé.garcía@example.com", "<email>", id="an accented local part is masked whole"),
    pytest.param("jose\u0301.garci\u0301a@example.com", "<email>",
                 id="a local part with combining accents is masked whole"),
    pytest.param("user@bücher.de", "<email>", id="a unicode domain is masked"),
    pytest.param("user@例え.jp", "<email>", id="a japanese domain is masked"),
    pytest.param("user@xn--bcher-kva.de", "<email>", id="a punycode domain is masked"),
    pytest.param("<उपयोगकर्ता@डाटामेल.भारत>", "<<email>>", id="a devanagari address with a unicode tld is masked"),
    pytest.param("GET /profiles?email=jane%40example.com&page=2", "GET /profiles?email=<email>&page=2",
                 id="a url-encoded address in a query string is masked"),
    pytest.param('{"email": "jane@example.com", "id": "c1"}', '{"email": "<email>", "id": "c1"}',
                 id="an address in a json body is masked and its quotes kept"),
    pytest.param("mailto:jane@example.com", "mailto:<email>", id="a mailto address is masked after the scheme"),
]

PHONES = [
    pytest.param("phone +4915112345678 rejected", "phone <phone> rejected", id="a compact e164 number is masked"),
    pytest.param("call +44 20 7946 0958 now", "call <phone> now", id="a spaced e164 number is masked"),
    pytest.param("+49 (0)151 1234567", "<phone>", id="an e164 number with a bracketed trunk zero is masked"),
    pytest.param("0049 151 1234567", "<phone>", id="a double-zero international number is masked"),
    pytest.param("0151 12345678", "<phone>", id="a german mobile number is masked"),
    pytest.param("01511234567", "<phone>", id="a german mobile number without spaces is masked"),
    pytest.param("(030) 1234567", "<phone>", id="a berlin number with a bracketed area code is masked"),
    pytest.param("030/1234567", "<phone>", id="a number with a slash after the area code is masked"),
    pytest.param("06 12 34 56 78", "<phone>", id="a french number in pairs is masked"),
    pytest.param("06.12.34.56.78", "<phone>", id="a french number in dotted pairs is masked"),
    pytest.param("555-123-4567", "<phone>", id="a north american number with dashes is masked"),
    pytest.param("(555) 123-4567", "<phone>", id="a north american number with a bracketed area code is masked"),
    pytest.param("1-800-555-0199", "<phone>", id="a north american number with its country code is masked"),
    pytest.param("tel:+4915112345678", "tel:<phone>", id="a tel uri number is masked after the scheme"),
    pytest.param("GET /p?phone=%2B4915112345678", "GET /p?phone=<phone>", id="a url-encoded plus number is masked"),
    pytest.param('{"phone":"0151 1234567"}', '{"phone":"<phone>"}', id="a number in a json body is masked"),
    pytest.param("2026-11-25 0151 1234567", "2026-11-25 <phone>", id="a number right after a date is masked alone"),
    pytest.param("10:05 0151 1234567", "10:05 <phone>", id="a number right after a time is masked alone"),
]

SECRETS = [
    pytest.param("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***",
                 id="a bearer token in an authorization header is masked and the scheme kept"),
    pytest.param("Authorization: Klaviyo-API-Key pk_live_abcdef", "Authorization: Klaviyo-API-Key ***",
                 id="a klaviyo api key header is masked"),
    pytest.param("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic ***",
                 id="basic credentials in an authorization header are masked"),
    pytest.param("Authorization: abc", "Authorization: ***", id="a short credential without a scheme is masked"),
    pytest.param("{'Authorization': 'Bearer abc'}", "{'Authorization': 'Bearer ***'}",
                 id="an authorization header in a python dict is masked"),
    pytest.param("sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "sent Bearer ***", id="a bare bearer jwt is masked"),
    pytest.param("X-Shopify-Access-Token: shpat_x", "X-Shopify-Access-Token: ***",
                 id="a vendor access token header is masked"),
    pytest.param("X-Api-Key: abcd", "X-Api-Key: ***", id="an api key header is masked"),
    pytest.param("postgres://user:pw@db:5432/x", "postgres://***:***@db:5432/x", id="url userinfo is masked"),
    pytest.param("https://user:pw@api.example.com/x", "https://***:***@api.example.com/x",
                 id="url userinfo before a dotted host is masked as credentials not as an e-mail"),
    pytest.param("https://ghp_token@host/x", "https://***@host/x", id="a token as url user name is masked"),
    pytest.param("shpat_0123456789abcdef0123456789abcdef failed", "shpat_*** failed",
                 id="a shopify admin token is masked wherever it appears"),
    pytest.param("key pk_abcdef1234567890abcdef1234567890ab", "key pk_***", id="a klaviyo private key is masked"),
    pytest.param("Atza|IwEBIA-x_y.z expired", "Atza|*** expired", id="an amazon lwa access token is masked"),
    pytest.param("Atzr|IwEBIAbc123", "Atzr|***", id="an amazon lwa refresh token is masked"),
    pytest.param("token EAABsbCS1iHgBAKZBZC0123456789abcdef expired", "token EAA*** expired",
                 id="a meta access token is masked"),
    pytest.param('{"password": "correct horse battery"}', '{"password": "***"}',
                 id="a json password with spaces is masked whole"),
    pytest.param('{"access_token": "EAAB", "expires_in": 3600}', '{"access_token": "***", "expires_in": 3600}',
                 id="a json access token is masked and the rest kept"),
    pytest.param('"{\\"client_secret\\": \\"a b\\"}"', '"{\\"client_secret\\": \\"***\\"}"',
                 id="a secret in json quoted inside a json string is masked"),
    pytest.param("{'credentials': {'password': 'x'}}", "{'credentials': {'password': '***'}}",
                 id="a nested password is masked and the structure kept"),
    pytest.param("grant_type=refresh_token&refresh_token=Atzr|abc&client_id=amzn1.app&client_secret=xyz",
                 "grant_type=refresh_token&refresh_token=***&client_id=amzn1.app&client_secret=***",
                 id="an lwa token form body is masked but the grant type and client id kept"),
    pytest.param("https://s3.example/r?X-Amz-Credential=AKIA%2F1&X-Amz-Date=20261125T100000Z&X-Amz-Signature=ab12",
                 "https://s3.example/r?X-Amz-Credential=***&X-Amz-Date=20261125T100000Z&X-Amz-Signature=***",
                 id="a presigned url keeps its date and loses its credential and signature"),
    pytest.param("password: hunter2", "password: ***", id="a password after a colon is masked"),
]

QUERY_PARAMETERS = ["access_token", "api_key", "key", "token", "secret", "password", "signature", "client_secret",
                    "refresh_token", "apikey", "sig"]

SURVIVORS = [
    pytest.param("2026-11-25", id="an iso date"),
    pytest.param("25.11.2026", id="a german date"),
    pytest.param("05.11.2026 10:00", id="a german date with a leading zero and a time"),
    pytest.param("01/25/2026", id="a us date with a leading zero"),
    pytest.param("01.2026-12.2026", id="a range of months"),
    pytest.param("2026-11-25T10:00:00+01:00", id="an iso timestamp with an offset"),
    pytest.param("2026-11-25 10:00:00.123456Z", id="an iso timestamp with microseconds"),
    pytest.param("at +14:00", id="a bare utc offset"),
    pytest.param("order 1234567 on 2026-11-25 10:00", id="an order number and a date"),
    pytest.param("#1001", id="a shop order number"),
    pytest.param("402-1234567-1234567", id="an amazon order id"),
    pytest.param("12-34567-89012", id="an ebay order id"),
    pytest.param("ORD-2026-000123", id="an order reference with a year"),
    pytest.param("order 0000123456", id="a zero-padded order number"),
    pytest.param("EUR 1,234.56", id="an amount with a thousands comma"),
    pytest.param("1.234,56 €", id="an amount with a decimal comma"),
    pytest.param("12 345,67 €", id="an amount with a thousands space"),
    pytest.param("+1.234.567,00 €", id="a signed large amount"),
    pytest.param("+12.50", id="a signed small amount"),
    pytest.param("€0,99", id="an amount under one euro"),
    pytest.param("SKU-0001-BLK", id="an sku with a zero-padded number"),
    pytest.param("SKU-0151-1234567", id="an sku whose digits look like a phone number"),
    pytest.param("ACME-555-1234", id="an sku with a north-american-looking tail"),
    pytest.param("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", id="a sha256 digest"),
    pytest.param("0151234567e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78",
                 id="a sha256 digest that starts like a phone number"),
    pytest.param('{"email_sha256": "0151234567e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78"}',
                 id="a hashed e-mail field in json"),
    pytest.param("Amazon INVALID: 4000001: quantity must be >= 0", id="a short api error code"),
    pytest.param("UUID 123e4567-e89b-12d3-a456-426614174000", id="a uuid"),
    pytest.param("ip 10.0.0.1 and 192.168.0.12", id="ip addresses"),
    pytest.param("rate 0.0151234567", id="a long decimal fraction"),
    pytest.param("EAN 4006381333931", id="a european article number"),
    pytest.param("npm package@1.2.3", id="a versioned package name with an at sign"),
    pytest.param("GET /orders?NextToken=abc&MaxResultsPerPage=100", id="a pagination token in a url"),
    pytest.param('{"nextPageToken": "CAE", "token_type": "Bearer", "record_key": "c1", "key": "segment"}',
                 id="json pagination tokens token types record keys and metafield keys"),
    pytest.param("Invalid API key or access token", id="an error naming a credential without quoting it"),
    pytest.param("the bearer of this Basic plan", id="bearer and basic as english words"),
    pytest.param("Constraint Error: duplicate key violates pk_sync_state", id="a primary key constraint name"),
    pytest.param("idempotency_key=abc-123&client_id=abc", id="non-secret key and id parameters"),
]


@pytest.mark.parametrize(("text", "expected"), EMAILS)
def test_email_addresses_are_masked_in_any_script(text: str, expected: str):
    assert redact(text) == expected


@pytest.mark.parametrize(("text", "expected"), PHONES)
def test_phone_numbers_are_masked_in_e164_and_national_formats(text: str, expected: str):
    assert redact(text) == expected


@pytest.mark.parametrize(("text", "expected"), SECRETS)
def test_credentials_are_masked_and_their_names_kept(text: str, expected: str):
    assert redact(text) == expected


@pytest.mark.parametrize("name", [pytest.param(n, id=f"the {n} query parameter is masked") for n in QUERY_PARAMETERS])
def test_secret_query_parameters_are_masked_and_their_neighbours_kept(name: str):
    url = f"https://api.example.com/v1/x?limit=5&{name}=s3cr3t-Value_1&page=2"
    assert redact(url) == f"https://api.example.com/v1/x?limit=5&{name}=***&page=2"


@pytest.mark.parametrize("text", SURVIVORS)
def test_dates_amounts_ids_skus_and_hashes_stay_readable(text: str):
    assert redact(text) == text


def test_a_message_mixing_pii_with_ids_masks_only_the_pii():
    text = "order #1001 for josé@bücher.de on 2026-11-25, total 1.234,56 €, SKU-0001-BLK, call +4915112345678"
    assert redact(text) == "order #1001 for <email> on 2026-11-25, total 1.234,56 €, SKU-0001-BLK, call <phone>"


@pytest.mark.parametrize(("text", "expected"), EMAILS + PHONES + SECRETS)
def test_redacting_twice_changes_nothing_more(text: str, expected: str):
    assert redact(redact(text)) == expected


def test_long_text_without_any_pii_is_redacted_in_linear_time():
    # a regex that backtracks per character would take minutes on this, not milliseconds
    text = "a." * 50_000 + "a@" + "b." * 50_000 + "0 " * 50_000
    assert redact(text) == text


# ---- the log filter -----------------------------------------------------------------------------------------------


def test_a_redacting_logger_masks_the_message_its_arguments_and_the_traceback(caplog: pytest.LogCaptureFixture):
    logger = redacting_logger("narrowcast.test_redaction_probe")
    caplog.set_level(logging.INFO, logger=logger.name)
    try:
        raise ValueError("refused jane@example.com")
    except ValueError:
        logger.exception("row %s rejected: %s", "c1", "phone +4915112345678")

    record = caplog.records[0]
    assert record.getMessage() == "row c1 rejected: phone <phone>"
    assert "ValueError: refused <email>" in caplog.text and "jane@example.com" not in caplog.text


def test_asking_twice_for_a_redacting_logger_attaches_one_filter():
    logger = redacting_logger("narrowcast.test_redaction_probe_once")
    redacting_logger(logger.name)
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1


# ---- every call site goes through the module ----------------------------------------------------------------------


def test_an_api_error_masks_the_token_in_its_url_and_the_pii_in_its_message():
    error = FatalApiError("Shopify", "GET", "https://shop.example/admin/customers.json?access_token=shpat_abc&limit=5",
                          422, "phone +4915112345678 of jane@example.com is taken")

    assert error.url == "https://shop.example/admin/customers.json?access_token=***&limit=5"
    assert error.message == "phone <phone> of <email> is taken"
    assert str(error) == "Shopify: GET /admin/customers.json failed (HTTP 422): phone <phone> of <email> is taken"


class _Answers:
    """A stand-in for ``requests.Session``: answers each request with the next canned status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.headers: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = self.statuses.pop(0)
        response._content = b"{}"
        response.url = url
        return response


def test_the_http_clients_retry_log_line_masks_an_email_in_the_path(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="narrowcast.http.client")
    client = HttpClient("https://api.example.com", session=_Answers([503, 200]),  # type: ignore[arg-type]
                        retry=RetryPolicy(base_delay=0.0, max_delay=0.0), sleep=lambda _: None)

    client.request("GET", "/profiles/jane@example.com", params={"api_key": "k"})

    assert "/profiles/<email> -> HTTP 503" in caplog.text and "jane@example.com" not in caplog.text


def test_urllib3_request_lines_go_through_the_redacting_filter(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logging.getLogger("urllib3.connectionpool").debug('%s "GET %s HTTP/1.1" 200', "https://api.example.com:443",
                                                      "/v1/x?access_token=EAAB123")
    assert "access_token=***" in caplog.text and "EAAB123" not in caplog.text


def test_an_alert_reason_with_an_email_is_written_redacted(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    sink = tmp_path / "alerts.jsonl"
    alert = Alert(dag_id="activate_audiences", task_id="sync", run_id="r1",
                  reason="Klaviyo refused josé.garcía@example.com (+44 20 7946 0958), Authorization: Bearer abc")

    send_alert(alert, Connection("narrowcast_alerts", "", extra={"sink": "file", "path": str(sink)}))

    line = json.loads(sink.read_text())
    assert line["reason"] == "Klaviyo refused <email> (<phone>), Authorization: Bearer ***"
    assert "garcía" not in sink.read_text() + caplog.text


# ---- the activation engine stores what APIs say, redacted ----------------------------------------------------------

FEED_SYNC = {"id": "test_stock_ebay", "model": "marketplace_listing_feed", "key": "sku",
             "filter": {"marketplace": "ebay"}, "schedule": "inventory", "destination": "ebay_inventory",
             "connection": "narrowcast_ebay", "object": "offer",
             "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1},
             "fields": {"sku": "sku", "offerId": "listing_id", "quantity": "quantity", "price": "price",
                        "currency": "currency", "status": "status"}}


class _Refusing:
    """A destination that answers each row as the test says: with an error, a failed job or an exception."""

    api_calls = 0

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def send(self, batch: Batch) -> list[RowResult]:
        if self.answer == "crash":
            raise RuntimeError("connection reset while sending for jane@example.com")
        if self.answer == "api_error":
            raise FatalApiError("eBay", "POST", "https://api.ebay.test/offer?token=v%5E1.1", 400,
                                "seller jane@example.com is not allowed")
        if self.answer == "job":
            return [RowResult(c.key, "accepted", job="job-1") for c in batch.changes]
        return [RowResult(c.key, "rejected", "Kunde +49 151 1234567: Telefonnummer ungültig") for c in batch.changes]

    def job_statuses(self, jobs: list[str]) -> dict[str, JobStatus]:
        return {job: JobStatus("failed", "job refused 0151 12345678 and jane@example.com") for job in jobs}


@pytest.fixture()
def feed_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table marketplace_listing_feed (sku varchar, marketplace varchar, listing_id varchar, "
                    "quantity integer, price decimal(18,2), currency varchar, status varchar)")
        con.execute("insert into marketplace_listing_feed values "
                    "('SKU-00001', 'ebay', '500001', 3, 19.99, 'EUR', 'active')")
    return path


def _run(monkeypatch: pytest.MonkeyPatch, warehouse: Path, destination: _Refusing) -> None:
    monkeypatch.setattr(engine, "_destination", lambda spec, connections, sleep: destination)
    run_sync(parse_sync(FEED_SYNC), connections={}, warehouse=warehouse, rejected_threshold=1.0)


def _query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_an_activation_rejection_reason_quoting_a_phone_is_stored_redacted(monkeypatch, feed_warehouse: Path):
    _run(monkeypatch, feed_warehouse, _Refusing("reject"))

    assert _query(feed_warehouse, "select reason from activation.sync_rejections") == [
        ("Kunde <phone>: Telefonnummer ungültig",)]


def test_an_api_error_that_rejects_a_batch_is_stored_without_its_token_or_email(monkeypatch, feed_warehouse: Path):
    _run(monkeypatch, feed_warehouse, _Refusing("api_error"))

    assert _query(feed_warehouse, "select reason from activation.sync_rejections") == [
        ("eBay: POST /offer failed (HTTP 400): seller <email> is not allowed",)]


def test_a_failed_runs_error_is_stored_redacted_in_the_run_log(monkeypatch, feed_warehouse: Path):
    with pytest.raises(RuntimeError):
        _run(monkeypatch, feed_warehouse, _Refusing("crash"))

    assert _query(feed_warehouse, "select status, error from activation.sync_runs") == [
        ("failed", "connection reset while sending for <email>")]


def test_a_failed_asynchronous_jobs_reason_is_stored_redacted(monkeypatch, feed_warehouse: Path):
    _run(monkeypatch, feed_warehouse, _Refusing("job"))
    # the second run asks how the first run's job ended, then re-sends its row
    _run(monkeypatch, feed_warehouse, _Refusing("reject"))

    assert _query(feed_warehouse, "select reason from activation.sync_jobs where status = 'failed'") == [
        ("job refused <phone> and <email>",)]
    assert ("asynchronous job job-1 failed: job refused <phone> and <email>",) in _query(
        feed_warehouse, "select reason from activation.sync_rejections")
