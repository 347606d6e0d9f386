"""Klaviyo sign-up source against a fake HTTP layer, with answers shaped as Klaviyo documents them: the
``get_metrics`` / ``get_events`` response schemas of klaviyo/openapi (the fixtures use the spec's example values:
``2022-11-08T01:23:45+00:00``, profile ``01GDDKASAP8TKDDA2GRZDSVP4H``, ``sarah.mason@klaviyo-demo.com``), the
``Subscribed to List`` event's ``List`` property, and the error bodies of "Rate limits, status codes, and errors"."""

from __future__ import annotations

from datetime import datetime

import pytest
from fake_http import FakeSession, fixture, reply

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError
from narrowcast.sources.klaviyo import KlaviyoEventsClient, extract
from narrowcast.sources.klaviyo.extract import subscription_record

KEY = "pk_0123456789abcdef0123456789abcdef01"
KLAVIYO = Connection("narrowcast_klaviyo", "https://a.klaviyo.com", password=KEY, extra={"revision": "2026-10-15"})
WINDOW = Window(datetime(2022, 11, 8), datetime(2022, 11, 9))
EMPTY = {"data": [], "links": {"self": "https://a.klaviyo.com/api/events/", "next": None}}


def run(session: FakeSession, http) -> list:
    return list(extract(KLAVIYO, WINDOW, client=KlaviyoEventsClient.from_connection(KLAVIYO, **http(session))))


def rows(pages: list) -> list[dict]:
    return [r for page in pages for r in page.records]


def klaviyo_error(status: int, code: str, title: str, detail: str) -> dict:
    return {"errors": [{"id": "9a6ddf10-414f-4d4e-b455-d743396d97a1", "status": status, "code": code,
                        "title": title, "detail": detail, "source": {"pointer": "/data/"}}]}


def test_the_sign_up_metrics_are_found_by_name_and_their_events_read_by_datetime_in_the_window(http):
    # GIVEN the account's metrics, no e-mail-marketing sign-up and two list sign-ups in the window
    session = FakeSession(reply(body=fixture("klaviyo_metrics_page.json")), reply(body=EMPTY),
                          reply(body=fixture("klaviyo_events_page.json")))
    # WHEN 2022-11-08 is extracted
    records = rows(run(session, http))
    # THEN the metrics of Klaviyo's own integration were asked for, then each sign-up metric's events of the day
    metrics, marketing, lists = session.sent
    assert metrics.path == "/api/metrics" and metrics.query["filter"] == 'equals(integration.name,"Klaviyo")'
    assert marketing.query["filter"] == ('and(equals(metric_id,"Y6rLvz"),greater-or-equal(datetime,'
                                         '2022-11-08T00:00:00+00:00),less-than(datetime,2022-11-09T00:00:00+00:00))')
    assert lists.query["filter"].startswith('and(equals(metric_id,"TspjNE"),')
    assert {k: lists.query[k] for k in ("sort", "include", "fields[profile]", "page[size]")} == {
        "sort": "datetime", "include": "profile", "fields[profile]": "email", "page[size]": "200"}
    # AND every request carries the private key, the revision and the JSON:API media type
    assert {(s.headers["Authorization"], s.headers["revision"], s.headers["Accept"]) for s in session.sent} == {
        (f"Klaviyo-API-Key {KEY}", "2026-10-15", "application/vnd.api+json")}
    # AND each event lands with its profile's id and e-mail, its list and its datetime in UTC
    assert records == [
        {"event_id": "4vRpBT8aQ4j", "metric_id": "TspjNE", "metric_name": "Subscribed to List",
         "profile_id": "01GDDKASAP8TKDDA2GRZDSVP4H", "email": "sarah.mason@klaviyo-demo.com",
         "list_name": "Newsletter", "subscribed_at": datetime(2022, 11, 8, 1, 23, 45)},
        {"event_id": "4vRpBTwCq7c", "metric_id": "TspjNE", "metric_name": "Subscribed to List",
         "profile_id": "01GDDKASAP8TKDDA2GRZDSVP4J", "email": None, "list_name": None,
         "subscribed_at": datetime(2022, 11, 8, 2, 3, 32)}]


def test_events_are_followed_across_pages_through_links_next_as_given(http):
    # GIVEN a first page whose links.next names the second page's cursor
    first = fixture("klaviyo_events_page.json")
    next_url = ("https://a.klaviyo.com/api/events/?filter=and%28equals%28metric_id%2C%22TspjNE%22%29%29"
                "&page%5Bcursor%5D=bmV4dDo6aWQ6OjQ2NjU3NzQ3Njk&page%5Bsize%5D=200")
    first["links"]["next"] = next_url
    second = fixture("klaviyo_events_page.json")
    for event in second["data"]:
        event["id"] += "-2"
    metrics = fixture("klaviyo_metrics_page.json")
    metrics["data"] = metrics["data"][1:]  # the account has no "Subscribed to Email Marketing" metric yet
    session = FakeSession(reply(body=metrics), reply(body=first), reply(body=second))
    # WHEN the day is extracted
    pages = run(session, http)
    # THEN the second request is the next URL itself (it carries every parameter) and both pages land
    assert session.sent[2].url == next_url and session.sent[2].params == {}
    assert [p.source_ref for p in pages] == ["GET /api/events metric TspjNE page 1",
                                             "GET /api/events metric TspjNE page 2"]
    assert [r["event_id"] for r in rows(pages)] == ["4vRpBT8aQ4j", "4vRpBTwCq7c", "4vRpBT8aQ4j-2", "4vRpBTwCq7c-2"]


@pytest.mark.parametrize("status, code, title", [
    pytest.param(401, "not_authenticated", "Incorrect authentication credentials.",
                 id="an expired or revoked private key fails naming Klaviyo's not_authenticated"),
    pytest.param(403, "permission_denied", "You do not have permission to perform this action.",
                 id="a key without the metrics:read scope fails naming Klaviyo's permission_denied"),
])
def test_a_refused_key_fails_at_once_with_klaviyos_message_and_never_the_key(http, status, code, title):
    session = FakeSession(reply(status, klaviyo_error(status, code, title, title)))
    with pytest.raises(FatalApiError) as failed:
        run(session, http)
    assert failed.value.status == status and len(session.sent) == 1  # not retried
    assert f"klaviyo: GET /api/metrics failed (HTTP {status}): {code}: {title}" == str(failed.value)
    assert KEY not in str(failed.value)


def test_a_429_is_retried_after_the_retry_after_klaviyo_asks_and_the_window_completes(http, waits):
    throttled = klaviyo_error(429, "throttled", "Request was throttled.",
                              "Request was throttled. Expected available in 2 seconds.")
    session = FakeSession(reply(body=fixture("klaviyo_metrics_page.json")), reply(body=EMPTY),
                          reply(429, throttled, {"Retry-After": "2"}), reply(body=fixture("klaviyo_events_page.json")))
    assert len(rows(run(session, http))) == 2
    assert waits == [2.0]  # Retry-After outweighs the short backoff of the test's policy
    assert session.sent[2].query == session.sent[3].query


def test_an_event_outside_the_window_is_left_to_its_own_window(http):
    page = fixture("klaviyo_events_page.json")
    page["data"][1]["attributes"]["datetime"] = "2022-11-09T00:00:00+00:00"  # the window's end: the next day's
    session = FakeSession(reply(body=fixture("klaviyo_metrics_page.json")), reply(body=EMPTY), reply(body=page))
    assert [r["event_id"] for r in rows(run(session, http))] == ["4vRpBT8aQ4j"]


@pytest.mark.parametrize("change, message", [
    pytest.param({"id": None}, "page 1 event None: the event has no id", id="an event without an id"),
    pytest.param({"attributes": {"datetime": "08/11/2022", "event_properties": {}}},
                 "page 1 event 4vRpBT8aQ4j datetime: '08/11/2022' is not an ISO 8601 timestamp",
                 id="a datetime that is not ISO 8601"),
    pytest.param({"attributes": {"event_properties": {}}}, "event 4vRpBT8aQ4j: the event has neither datetime",
                 id="an event without a time"),
])
def test_a_malformed_event_fails_naming_the_page_and_the_event(change, message):
    event = {**fixture("klaviyo_events_page.json")["data"][0], **change}
    with pytest.raises(ValueError, match=message):
        subscription_record(event, {}, "TspjNE", "Subscribed to List", "GET /api/events metric TspjNE page 1")
