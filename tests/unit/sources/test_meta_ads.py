"""Meta Insights connector against a fake HTTP layer: request shape, cursor paging, purchases, parsing."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from fake_http import FakeSession, fixture, reply

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.sources.meta_ads import MetaClient, extract

CONN = Connection("narrowcast_meta", "https://graph.facebook.com", password="EAAB-secret",
                  extra={"ad_account_id": "act_1234567890", "api_version": "v27.0"})


def run(session: FakeSession, http, window: Window) -> list:
    return list(extract(CONN, window, client=MetaClient.from_connection(CONN, **http(session))))


def page(rows: list[dict], after: str | None = None, more: bool = False) -> dict:
    body: dict = {"data": rows}
    if after:
        body["paging"] = {"cursors": {"before": "B", "after": after}}
        if more:
            body["paging"]["next"] = f"https://graph.facebook.com/v27.0/act_1234567890/insights?after={after}"
    return body


@pytest.mark.parametrize(("window", "since", "until"), [
    pytest.param(Window(datetime(2024, 3, 1), datetime(2024, 3, 2)), "2024-03-01", "2024-03-01",
                 id="a daily interval asks for one day"),
    pytest.param(Window(datetime(2024, 2, 26), datetime(2024, 3, 2)), "2024-02-26", "2024-03-01",
                 id="a window widened by the lookback asks for every day it covers"),
    pytest.param(Window(datetime(2024, 3, 1, 6), datetime(2024, 3, 1, 12)), "2024-03-01", "2024-03-01",
                 id="an hourly window asks for the day it falls in"),
])
def test_the_request_asks_for_daily_campaign_rows_of_the_window_days(http, window, since, until):
    session = FakeSession(reply(body=page([])))
    pages = run(session, http, window)
    sent = session.sent[0]
    assert sent.url == "https://graph.facebook.com/v27.0/act_1234567890/insights"
    assert sent.query["level"] == "campaign" and sent.query["time_increment"] == "1"
    assert json.loads(sent.query["time_range"]) == {"since": since, "until": until}
    assert sent.query["access_token"] == "EAAB-secret"
    assert {"spend", "actions", "action_values", "campaign_id", "date_start"} <= set(sent.query["fields"].split(","))
    assert [p.records for p in pages] == [[]]


def test_pages_follow_the_after_cursor_until_next_is_absent(http):
    row = fixture("meta_insights_page.json")["data"][1]
    session = FakeSession(reply(body=page([row], "c1", more=True)), reply(body=page([row], "c2", more=True)),
                          reply(body=page([row], "c3")))
    pages = run(session, http, Window(datetime(2024, 3, 1), datetime(2024, 3, 2)))
    assert [s.query.get("after") for s in session.sent] == [None, "c1", "c2"]
    assert all(s.query["time_range"] == session.sent[0].query["time_range"] for s in session.sent)
    assert [p.source_ref for p in pages] == [f"GET /v27.0/act_1234567890/insights page {n}" for n in (1, 2, 3)]


def test_an_insights_page_parses_into_the_raw_columns_without_double_counting_purchases(http):
    session = FakeSession(reply(body=fixture("meta_insights_page.json")))
    (only,) = run(session, http, Window(datetime(2024, 3, 1), datetime(2024, 3, 2)))
    assert only.entity == "meta_ad_insights"
    assert only.records == [
        {"account_id": 1234567890, "campaign_id": 23851234567890123, "campaign_name": "Spring sale - prospecting",
         "date_start": date(2024, 3, 1), "date_stop": date(2024, 3, 1), "impressions": 361324, "clicks": 2211,
         "spend": Decimal("5339.5"), "purchases": 37, "purchase_value": Decimal("3102.45"),
         "account_currency": "EUR"},
        {"account_id": 1234567890, "campaign_id": 23851234567890999, "campaign_name": "Retargeting",
         "date_start": date(2024, 3, 1), "date_stop": date(2024, 3, 1), "impressions": 1200, "clicks": 14,
         "spend": Decimal("21.07"), "purchases": 0, "purchase_value": Decimal(0), "account_currency": "EUR"},
    ]


def test_a_connection_without_an_ad_account_fails_naming_the_field(http):
    conn = Connection("narrowcast_meta", "https://graph.facebook.com", password="x")
    with pytest.raises(ValueError, match="'narrowcast_meta' has no extra field 'ad_account_id'"):
        list(extract(conn, Window(datetime(2024, 3, 1), datetime(2024, 3, 2)),
                     client=MetaClient.from_connection(conn, **http(FakeSession()))))
