"""Requests the eBay connectors send, validated against schemas written from eBay's OpenAPI contracts
(sell_fulfillment_v1_oas3: getOrders; sell_inventory_v1_oas3: bulkUpdatePriceQuantity, getOffer, publishOffer,
withdrawOffer)."""

from __future__ import annotations

from datetime import datetime

from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.ebay_inventory import EbayInventory
from narrowcast.contracts.windows import Window
from narrowcast.sources.ebay import extract

BEARER = {"type": "object", "required": ["authorization"],
          "properties": {"authorization": {"type": "string", "pattern": r"^Bearer \S+$"}}}
EBAY_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
# getOrders: filter lastmodifieddate:[from..to] (or creationdate), limit 1..200, offset ≥ 0.
GET_ORDERS_QUERY = {"type": "object", "required": ["filter"],
                    "properties": {"filter": {"type": "string",
                                              "pattern": rf"^(lastmodifieddate|creationdate):\[{EBAY_TIME}\.\.({EBAY_TIME})?\]$"},
                                   "limit": {"type": "string", "pattern": r"^([1-9][0-9]?|1[0-9]{2}|200)$"},
                                   "offset": {"type": "string", "pattern": r"^[0-9]+$"}}}
AMOUNT = {"type": "object", "required": ["currency", "value"], "additionalProperties": False,
          "properties": {"currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                         "value": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$"}}}
# BulkPriceQuantity: up to 25 requests, each with the SKU, its ship-to-location quantity and its offers.
BULK_UPDATE = {
    "type": "object", "required": ["requests"], "additionalProperties": False,
    "properties": {"requests": {"type": "array", "minItems": 1, "maxItems": 25, "items": {
        "type": "object", "required": ["sku"], "additionalProperties": False,
        "properties": {
            "sku": {"type": "string", "minLength": 1, "maxLength": 50},
            "shipToLocationAvailability": {"type": "object", "additionalProperties": False,
                                           "properties": {"quantity": {"type": "integer", "minimum": 0}}},
            "offers": {"type": "array", "items": {
                "type": "object", "required": ["offerId"], "additionalProperties": False,
                "properties": {"offerId": {"type": "string"}, "availableQuantity": {"type": "integer", "minimum": 0},
                               "price": AMOUNT}}}}}}},
}


def offer_change(i: int) -> Change:
    return Change(f"SKU-{i:05d}", "add", {"sku": f"SKU-{i:05d}", "offerId": f"{500000 + i}", "quantity": 3,
                                          "price": 12.5, "currency": "EUR", "status": "active"})


def test_get_orders_requests_follow_the_fulfillment_contract(sandbox, emulators, sent):
    conn = connection(sandbox, "narrowcast_ebay", "ebay")
    list(extract(conn, Window(datetime(2024, 3, 1), datetime(2024, 3, 2))))
    calls = [s for s in sent if s.path.endswith("/sell/fulfillment/v1/order")]
    assert calls
    for call in calls:
        assert call.method == "GET" and call.body is None
        assert violations(GET_ORDERS_QUERY, call.query) == [] and violations(BEARER, lower_keys(call.headers)) == []


def test_inventory_requests_follow_the_sell_inventory_contract(sandbox, emulators, sent):
    emulators["ebay_inventory"].seed_offers([(f"{500000 + i}", f"SKU-{i:05d}") for i in range(30)])
    emulators["ebay_inventory"].offers["500001"]["status"] = "UNPUBLISHED"
    destination = EbayInventory(send_context(connection(sandbox, "narrowcast_ebay", "ebay"), {}, "offer"))
    changes = [offer_change(i) for i in range(27)]
    changes[1] = Change("SKU-00001", "change", {**changes[1].payload}, previous={"status": "withdrawn"})
    changes[2] = Change("SKU-00002", "remove", {**changes[2].payload})
    results = [r for group in (changes[:25], changes[25:])
               for r in destination.send(Batch("run", "upsert", 1, 1, group))]
    assert {r.outcome for r in results} == {"accepted"}
    methods = {(c.method, c.path.rsplit("/", 1)[-1]) for c in sent}
    assert {("POST", "bulk_update_price_quantity"), ("GET", "500001"), ("POST", "publish"),
            ("POST", "withdraw")} <= methods
    for call in sent:
        assert violations(BEARER, lower_keys(call.headers)) == []
        if call.path.endswith("/bulk_update_price_quantity"):
            assert violations(BULK_UPDATE, call.body) == []
        else:
            # getOffer, publishOffer and withdrawOffer take no request payload
            assert call.body is None, call.path
