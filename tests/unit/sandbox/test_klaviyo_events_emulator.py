"""The Klaviyo sign-up source against the Klaviyo events emulator: the window's sign-ups across cursor pages,
a 429 retried, a key without the scope refused, and the emulator's documented refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
import requests
from tiny_world import sandbox_connection

from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source
from narrowcast.http import FatalApiError, RetryPolicy
from narrowcast.sandbox.emulators.klaviyo_events import RATE_LIMITS
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources.klaviyo import KlaviyoEventsClient, extract

DAY = datetime(2026, 9, 14)
WINDOW = Window(DAY, DAY + timedelta(days=1))
HEADERS = {"Authorization": f"Klaviyo-API-Key {SANDBOX_TOKEN}", "revision": "2026-10-15"}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["klaviyo"]) as running:
        yield running


@pytest.fixture()
def klaviyo(server: SandboxServer):
    emulator = server.app.state.emulators["klaviyo_events"]
    emulator.reset()
    emulator.rate_limits.update(RATE_LIMITS)  # a test may have lowered them
    return emulator


def signup(n: int, at: datetime, metric: str = "Subscribed to List") -> dict:
    return {"event_id": f"ev{n:04d}", "metric_name": metric, "profile_id": f"01PROFILE{n:04d}",
            "email": f"reader{n}@example.org", "list_name": "Newsletter", "subscribed_at": at}


def pull(server: SandboxServer, **client_options) -> tuple[list[dict], KlaviyoEventsClient]:
    conn = sandbox_connection(server, "klaviyo", "narrowcast_klaviyo")
    client = KlaviyoEventsClient.from_connection(conn, **{"sleep": lambda _s: None, **client_options})
    return [r for page in extract(conn, WINDOW, client=client) for r in page.records], client


def test_the_windows_sign_ups_arrive_once_across_cursor_pages_and_nothing_outside_it(server, klaviyo):
    # GIVEN 450 list sign-ups in the day (three pages of 200), 3 e-mail-marketing ones, one at the window's end,
    # one just before its start, and an event of another metric (Opened Email is not a sign-up)
    inside = [signup(n, DAY + timedelta(seconds=60 * n)) for n in range(450)]
    marketing = [signup(1000 + n, DAY + timedelta(hours=n), "Subscribed to Email Marketing") for n in range(3)]
    outside = [signup(2000, WINDOW.end), signup(2001, DAY - timedelta(seconds=1))]
    klaviyo.seed_signups([*inside, *marketing, *outside, {**signup(3000, DAY), "metric_name": "Opened Email"}])
    # WHEN the day is extracted
    records, client = pull(server)
    # THEN each sign-up of the window arrives once, with its metric, profile and e-mail
    assert sorted(r["event_id"] for r in records) == sorted(r["event_id"] for r in inside + marketing)
    first = next(r for r in records if r["event_id"] == "ev0001")
    assert first == {"event_id": "ev0001", "metric_id": "SbLst5", "metric_name": "Subscribed to List",
                     "profile_id": "01PROFILE0001", "email": "reader1@example.org", "list_name": "Newsletter",
                     "subscribed_at": DAY + timedelta(seconds=60)}
    # AND that took one metrics call, one page of e-mail-marketing sign-ups and three pages of list sign-ups
    assert client.calls == 1 + 1 + 3


def test_a_429_of_the_events_burst_window_is_retried_after_retry_after(server, klaviyo):
    # GIVEN a burst limit of one events request per second
    klaviyo.seed_signups([signup(n, DAY + timedelta(minutes=n)) for n in range(3)])
    klaviyo.rate_limits["get_events"] = (1, 3500)
    # WHEN the day is read (two metrics: the second events request comes within the same second)
    records, client = pull(server, sleep=time.sleep,
                           retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02))
    # THEN the refused request was sent again and every sign-up arrived
    assert len(records) == 3 and client.retries >= 1


def test_a_key_without_the_events_read_scope_is_refused_403_naming_klaviyos_permission_denied(server, klaviyo):
    klaviyo.key_scopes.discard("events:read")
    with pytest.raises(FatalApiError, match=r"GET /klaviyo/api/events failed \(HTTP 403\): permission_denied"):
        pull(server)


@pytest.mark.parametrize("params, headers, status, fragment", [
    pytest.param({"filter": "greater-or-equal(datetime,'2026-09-14T00:00:00+00:00')"}, HEADERS, 400,
                 "Invalid filter provided", id="a quoted datetime (the Filtering guide writes them unquoted)"),
    pytest.param({"filter": "equals(email,\"a@b.org\")"}, HEADERS, 400, "Invalid filter provided",
                 id="a field get_events does not filter on"),
    pytest.param({"filter": "and(equals(metric_id,\"SbLst5\")"}, HEADERS, 400, "parentheses",
                 id="unbalanced parentheses"),
    pytest.param({"page[size]": "1001"}, HEADERS, 400, "page[size] must be between 1 and 1000",
                 id="a page size above the documented 1000"),
    pytest.param({"sort": "created"}, HEADERS, 400, "not a valid sort", id="a sort outside the documented four"),
    pytest.param({}, {"Authorization": HEADERS["Authorization"]}, 400, "revision", id="without the revision header"),
    pytest.param({}, {"revision": "2026-10-15", "Authorization": "Klaviyo-API-Key pk_revoked"}, 401,
                 "not_authenticated", id="an invalid private key"),
])
def test_get_events_refuses_what_klaviyo_documents_it_refuses(server, klaviyo, params, headers, status, fragment):
    answer = requests.get(f"{server.url}/klaviyo/api/events", params=params, headers=headers, timeout=10)
    assert answer.status_code == status
    assert fragment in answer.text
    assert set(answer.json()["errors"][0]) >= {"id", "code", "title", "detail"}  # ClientError's required keys


def test_links_next_is_the_request_itself_with_the_next_cursor_and_a_foreign_cursor_is_refused(server, klaviyo):
    klaviyo.seed_signups([signup(n, DAY + timedelta(minutes=n)) for n in range(3)])
    params = {"filter": 'equals(metric_id,"SbLst5")', "page[size]": "2", "sort": "-datetime"}
    first = requests.get(f"{server.url}/klaviyo/api/events", params=params, headers=HEADERS, timeout=10).json()
    assert [e["id"] for e in first["data"]] == ["ev0002", "ev0001"]
    next_query = parse_qs(urlsplit(first["links"]["next"]).query)
    assert {k: v[0] for k, v in next_query.items() if k != "page[cursor]"} == params
    second = requests.get(first["links"]["next"], headers=HEADERS, timeout=10).json()
    assert [e["id"] for e in second["data"]] == ["ev0000"] and second["links"]["next"] is None
    foreign = requests.get(f"{server.url}/klaviyo/api/events", params={"page[cursor]": "bmV4dDo6aWQ6OjQ2NjU3NzQ3Njk"},
                           headers=HEADERS, timeout=10)
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["source"] == {"parameter": "page[cursor]"}


def test_the_extract_runner_lands_gates_and_merges_the_sign_ups_and_a_rerun_changes_nothing(server, klaviyo,
                                                                                           tmp_path):
    # GIVEN 250 sign-ups in the day (two pages)
    klaviyo.seed_signups([signup(n, DAY + timedelta(minutes=5 * n)) for n in range(250)])
    conn = sandbox_connection(server, "klaviyo", "narrowcast_klaviyo")
    warehouse = tmp_path / "wh.duckdb"
    # WHEN the day is extracted twice through the runner (landing, quality gate, merge)
    reports = [run_source("klaviyo", conn, WINDOW, data_dir=tmp_path, warehouse=warehouse) for _ in range(2)]
    # THEN every sign-up is loaded once, typed, and the second run merges the same rows
    assert [r.entities["klaviyo_subscription_events"].loaded for r in reports] == [250, 250]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*), count(distinct event_id), min(subscribed_at) "
                           "from raw.klaviyo_subscription_events").fetchone() == (250, 250, DAY)
        assert con.execute("select email, metric_name, subscribed_at from raw.klaviyo_subscription_events "
                           "where event_id = 'ev0007'").fetchone() == (
            "reader7@example.org", "Subscribed to List", DAY + timedelta(minutes=35))
