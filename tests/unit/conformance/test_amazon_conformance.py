"""Requests the Amazon connectors send, validated against schemas written from Amazon's selling-partner-api-models
(orders_2026-01-01.json, ordersV0.json, listingsItems_2021-08-01.json, feeds_2021-06-30.json, the
JSON_LISTINGS_FEED schema) and the S3 pre-signed URL rules; and the Orders emulator's searchOrders answers,
validated against the same Orders 2026-01-01 facts."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from conformance_recording import connection, send_context
from conformance_schemas import NO_AMZ_HEADERS, UTC_INSTANT, lower_keys, violations

from narrowcast.activation.destinations.amazon_listings import AmazonListings
from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.contracts.windows import Window
from narrowcast.sources.amazon import extract

SP_API_HEADERS = {"type": "object", "required": ["x-amz-access-token"],
                  "properties": {"x-amz-access-token": {"type": "string", "minLength": 1}}}
# orders_2026-01-01.json searchOrders (GET /orders/2026-01-01/orders). Query parameters, arrays comma-separated
# (Swagger 2.0's default collectionFormat): exactly one of createdAfter and lastUpdatedAfter; createdAfter/
# createdBefore exclude lastUpdatedAfter/lastUpdatedBefore; marketplaceIds at most 50; maxResultsPerPage 1..100;
# includedData from its enum; paginationToken with the other parameters repeated.
INCLUDED_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                 "TAX", "PAYMENT", "FULFILLMENT_ORDERS"]
FULFILLMENT_STATUSES = ["PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
                        "UNFULFILLABLE"]


def csv_of(values: list[str], max_items: int | None = None) -> dict:
    one = "(" + "|".join(values) + ")"
    repeat = "*" if max_items is None else f"{{0,{max_items - 1}}}"
    return {"type": "string", "pattern": f"^{one}(,{one}){repeat}$"}


SEARCH_ORDERS_QUERY = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "createdAfter": {"type": "string", "pattern": UTC_INSTANT},
        "createdBefore": {"type": "string", "pattern": UTC_INSTANT},
        "lastUpdatedAfter": {"type": "string", "pattern": UTC_INSTANT},
        "lastUpdatedBefore": {"type": "string", "pattern": UTC_INSTANT},
        "fulfillmentStatuses": csv_of(FULFILLMENT_STATUSES),
        "marketplaceIds": {"type": "string", "pattern": r"^[A-Z0-9]+(,[A-Z0-9]+){0,49}$"},
        "fulfilledBy": csv_of(["MERCHANT", "AMAZON"]),
        "maxResultsPerPage": {"type": "string", "pattern": r"^(100|[1-9][0-9]?)$"},
        "paginationToken": {"type": "string", "minLength": 1},
        "includedData": csv_of(INCLUDED_DATA),
    },
    "oneOf": [{"required": ["createdAfter"]}, {"required": ["lastUpdatedAfter"]}],
    "if": {"anyOf": [{"required": ["createdAfter"]}, {"required": ["createdBefore"]}]},
    "then": {"not": {"anyOf": [{"required": ["lastUpdatedAfter"]}, {"required": ["lastUpdatedBefore"]}]}},
}
# Response definitions, required fields and the properties each object may have (a field outside them is one the
# document does not define). Money.amount is a Decimal string.
DATE_TIME = {"type": "string", "pattern": UTC_INSTANT}
MONEY = {"type": "object", "required": ["amount", "currencyCode"], "additionalProperties": False,
         "properties": {"amount": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
                        "currencyCode": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
BREAKDOWN = {"type": "object", "required": ["type", "subtotal"],
             "properties": {"type": {"type": "string"}, "subtotal": MONEY}}
ORDER_ITEM = {
    "type": "object", "required": ["orderItemId", "quantityOrdered", "product"], "additionalProperties": False,
    "properties": {
        "orderItemId": {"type": "string"}, "quantityOrdered": {"type": "integer"},
        "measurement": {"type": "object"}, "associatedOrderItems": {"type": "array"},
        "programs": {"type": "array", "items": {"enum": ["TRANSPARENCY", "SUBSCRIBE_AND_SAVE"]}},
        "product": {"type": "object", "additionalProperties": False, "properties": {
            "asin": {"type": "string"}, "title": {"type": "string"}, "sellerSku": {"type": "string"},
            "condition": {"type": "object"}, "serialNumbers": {"type": "array"}, "customization": {"type": "object"},
            "price": {"type": "object", "additionalProperties": False,
                      "properties": {"unitPrice": MONEY, "priceDesignation": {"const": "BUSINESS_PRICE"}}}}},
        "proceeds": {"type": "object", "additionalProperties": False,
                     "properties": {"proceedsTotal": MONEY, "breakdowns": {"type": "array", "items": BREAKDOWN}}},
        "expense": {"type": "object"}, "promotion": {"type": "object"}, "cancellation": {"type": "object"},
        "fulfillment": {"type": "object", "properties": {"quantityFulfilled": {"type": "integer"},
                                                         "quantityUnfulfilled": {"type": "integer"}}},
        "tax": {"type": "object"},
    },
}
ORDER = {
    "type": "object", "required": ["orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems"],
    "additionalProperties": False,
    "properties": {
        "orderId": {"type": "string"},
        "orderAliases": {"type": "array", "items": {"type": "object", "required": ["aliasId", "aliasType"]}},
        "createdTime": DATE_TIME, "lastUpdatedTime": DATE_TIME,
        "programs": {"type": "array", "items": {"type": "string"}},
        "associatedOrders": {"type": "array"},
        "salesChannel": {"type": "object", "required": ["channelName"], "additionalProperties": False,
                         "properties": {"channelName": {"enum": ["AMAZON", "NON_AMAZON"]},
                                        "marketplaceId": {"type": "string"}, "marketplaceName": {"type": "string"}}},
        "buyer": {"type": "object", "additionalProperties": False,
                  "properties": {"buyerName": {"type": "string"}, "buyerEmail": {"type": "string"},
                                 "buyerCompanyName": {"type": "string"},
                                 "buyerPurchaseOrderNumber": {"type": "string"}}},
        "recipient": {"type": "object"},
        "proceeds": {"type": "object", "additionalProperties": False,
                     "properties": {"grandTotal": MONEY, "breakdowns": {"type": "array", "items": BREAKDOWN}}},
        "payment": {"type": "object"}, "tax": {"type": "object"},
        "fulfillment": {"type": "object", "required": ["fulfillmentStatus"],
                        "properties": {"fulfillmentStatus": {"enum": FULFILLMENT_STATUSES},
                                       "fulfilledBy": {"enum": ["AMAZON", "MERCHANT"]},
                                       "fulfillmentServiceLevel": {"type": "string"}}},
        "orderItems": {"type": "array", "items": ORDER_ITEM},
        "packages": {"type": "array"}, "fulfillmentOrders": {"type": "array"},
    },
}
SEARCH_ORDERS_RESPONSE = {
    "type": "object", "required": ["orders"], "additionalProperties": False,
    "properties": {"orders": {"type": "array", "items": ORDER},
                   "pagination": {"type": "object", "additionalProperties": False,
                                  "properties": {"nextToken": {"type": "string", "minLength": 1}}},
                   "lastUpdatedBefore": DATE_TIME, "createdBefore": DATE_TIME},
}
# ErrorList: errors[] of Error {code, message required; details}.
ERROR_LIST = {"type": "object", "required": ["errors"], "properties": {"errors": {
    "type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["code", "message"], "additionalProperties": False,
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "string"}}}}}}
# searchOrders usage plan: 0.0056 requests per second, burst 20.
SEARCH_ORDERS_PLAN = (0.0056, 20)
SEARCH_FIXTURE = Path(__file__).parents[1] / "sources" / "fixtures" / "amazon_search_orders_page.json"

# ordersV0.json getOrders: MarketplaceIds required (≤ 50, comma-separated); a time filter or NextToken;
# MaxResultsPerPage 1..100.
GET_ORDERS_QUERY = {
    "type": "object", "required": ["MarketplaceIds"],
    "properties": {
        "MarketplaceIds": {"type": "string", "pattern": r"^[A-Z0-9]+(,[A-Z0-9]+){0,49}$"},
        "LastUpdatedAfter": {"type": "string", "pattern": UTC_INSTANT},
        "LastUpdatedBefore": {"type": "string", "pattern": UTC_INSTANT},
        "MaxResultsPerPage": {"type": "string", "pattern": r"^(100|[1-9][0-9]?)$"},
        "NextToken": {"type": "string"},
    },
    "anyOf": [{"required": ["LastUpdatedAfter"]}, {"required": ["CreatedAfter"]}, {"required": ["NextToken"]}],
}
# listingsItems_2021-08-01.json patchListingsItem: marketplaceIds query, ListingsItemPatchRequest body.
PATCH_QUERY = {"type": "object", "required": ["marketplaceIds"],
               "properties": {"marketplaceIds": {"type": "string", "minLength": 1},
                              "includedData": {"type": "string", "pattern": r"^(identifiers|issues)(,(identifiers|issues))*$"}}}
PATCH_OPERATION = {"type": "object", "required": ["op", "path"], "additionalProperties": False,
                   "properties": {"op": {"enum": ["add", "replace", "merge", "delete"]},
                                  "path": {"type": "string", "pattern": r"^/attributes/[a-z_]+$"},
                                  "value": {"type": "array", "items": {"type": "object"}}}}
PATCH_BODY = {"type": "object", "required": ["productType", "patches"], "additionalProperties": False,
              "properties": {"productType": {"type": "string", "minLength": 1},
                             "patches": {"type": "array", "minItems": 1, "items": PATCH_OPERATION}}}
# feeds_2021-06-30.json: CreateFeedDocumentSpecification and CreateFeedSpecification.
CREATE_FEED_DOCUMENT = {"type": "object", "required": ["contentType"], "additionalProperties": False,
                        "properties": {"contentType": {"type": "string", "minLength": 1}}}
CREATE_FEED = {"type": "object", "required": ["feedType", "marketplaceIds", "inputFeedDocumentId"],
               "additionalProperties": False,
               "properties": {"feedType": {"type": "string"},
                              "marketplaceIds": {"type": "array", "minItems": 1, "maxItems": 25,
                                                 "items": {"type": "string"}},
                              "inputFeedDocumentId": {"type": "string"},
                              "feedOptions": {"type": "object", "additionalProperties": {"type": "string"}}}}
# The JSON_LISTINGS_FEED schema (listings-feed-schema-v2): header + messages with a positive integer messageId.
LISTINGS_FEED = {
    "type": "object", "required": ["header", "messages"],
    "properties": {
        "header": {"type": "object", "required": ["sellerId", "version"],
                   "properties": {"sellerId": {"type": "string"}, "version": {"const": "2.0"},
                                  "issueLocale": {"type": "string"}}},
        "messages": {"type": "array", "minItems": 1, "maxItems": 25_000, "items": {
            "type": "object", "required": ["messageId", "sku", "operationType"],
            "properties": {"messageId": {"type": "integer", "minimum": 1}, "sku": {"type": "string"},
                           "operationType": {"enum": ["UPDATE", "PARTIAL_UPDATE", "DELETE", "PATCH"]},
                           "productType": {"type": "string"},
                           "patches": {"type": "array", "items": PATCH_OPERATION}},
            "if": {"properties": {"operationType": {"const": "PATCH"}}},
            "then": {"required": ["productType", "patches"]}}},
    },
}


def listing_change(i: int, quantity: int = 3) -> Change:
    return Change(f"SKU-{i:05d}", "add", {"sku": f"SKU-{i:05d}", "quantity": quantity, "price": 19.99,
                                          "currency": "EUR", "status": "active"})


def order_lines(count: int) -> list[dict]:
    """World-shaped order lines in March 2024: shipped, unshipped and cancelled, in two marketplaces."""
    statuses = ["Shipped", "Unshipped", "Canceled", "Pending"]
    return [{"amazon_order_id": f"302-{n:07d}-0000001", "order_item_id": f"{n:07d}0000001",
             "purchase_date": datetime(2024, 3, 1 + n % 28, n % 24), "last_update_date": datetime(2024, 3, 1 + n % 28,
                                                                                               n % 24, 30),
             "order_status": statuses[n % 4], "marketplace_id": "A1PA6795UKMFR9" if n % 3 else "A13V1IB3VIYZZH",
             "buyer_email": f"x{n}@marketplace.amazon.de", "seller_sku": f"SKU-{n % 7:03d}",
             "quantity_ordered": 1 + n % 2, "quantity_shipped": 1 + n % 2 if n % 4 == 0 else 0,
             "item_price": Decimal(f"{10 + n % 50}.90"), "currency": "EUR"} for n in range(count)]


def test_search_orders_requests_and_answers_follow_the_orders_2026_01_01_model(sandbox, emulators, sent):
    # GIVEN 250 orders in March, and a connection on the default version with the role that allows the e-mail
    emulators["amazon_orders"].seed_orders(order_lines(250))
    conn = connection(sandbox, "narrowcast_amazon", "amazon", marketplace_ids="A1PA6795UKMFR9,A13V1IB3VIYZZH",
                      restricted_roles="Direct-to-Consumer Delivery (Restricted)")
    # WHEN a month is extracted (several pages)
    rows = [r for p in extract(conn, Window(datetime(2024, 3, 1), datetime(2024, 4, 1))) if p.entity == "amazon_orders"
            for r in p.records]
    calls = [s for s in sent if s.path.endswith("/orders/2026-01-01/orders")]
    assert len(rows) == 250 and len(calls) == len(sent) == 3
    for call in calls:
        # THEN each request is a searchOrders one, and each answer a SearchOrdersResponse
        assert call.method == "GET" and call.body is None
        assert violations(SEARCH_ORDERS_QUERY, call.query) == []
        assert violations(SP_API_HEADERS, lower_keys(call.headers)) == []
        assert call.status == 200 and violations(SEARCH_ORDERS_RESPONSE, call.answer) == []
        assert {"x-amzn-ratelimit-limit", "x-amzn-requestid"} <= set(lower_keys(call.answer_headers))
    # AND a token's request repeats every other parameter of the first one
    first = {k: v for k, v in calls[0].query.items() if k not in ("maxResultsPerPage", "includedData")}
    for call in calls[1:]:
        assert {k: v for k, v in call.query.items() if k not in ("maxResultsPerPage", "includedData",
                                                                  "paginationToken")} == first


def test_the_hand_written_search_orders_page_the_parser_tests_read_is_a_search_orders_response():
    assert violations(SEARCH_ORDERS_RESPONSE, json.loads(SEARCH_FIXTURE.read_text())) == []


def test_the_client_paces_search_orders_by_its_documented_usage_plan():
    from narrowcast.apis.amazon import USAGE_PLANS, operation_of

    assert operation_of("GET", "/orders/2026-01-01/orders") == "searchOrders"
    assert (USAGE_PLANS["searchOrders"].rate, USAGE_PLANS["searchOrders"].burst) == SEARCH_ORDERS_PLAN


@pytest.mark.parametrize(("query", "headers", "status"), [
    pytest.param({"marketplaceIds": "A1PA6795UKMFR9"}, True, 400, id="neither createdAfter nor lastUpdatedAfter"),
    pytest.param({"lastUpdatedAfter": "2024-03-01T00:00:00Z", "createdAfter": "2024-03-01T00:00:00Z"}, True, 400,
                 id="createdAfter with lastUpdatedAfter"),
    pytest.param({"lastUpdatedAfter": "2024-03-01T00:00:00Z", "maxResultsPerPage": "101"}, True, 400,
                 id="more than 100 results per page"),
    pytest.param({"lastUpdatedAfter": "2024-03-01T00:00:00Z", "includedData": "ITEMS"}, True, 400,
                 id="an includedData value outside the enum"),
    pytest.param({"lastUpdatedAfter": "2024-03-01T00:00:00Z", "lastUpdatedBefore": "2099-01-01T00:00:00Z"}, True,
                 400, id="lastUpdatedBefore within the last two minutes"),
    pytest.param({"lastUpdatedAfter": "2024-03-01T00:00:00Z", "paginationToken": "not-a-token"}, True, 400,
                 id="a token the API did not issue"),
    pytest.param({"lastUpdatedAfter": "2024-03-01T00:00:00Z"}, False, 403, id="an access token refused"),
])
def test_search_orders_refusals_are_error_lists_with_the_documented_statuses(sandbox, emulators, query, headers,
                                                                            status):
    from narrowcast.sandbox.framework import SANDBOX_TOKEN

    token = SANDBOX_TOKEN if headers else "Atza|revoked"
    answer = requests.get(f"{sandbox.url}/amazon/orders/2026-01-01/orders", params=query,
                          headers={"x-amz-access-token": token}, timeout=10)
    assert answer.status_code == status
    assert violations(ERROR_LIST, answer.json()) == []
    assert "x-amzn-RequestId" in answer.headers
    # The document lists x-amzn-RateLimit-Limit on a 400 answer and not on a 403.
    assert ("x-amzn-RateLimit-Limit" in answer.headers) == (status == 400)


def test_a_search_orders_429_is_an_error_list_without_a_rate_header(sandbox, emulators, monkeypatch):
    from narrowcast.sandbox.emulators import amazon as amazon_emulator
    from narrowcast.sandbox.framework import SANDBOX_TOKEN

    monkeypatch.setitem(amazon_emulator.SANDBOX_PLAN, "searchOrders", (0.001, 1.0))
    query = {"lastUpdatedAfter": "2024-03-01T00:00:00Z", "lastUpdatedBefore": "2024-03-02T00:00:00Z"}
    answers = [requests.get(f"{sandbox.url}/amazon/orders/2026-01-01/orders", params=query,
                            headers={"x-amz-access-token": SANDBOX_TOKEN}, timeout=10) for _ in range(2)]
    refused = answers[-1]
    assert refused.status_code == 429
    assert violations(ERROR_LIST, refused.json()) == [] and refused.json()["errors"][0]["code"] == "QuotaExceeded"
    # orders_2026-01-01.json lists only x-amzn-RequestId on a 429.
    assert "x-amzn-RateLimit-Limit" not in refused.headers and "x-amzn-RequestId" in refused.headers


def test_get_orders_and_order_items_requests_follow_the_orders_v0_model(sandbox, emulators, sent):
    conn = connection(sandbox, "narrowcast_amazon", "amazon", marketplace_ids="A1PA6795UKMFR9", api_version="v0")
    list(extract(conn, Window(datetime(2024, 3, 1), datetime(2024, 3, 2))))
    calls = [s for s in sent if s.path.endswith("/orders/v0/orders")]
    assert calls
    for call in calls:
        assert call.method == "GET" and call.body is None
        assert violations(GET_ORDERS_QUERY, call.query) == []
        assert violations(SP_API_HEADERS, lower_keys(call.headers)) == []


@pytest.mark.parametrize("rows", [pytest.param(3, id="patchListingsItem per SKU"),
                                  pytest.param(60, id="a JSON_LISTINGS_FEED")])
def test_listings_requests_follow_the_listings_items_and_feeds_models(sandbox, emulators, sent, rows):
    emulators["amazon_listings"].seed_listings([f"SKU-{i:05d}" for i in range(rows)])
    conn = connection(sandbox, "narrowcast_amazon", "amazon", seller_id="A2SELLER", marketplace_id="A1PA6795UKMFR9",
                      feed_threshold=50)
    destination = AmazonListings(send_context(conn, {}, "listing"))
    results = destination.send(Batch("run", "upsert", 1, 1, [listing_change(i) for i in range(rows)]))
    assert {r.outcome for r in results} == {"accepted"}
    for call in sent:
        headers = lower_keys(call.headers)
        if "/_uploads/" in call.path:
            # A pre-signed S3 URL: no SP-API header (S3 refuses unsigned x-amz-*), the content type it was made for
            assert violations(NO_AMZ_HEADERS, call.headers) == []
            if call.method == "PUT":
                assert headers["content-type"] == "application/json; charset=UTF-8"
                assert violations(LISTINGS_FEED, call.body) == []
            continue
        assert violations(SP_API_HEADERS, headers) == []
        if call.method == "PATCH":
            assert violations(PATCH_QUERY, call.query) == [] and violations(PATCH_BODY, call.body) == []
        elif call.path.endswith("/feeds/2021-06-30/documents"):
            assert violations(CREATE_FEED_DOCUMENT, call.body) == []
        elif call.path.endswith("/feeds/2021-06-30/feeds"):
            assert violations(CREATE_FEED, call.body) == []
    assert any(c.method == ("PATCH" if rows < 50 else "PUT") for c in sent)
