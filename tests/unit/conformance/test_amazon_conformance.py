"""Requests the Amazon connectors send, validated against schemas written from Amazon's selling-partner-api-models
(ordersV0.json, listingsItems_2021-08-01.json, feeds_2021-06-30.json, the JSON_LISTINGS_FEED schema) and the S3
pre-signed URL rules."""

from __future__ import annotations

from datetime import datetime

import pytest
from conformance_recording import connection, send_context
from conformance_schemas import NO_AMZ_HEADERS, UTC_INSTANT, lower_keys, violations

from narrowcast.activation.destinations.amazon_listings import AmazonListings
from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.contracts.windows import Window
from narrowcast.sources.amazon import extract

SP_API_HEADERS = {"type": "object", "required": ["x-amz-access-token"],
                  "properties": {"x-amz-access-token": {"type": "string", "minLength": 1}}}
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


def test_get_orders_and_order_items_requests_follow_the_orders_v0_model(sandbox, emulators, sent):
    conn = connection(sandbox, "narrowcast_amazon", "amazon", marketplace_ids="A1PA6795UKMFR9")
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
