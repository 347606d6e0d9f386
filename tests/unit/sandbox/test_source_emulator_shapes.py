"""The source emulators speak each API's own wire format: auth failures, fault switches, validation errors,
pagination details (raw HTTP against the sandbox, no connector in between)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests
from tiny_world import GOOGLE_CUSTOMER, META_ACCOUNT

from narrowcast.sandbox.emulators.google_ads import QueryError, parse_query
from narrowcast.sandbox.framework import SANDBOX_TOKEN

GOOD = {
    "shopify": ("POST", "/shopify/admin/api/2026-10/graphql.json", {"X-Shopify-Access-Token": SANDBOX_TOKEN},
                {"query": "{ shop { name } }"}),
    "meta": ("GET", f"/meta/v27.0/act_{META_ACCOUNT}/insights?access_token={SANDBOX_TOKEN}&level=campaign&"
                    'time_increment=1&time_range={"since":"2024-03-01","until":"2024-03-01"}', {}, None),
    "google_ads": ("POST", f"/google_ads/v26/customers/{GOOGLE_CUSTOMER}/googleAds:searchStream",
                   {"Authorization": f"Bearer {SANDBOX_TOKEN}", "developer-token": "dev"},
                   {"query": "SELECT campaign.id FROM campaign"}),
    "ebay": ("GET", "/ebay/sell/fulfillment/v1/order", {"Authorization": f"Bearer {SANDBOX_TOKEN}"}, None),
    "amazon": ("GET", "/amazon/orders/v0/orders?MarketplaceIds=A1PA6795UKMFR9&LastUpdatedAfter=2024-01-01T00:00:00Z",
               {"x-amz-access-token": SANDBOX_TOKEN}, None),
}


def call(sandbox, api: str, *, headers: dict | None = None, path: str | None = None, body=None) -> requests.Response:
    method, good_path, good_headers, good_body = GOOD[api]
    return requests.request(method, sandbox.url + (path or good_path),
                            headers=good_headers if headers is None else headers,
                            json=good_body if body is None else body, timeout=10)


@pytest.mark.parametrize(("api", "status", "check"), [
    pytest.param("shopify", 401, lambda b: "Invalid API key or access token" in b["errors"],
                 id="shopify answers 401 with its errors string"),
    pytest.param("meta", 401, lambda b: b["error"]["code"] == 190 and b["error"]["type"] == "OAuthException",
                 id="meta answers a Graph OAuthException code 190"),
    pytest.param("google_ads", 401, lambda b: b["error"]["status"] == "UNAUTHENTICATED",
                 id="google ads answers UNAUTHENTICATED"),
    pytest.param("ebay", 401, lambda b: b["errors"][0]["errorId"] == 1001, id="ebay answers errorId 1001"),
    pytest.param("amazon", 403, lambda b: b["errors"][0]["code"] == "Unauthorized",
                 id="amazon answers 403 Unauthorized"),
])
def test_a_missing_credential_gets_the_apis_own_auth_error(sandbox, api, status, check):
    response = call(sandbox, api, headers={}, path=GOOD[api][1].replace(f"access_token={SANDBOX_TOKEN}", ""))
    assert response.status_code == status
    assert check(response.json())


@pytest.mark.parametrize("api", [pytest.param(a, id=a) for a in GOOD])
def test_the_good_request_of_each_api_succeeds(sandbox, api):
    assert call(sandbox, api).status_code == 200


@pytest.mark.parametrize(("api", "status", "check"), [
    pytest.param("shopify", 429, lambda r: r.headers["Retry-After"] == "2.0"
                 and "Exceeded" in r.json()["errors"], id="shopify 429 with Retry-After"),
    pytest.param("meta", 400, lambda r: r.json()["error"]["code"] == 17 and
                 "estimated_time_to_regain_access" in r.headers["X-Business-Use-Case-Usage"],
                 id="meta HTTP 400 code 17 with the business use case header"),
    pytest.param("google_ads", 429, lambda r: r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
                 and r.json()["error"]["details"][-1]["retryDelay"] == "2s", id="google RESOURCE_EXHAUSTED with retryDelay"),
    pytest.param("ebay", 429, lambda r: r.json()["errors"][0]["errorId"] == 2001, id="ebay 429 errorId 2001"),
    pytest.param("amazon", 429, lambda r: r.json()["errors"][0]["code"] == "QuotaExceeded"
                 and float(r.headers["x-amzn-RateLimit-Limit"]) == 0.5, id="amazon QuotaExceeded with rate header"),
])
def test_the_rate_limit_switch_answers_in_the_apis_own_shape(sandbox, api, status, check):
    sandbox.faults(api, rate_limit_share=1.0, retry_after_seconds=2)
    response = call(sandbox, api)
    assert response.status_code == status
    assert check(response)


@pytest.mark.parametrize(("api", "check"), [
    pytest.param("shopify", lambda b: b["errors"] == "Internal Server Error", id="shopify"),
    pytest.param("meta", lambda b: b["error"]["is_transient"] is True, id="meta transient error"),
    pytest.param("google_ads", lambda b: b["error"]["status"] == "UNAVAILABLE", id="google UNAVAILABLE"),
    pytest.param("ebay", lambda b: b["errors"][0]["category"] == "APPLICATION", id="ebay"),
    pytest.param("amazon", lambda b: b["errors"][0]["code"] == "InternalFailure", id="amazon InternalFailure"),
])
def test_the_server_error_switch_answers_5xx_in_the_apis_own_shape(sandbox, api, check):
    sandbox.faults(api, error_share=1.0)
    response = call(sandbox, api)
    assert response.status_code >= 500
    assert check(response.json())


def test_the_auth_failure_switch_refuses_even_the_sandbox_token(sandbox):
    sandbox.faults("ebay", auth_failure=True)
    assert call(sandbox, "ebay").status_code == 401


def meta_get(sandbox, **params: str) -> requests.Response:
    query = {"access_token": SANDBOX_TOKEN, "level": "campaign", "time_increment": "1",
             "time_range": json.dumps({"since": "2024-03-01", "until": "2024-03-02"}), **params}
    return requests.get(f"{sandbox.url}/meta/v27.0/act_{META_ACCOUNT}/insights", params=query, timeout=10)


@pytest.mark.parametrize(("params", "fragment"), [
    pytest.param({"fields": "spend,cost_per_unicorn"}, "cost_per_unicorn is not valid for fields param",
                 id="an unknown field"),
    pytest.param({"time_range": "{\"since\":\"2024-03-05\"}"}, "time_range", id="a time range without until"),
    pytest.param({"level": "ad"}, "level=campaign", id="another level"),
])
def test_meta_rejects_what_it_does_not_serve_with_code_100(sandbox, params, fragment):
    response = meta_get(sandbox, **params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100 and fragment in response.json()["error"]["message"]


def test_meta_returns_numbers_as_strings_only_the_fields_asked_and_paging_next_until_the_end(sandbox):
    first = meta_get(sandbox, fields="campaign_id,spend,date_start", limit="7").json()
    assert set(first["data"][0]) == {"campaign_id", "spend", "date_start"}
    assert isinstance(first["data"][0]["spend"], str)
    assert "next" in first["paging"] and "after" in first["paging"]["cursors"]
    rows, after = len(first["data"]), first["paging"]["cursors"]["after"]
    while True:
        page = meta_get(sandbox, fields="campaign_id", limit="50", after=after).json()
        rows += len(page["data"])
        if "next" not in page["paging"]:
            break
        after = page["paging"]["cursors"]["after"]
    assert rows == 2 * 60


@pytest.mark.parametrize(("query", "since", "until"), [
    pytest.param("SELECT campaign.id, segments.date FROM campaign WHERE segments.date BETWEEN '2024-03-01' "
                 "AND '2024-03-03'", date(2024, 3, 1), date(2024, 3, 3), id="BETWEEN"),
    pytest.param("select campaign.id, segments.date from campaign where segments.date >= '2024-03-01' and "
                 "segments.date < '2024-03-03' order by segments.date desc limit 5", date(2024, 3, 1),
                 date(2024, 3, 2), id="comparisons, lowercase keywords, ORDER BY and LIMIT"),
    pytest.param("SELECT metrics.clicks FROM campaign", date.min, date.max,
                 id="no date filter when segments.date is not selected"),
])
def test_gaql_date_ranges_are_parsed(query, since, until):
    parsed = parse_query(query)
    assert (parsed.since, parsed.until) == (since, until)


@pytest.mark.parametrize(("query", "code"), [
    pytest.param("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE",
                 id="segments.date without a finite range"),
    pytest.param("SELECT ad_group.id FROM campaign", "UNRECOGNIZED_FIELD", id="an unknown field"),
    pytest.param("SELECT campaign.id FROM ad_group", "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE", id="another resource"),
    pytest.param("SELECT campaign.id FROM campaign WHERE campaign.status = 'ENABLED'", "PROHIBITED_FIELD_IN_WHERE_CLAUSE",
                 id="a condition other than the date range"),
    pytest.param("DELETE FROM campaign", "UNEXPECTED_INPUT", id="not a SELECT"),
])
def test_unsupported_gaql_is_refused_with_a_query_error(query, code):
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.code == code


def test_google_ads_answers_invalid_gaql_with_invalid_argument(sandbox):
    response = call(sandbox, "google_ads", body={"query": "SELECT campaign.id, segments.date FROM campaign"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errors"][0]["errorCode"] == {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"}


def test_google_ads_leaves_out_zero_metrics_and_sends_int64_as_strings(sandbox):
    body = {"query": "SELECT campaign.id, segments.date, metrics.clicks, metrics.cost_micros FROM campaign "
                     "WHERE segments.date BETWEEN '2024-03-01' AND '2024-03-10'"}
    (batch,) = call(sandbox, "google_ads", body=body).json()
    results = batch["results"]
    assert len(results) == 300
    assert all(isinstance(r["campaign"]["id"], str) for r in results)
    assert any("clicks" not in r.get("metrics", {}) for r in results)


def test_ebay_pages_carry_total_and_next_and_prev_hrefs(sandbox):
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    url = f"{sandbox.url}/ebay/sell/fulfillment/v1/order"
    first = requests.get(url, params={"limit": 100}, headers=headers, timeout=10).json()
    assert first["total"] == 260 and len(first["orders"]) == 100 and "prev" not in first
    second = requests.get(first["next"], headers=headers, timeout=10).json()
    assert second["offset"] == 100 and "prev" in second
    # getOrders' documented errorIds: 30800 invalid filter value, 30700 invalid filter name, 31100 invalid limit
    bad = requests.get(url, params={"filter": "lastmodifieddate:yesterday"}, headers=headers, timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["errorId"] == 30800
    unknown = requests.get(url, params={"filter": "buyerusername:[a..b]"}, headers=headers, timeout=10)
    assert unknown.json()["errors"][0]["errorId"] == 30700
    too_many = requests.get(url, params={"limit": 201}, headers=headers, timeout=10)
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["errorId"] == 31100


def test_amazon_requires_marketplace_ids_and_answers_unknown_orders_with_not_found(sandbox):
    headers = {"x-amz-access-token": SANDBOX_TOKEN}
    missing = requests.get(f"{sandbox.url}/amazon/orders/v0/orders", headers=headers, timeout=10)
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "InvalidInput"
    unknown = requests.get(f"{sandbox.url}/amazon/orders/v0/orders/999-nope/orderItems", headers=headers, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NotFound"


def test_amazon_refuses_a_last_updated_before_within_the_last_two_minutes(sandbox):
    from datetime import UTC, datetime

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = requests.get(f"{sandbox.url}/amazon/orders/v0/orders", timeout=10,
                            headers={"x-amz-access-token": SANDBOX_TOKEN},
                            params={"MarketplaceIds": "A1PA6795UKMFR9", "LastUpdatedAfter": "2024-01-01T00:00:00Z",
                                    "LastUpdatedBefore": now})
    assert response.status_code == 400
    assert "2 minutes" in response.json()["errors"][0]["message"]
