"""Google Ads connector against a fake HTTP layer: GAQL body, headers, batches, proto3 zero defaults."""

from __future__ import annotations

from datetime import date, datetime

from fake_http import FakeSession, fixture, reply

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.sources.google_ads import GoogleAdsClient, extract

CONN = Connection("narrowcast_google_ads", "https://googleads.googleapis.com", password="ya29.secret",
                  extra={"developer_token": "dev-tok", "customer_id": "987-654-3210",
                         "login_customer_id": "111-222-3333", "api_version": "v26"})
WINDOW = Window(datetime(2024, 2, 27), datetime(2024, 3, 2))


def run(session: FakeSession, http) -> list:
    return list(extract(CONN, WINDOW, client=GoogleAdsClient.from_connection(CONN, **http(session))))


def test_the_request_posts_gaql_for_the_window_days_with_the_three_auth_headers(http):
    session = FakeSession(reply(body=[{"fieldMask": "campaign.id", "requestId": "r1"}]))
    pages = run(session, http)
    sent = session.sent[0]
    assert sent.method == "POST"
    assert sent.url == "https://googleads.googleapis.com/v26/customers/9876543210/googleAds:searchStream"
    assert "FROM campaign WHERE segments.date BETWEEN '2024-02-27' AND '2024-03-01'" in sent.json["query"]
    assert sent.headers["Authorization"] == "Bearer ya29.secret"
    assert sent.headers["developer-token"] == "dev-tok"
    assert sent.headers["login-customer-id"] == "1112223333"
    assert [p.records for p in pages] == [[]]


def test_a_search_stream_batch_parses_into_the_raw_columns_with_missing_metrics_as_zero(http):
    (only,) = run(FakeSession(reply(body=fixture("google_ads_search_stream.json"))), http)
    assert only.source_ref == "POST /v26/customers/9876543210/googleAds:searchStream batch 1"
    assert only.records == [
        {"customer_id": 9876543210, "campaign_id": 17123456789, "campaign_name": "Brand - Search",
         "segments_date": date(2024, 3, 1), "impressions": 9032, "clicks": 431, "cost_micros": 285120000,
         "conversions": 12.5, "conversions_value": 1830.25},
        {"customer_id": 9876543210, "campaign_id": 17123456790, "campaign_name": "Generic - Shoes",
         "segments_date": date(2024, 3, 1), "impressions": 120, "clicks": 0, "cost_micros": 0,
         "conversions": 0.0, "conversions_value": 0.0},
    ]


def test_every_batch_of_the_stream_becomes_one_page(http):
    batch = fixture("google_ads_search_stream.json")[0]
    pages = run(FakeSession(reply(body=[batch, batch, batch])), http)
    assert [len(p.records) for p in pages] == [2, 2, 2]
    assert [p.source_ref.rsplit(" ", 1)[1] for p in pages] == ["1", "2", "3"]
