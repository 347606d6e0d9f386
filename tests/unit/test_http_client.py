"""The HTTP client base: retries what is retriable, fails fast on the rest, honours Retry-After."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from narrowcast.contracts.money import parse_money
from narrowcast.http import (
    FatalApiError,
    HttpClient,
    OutcomeUnknownApiError,
    RetriableApiError,
    RetryPolicy,
    TokenBucket,
)


class ScriptedServer:
    """A loopback HTTP server answering from a script of (status, headers, body) and recording requests."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                status, headers, body = outer.script.pop(0) if outer.script else (200, {}, {"ok": True})
                if status == "hang":
                    threading.Event().wait(headers)
                    status, headers, body = 200, {}, {"late": True}
                payload = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server_factory():
    servers = []

    def make(script):
        s = ScriptedServer(script)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def _client(url, sleeps, **kw):
    return HttpClient(url, sleep=sleeps.append, seed=1, retry=RetryPolicy(max_attempts=4, base_delay=0.01), **kw)


def test_a_429_is_retried_after_the_delay_the_server_asked_for(server_factory):
    server = server_factory([(429, {"Retry-After": "7"}, {"errors": "slow down"}), (200, {}, {"n": 1})])
    sleeps: list[float] = []
    body = _client(server.url, sleeps).get_json("/things")
    assert body == {"n": 1}
    assert sleeps == [7.0]
    assert len(server.requests) == 2


def test_a_5xx_is_retried_with_backoff_then_succeeds(server_factory):
    server = server_factory([(503, {}, {}), (502, {}, {}), (200, {}, {"ok": 1})])
    sleeps: list[float] = []
    client = _client(server.url, sleeps)
    assert client.get_json("/x") == {"ok": 1}
    assert len(sleeps) == 2 and all(s > 0 for s in sleeps)
    assert client.calls == 3 and client.retries == 2


def test_a_timeout_is_retried(server_factory):
    server = server_factory([("hang", 2.0, None), (200, {}, {"ok": 2})])
    sleeps: list[float] = []
    client = HttpClient(server.url, sleep=sleeps.append, timeout=(1, 0.6), retry=RetryPolicy(base_delay=0.01))
    assert client.get_json("/x") == {"ok": 2}
    assert len(sleeps) == 1


def test_a_401_fails_at_once_with_the_apis_own_message(server_factory):
    server = server_factory([(401, {}, {"errors": "[API] Invalid API key or access token"})])
    sleeps: list[float] = []
    with pytest.raises(FatalApiError) as info:
        _client(server.url, sleeps).get_json("/admin/orders.json")
    assert info.value.status == 401
    assert "Invalid API key" in str(info.value)
    assert "/admin/orders.json" in str(info.value)
    assert sleeps == []


def test_retries_give_up_after_the_policy_with_a_clear_error(server_factory):
    server = server_factory([(500, {}, {"message": "boom"})] * 4)
    with pytest.raises(RetriableApiError, match="gave up after 4 attempts"):
        _client(server.url, []).get_json("/x")


def test_secrets_in_the_query_string_never_appear_in_errors(server_factory):
    server = server_factory([(400, {}, {"error": {"message": "bad"}})])
    with pytest.raises(FatalApiError) as info:
        _client(server.url, []).get_json("/x", params={"access_token": "s3cr3t-token"})
    assert "s3cr3t-token" not in str(info.value) and "s3cr3t-token" not in info.value.url


def test_default_headers_are_sent(server_factory):
    server = server_factory([(200, {}, {})])
    _client(server.url, [], headers={"X-Shopify-Access-Token": "abc"}).get_json("/x")
    assert server.requests[0]["headers"]["X-Shopify-Access-Token"] == "abc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [pytest.param("19.90", Decimal("19.90"), id="string"), pytest.param(5, Decimal("5"), id="int")],
)
def test_money_is_parsed_as_decimal(raw, expected):
    assert parse_money(raw) == expected


def test_bad_money_names_the_field():
    with pytest.raises(ValueError, match="total_price: 'abc' is not a money amount"):
        parse_money("abc", where="total_price")


def test_the_token_bucket_spaces_requests_at_the_declared_rate():
    now = [0.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(5, burst=5, clock=lambda: now[0], sleep=sleep)
    for _ in range(15):
        bucket.acquire()
    # 5 burst immediately, then 10 more at 5/s → 2 seconds of waiting in total
    assert sum(slept) == pytest.approx(2.0, rel=1e-6)


def test_connection_errors_are_retriable():
    client = HttpClient("http://127.0.0.1:9", sleep=lambda s: None, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(RetriableApiError, match="ConnectionError"):
        client.get_json("/x")


def test_a_request_that_must_not_be_resent_is_not_resent_after_a_read_timeout(server_factory):
    """The server got it and answered late: it may have acted, so the client says so instead of sending it again."""
    server = server_factory([("hang", 2.0, None), (200, {}, {"ok": 2})])
    client = HttpClient(server.url, sleep=lambda s: None, timeout=(1, 0.6), retry=RetryPolicy(base_delay=0.01))
    with pytest.raises(OutcomeUnknownApiError, match="may have taken effect; not sent again"):
        client.request("GET", "/start", resend=False)
    assert len(server.requests) == 1


def test_a_request_that_must_not_be_resent_is_still_retried_when_it_never_left():
    """A refused connection is certainly not acted on: retried as usual, then a plain retriable error."""
    attempts: list[float] = []
    client = HttpClient("http://127.0.0.1:9", sleep=attempts.append, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(RetriableApiError, match="ConnectionError after 3 attempts") as failed:
        client.request("POST", "/start", resend=False)
    assert not isinstance(failed.value, OutcomeUnknownApiError)
    assert len(attempts) == 2
