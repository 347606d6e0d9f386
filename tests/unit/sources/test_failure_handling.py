"""Every connector classifies failures the same way: 401/other 4xx fatal with the API's own message, 429, 5xx
and timeouts retried (waiting as long as the API asked), each API speaking its own error envelope."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import requests
from fake_http import FakeSession, fixture, reply

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError, HttpClient, RetriableApiError
from narrowcast.sources import amazon, ebay, google_ads, meta_ads, shopify

WINDOW = Window(datetime(2024, 3, 1), datetime(2024, 3, 2))
TOKEN = "tok-do-not-log"


@dataclass
class Api:
    name: str
    module: Any
    client: type[HttpClient]
    conn: Connection
    ok: Callable[[], list[requests.Response]]  # a complete successful run yielding one record
    entity: str
    unauthorized: requests.Response
    api_message: str
    rate_limited: requests.Response
    asked_wait: float
    server_error: requests.Response

    def run(self, session: FakeSession, http: Callable[[FakeSession], dict]) -> list:
        client = self.client.from_connection(self.conn, **http(session))
        return list(self.module.extract(self.conn, WINDOW, client=client))


def shopify_ok() -> list[requests.Response]:
    page = fixture("shopify_orders_page.json")
    page["data"]["orders"]["pageInfo"]["hasNextPage"] = False
    nothing = {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}

    def counted(field: str, count: int) -> requests.Response:  # the window is counted before it is read
        return reply(body={"data": {field: {"count": count, "precision": "EXACT"}}})

    return [counted("ordersCount", 1), reply(body=page), counted("customersCount", 0),
            reply(body={"data": {"customers": nothing}}), counted("productsCount", 0),
            reply(body={"data": {"products": nothing}})]


def amazon_ok() -> list[requests.Response]:
    page = fixture("amazon_search_orders_page.json")
    page["orders"] = page["orders"][:1]
    return [reply(body=page)]


def meta_page() -> dict:
    page = fixture("meta_insights_page.json")
    page["data"] = page["data"][:1]
    return page


def google_stream() -> list:
    stream = fixture("google_ads_search_stream.json")
    stream[0]["results"] = stream[0]["results"][:1]
    return stream


def graph_error(code: int, message: str, subcode: int | None = None) -> dict:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "error_subcode": subcode,
                      "fbtrace_id": "AbCdEf"}}


def google_error(status_code: int, status: str, message: str, details: list | None = None) -> dict:
    return {"error": {"code": status_code, "message": message, "status": status, "details": details or []}}


APIS = [
    Api("shopify", shopify, shopify.ShopifyClient,
        Connection("narrowcast_shopify", "https://acme.myshopify.com", password=TOKEN),
        shopify_ok, "shop_orders",
        reply(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        "Invalid API key or access token",
        # GraphQL throttling: HTTP 200 + THROTTLED; the wait is (requested - available) / restoreRate.
        reply(body=fixture("shopify_throttled.json")), 4.0,
        reply(503, {"errors": "Service Unavailable"})),
    Api("meta", meta_ads, meta_ads.MetaClient,
        Connection("narrowcast_meta", "https://graph.facebook.com", password=TOKEN,
                   extra={"ad_account_id": "act_1234567890"}),
        lambda: [reply(body=meta_page())], "meta_ad_insights",
        reply(401, graph_error(190, "Invalid OAuth access token - Cannot parse access token")),
        "Invalid OAuth access token",
        # Meta's rate limit is HTTP 400 + code 17; the wait comes from the Business-Use-Case header (minutes).
        reply(400, graph_error(17, "(#17) User request limit reached", 2446079), {
            "X-Business-Use-Case-Usage": json.dumps({"1234567890": [{"type": "ads_insights", "call_count": 98,
                                                                     "estimated_time_to_regain_access": 1}]})}),
        60.0,
        reply(500, graph_error(2, "An unexpected error has occurred. Please retry your request later."))),
    Api("google ads", google_ads, google_ads.GoogleAdsClient,
        Connection("narrowcast_google_ads", "https://googleads.googleapis.com", password=TOKEN,
                   extra={"developer_token": "dev-tok", "customer_id": "987-654-3210",
                          "login_customer_id": "111-222-3333"}),
        lambda: [reply(body=google_stream())], "google_ads_campaign_stats",
        reply(401, google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")),
        "invalid authentication credentials",
        reply(429, google_error(429, "RESOURCE_EXHAUSTED", "Too many requests.", [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}])), 7.0,
        reply(503, google_error(503, "UNAVAILABLE", "The service is currently unavailable."))),
    Api("ebay", ebay, ebay.EbayClient, Connection("narrowcast_ebay", "https://api.ebay.com", password=TOKEN),
        lambda: [reply(body=fixture("ebay_orders_page.json"))], "ebay_orders",
        reply(401, {"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                                "message": "Invalid access token",
                                "longMessage": "Invalid access token. Check the value of the Authorization HTTP "
                                               "request header."}]}),
        "Check the value of the Authorization HTTP request header",
        reply(429, {"errors": [{"errorId": 2001, "domain": "ACCESS", "category": "REQUEST",
                                "message": "Too many requests."}]}, {"Retry-After": "3"}), 3.0,
        reply(500, {"errors": [{"errorId": 30500, "domain": "API_FULFILLMENT", "category": "APPLICATION",
                                "message": "System error."}]})),
    Api("amazon", amazon, amazon.AmazonClient,
        Connection("narrowcast_amazon", "https://sellingpartnerapi-eu.amazon.com", password=TOKEN,
                   extra={"marketplace_ids": "A1PA6795UKMFR9", "seller_id": "A2SELLER"}),
        amazon_ok, "amazon_orders",
        reply(403, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                "details": "The access token you provided is revoked, malformed or invalid."}]}),
        "Access to requested resource is denied",
        # SP-API states the allowed rate, not a wait: 0.5 requests/second → 2 seconds.
        reply(429, {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota.", "details": ""}]},
              {"x-amzn-RateLimit-Limit": "0.5"}), 2.0,
        reply(500, {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]})),
]
BY_API = [pytest.param(api, id=api.name) for api in APIS]


def records(pages: list, entity: str) -> list[dict]:
    return [r for p in pages if p.entity == entity for r in p.records]


@pytest.mark.parametrize("api", BY_API)
def test_an_auth_failure_is_fatal_at_once_with_the_api_message_and_no_token(api: Api, http, waits):
    session = FakeSession(api.unauthorized)
    with pytest.raises(FatalApiError) as caught:
        api.run(session, http)
    assert api.api_message in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value.url)
    assert len(session.sent) == 1 and waits == []


@pytest.mark.parametrize("api", BY_API)
def test_a_rate_limit_is_retried_after_the_wait_the_api_asked_for(api: Api, http, waits):
    session = FakeSession(api.rate_limited, *api.ok())
    pages = api.run(session, http)
    assert len(records(pages, api.entity)) == 1
    assert waits == [api.asked_wait]
    assert session.sent[0].url == session.sent[1].url and session.sent[0].query == session.sent[1].query


@pytest.mark.parametrize("api", BY_API)
def test_a_server_error_is_retried_with_backoff(api: Api, http, waits):
    pages = api.run(FakeSession(api.server_error, *api.ok()), http)
    assert len(records(pages, api.entity)) == 1
    assert len(waits) == 1 and 0 < waits[0] <= 0.02


@pytest.mark.parametrize("api", BY_API)
def test_a_timeout_is_retried(api: Api, http, waits):
    pages = api.run(FakeSession(requests.ReadTimeout("read timed out"), *api.ok()), http)
    assert len(records(pages, api.entity)) == 1
    assert len(waits) == 1


@pytest.mark.parametrize("api", BY_API)
def test_retries_stop_after_the_policy_limit_with_the_api_message(api: Api, http, waits):
    session = FakeSession(api.server_error, api.server_error, api.server_error)
    with pytest.raises(RetriableApiError, match="gave up after 3 attempts"):
        api.run(session, http)
    assert len(session.sent) == 3 and len(waits) == 2


@pytest.mark.parametrize(("api", "response", "message"), [
    pytest.param(APIS[1], reply(400, graph_error(100, "(#100) time_range is malformed")),
                 "(#100) time_range is malformed (type OAuthException, code 100", id="meta code 100 on HTTP 400 is fatal"),
    pytest.param(APIS[2], reply(400, google_error(400, "INVALID_ARGUMENT", "Unrecognized field in the query")),
                 "INVALID_ARGUMENT: Unrecognized field in the query", id="google ads INVALID_ARGUMENT is fatal"),
    pytest.param(APIS[0], reply(400, {"errors": {"query": "Required parameter missing or invalid"}}),
                 "query: Required parameter missing or invalid",
                 id="shopify parameter errors are fatal and name the parameter"),
    pytest.param(APIS[4], reply(400, {"errors": [{"code": "InvalidInput", "message": "Invalid MarketplaceIds"}]}),
                 "InvalidInput: Invalid MarketplaceIds", id="amazon InvalidInput is fatal"),
])
def test_other_client_errors_are_fatal_with_the_api_message(api: Api, response, message: str, http, waits):
    with pytest.raises(FatalApiError) as caught:
        api.run(FakeSession(response), http)
    assert "HTTP 400" in str(caught.value) and message in str(caught.value)
    assert waits == []


@pytest.mark.parametrize("code", [pytest.param(c, id=f"meta code {c} is a rate limit") for c in (4, 17, 613, 80004)])
def test_meta_rate_limit_codes_on_http_400_are_retriable(code: int, http, waits):
    api = APIS[1]
    limited = reply(400, graph_error(code, f"(#{code}) Too many calls"), {"Retry-After": "5"})
    pages = api.run(FakeSession(limited, *api.ok()), http)
    assert len(records(pages, api.entity)) == 1 and waits == [5.0]
