"""Requests the Etsy connectors send, validated against schemas written from Etsy's Open API v3 reference
(getShopReceipts, getListingInventory, updateListingInventory, updateListing, getShopPaymentAccountLedgerEntries),
its "Request Standards" (the
key and bearer headers) and "Authentication" (the refresh-token grant)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from conformance_recording import send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.etsy import EtsyListings
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources import etsy_finances
from narrowcast.sources.etsy import extract

# Every request: x-api-key = keystring:shared secret; scoped ones: Bearer <numeric user id>.<token>.
HEADERS = {"type": "object", "required": ["x-api-key", "authorization"],
           "properties": {"x-api-key": {"type": "string", "pattern": r"^[^:\s]+:[^:\s]+$"},
                          "authorization": {"type": "string", "pattern": r"^Bearer \d+\.\S+$"}}}
EPOCH = {"type": "string", "pattern": r"^[0-9]{9,10}$"}
# getShopReceipts: unix-second bounds (minimum 946684800), limit 1..100, offset >= 0, sort_on and sort_order enums.
GET_RECEIPTS_QUERY = {"type": "object", "additionalProperties": False,
                      "properties": {"min_last_modified": EPOCH, "max_last_modified": EPOCH,
                                     "min_created": EPOCH, "max_created": EPOCH,
                                     "limit": {"type": "string", "pattern": r"^([1-9][0-9]?|100)$"},
                                     "offset": {"type": "string", "pattern": r"^[0-9]+$"},
                                     "sort_on": {"enum": ["created", "updated", "receipt_id"]},
                                     "sort_order": {"enum": ["asc", "ascending", "desc", "descending", "up",
                                                             "down"]}}}
# getShopPaymentAccountLedgerEntries: min_created and max_created required (unix seconds), limit 1..100, offset >= 0.
GET_LEDGER_ENTRIES_QUERY = {"type": "object", "required": ["min_created", "max_created"], "additionalProperties": False,
                            "properties": {"min_created": EPOCH, "max_created": EPOCH,
                                           "limit": {"type": "string", "pattern": r"^([1-9][0-9]?|100)$"},
                                           "offset": {"type": "string", "pattern": r"^[0-9]+$"}}}
# The refresh grant of a public client: no client secret, in the form or as HTTP Basic.
TOKEN_FORM = {"type": "object", "required": ["grant_type", "client_id", "refresh_token"],
              "additionalProperties": False,
              "properties": {"grant_type": {"const": "refresh_token"}, "client_id": {"type": "string"},
                             "refresh_token": {"type": "string"}}}
PROPERTY_VALUE = {"type": "object", "required": ["property_id", "value_ids"], "additionalProperties": False,
                  "properties": {"property_id": {"type": "integer"}, "value_ids": {"type": "array",
                                                                                   "items": {"type": "integer"}},
                                 "scale_id": {"type": ["integer", "null"]}, "property_name": {"type": "string"},
                                 "values": {"type": "array", "items": {"type": "string"}}}}
# updateListingInventory: the whole inventory; each product's offerings carry price (a number), quantity, is_enabled.
UPDATE_INVENTORY = {
    "type": "object", "required": ["products"], "additionalProperties": False,
    "properties": {
        "products": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["offerings"], "additionalProperties": False,
            "properties": {"sku": {"type": "string"}, "property_values": {"type": "array", "items": PROPERTY_VALUE},
                           "offerings": {"type": "array", "minItems": 1, "items": {
                               "type": "object", "required": ["price", "quantity", "is_enabled"],
                               "additionalProperties": False,
                               "properties": {"price": {"type": "number", "exclusiveMinimum": 0},
                                              "quantity": {"type": "integer", "minimum": 0, "maximum": 999},
                                              "is_enabled": {"type": "boolean"},
                                              "readiness_state_id": {"type": "integer"}}}}}}},
        **{key: {"type": "array", "items": {"type": "integer"}}
           for key in ("price_on_property", "quantity_on_property", "sku_on_property")},
    },
}
UPDATE_LISTING_FORM = {"type": "object", "required": ["state"], "additionalProperties": False,
                       "properties": {"state": {"enum": ["active", "inactive"]}}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["etsy"]) as server:
        yield server


def etsy_connection(sandbox: SandboxServer) -> Connection:
    return Connection("narrowcast_etsy", f"{sandbox.url}/etsy", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
                      extra={"shop_id": "27182818", "refresh_token": LOCAL_REFRESH_TOKEN,
                             "token_url": f"{sandbox.url}/etsy/v3/public/oauth/token", "retry_base_delay": 0.01,
                             "retry_max_delay": 0.05, "timeout_seconds": 5.0})


def test_receipt_requests_follow_get_shop_receipts_and_the_token_grant(sandbox, emulators, sent):
    list(extract(etsy_connection(sandbox), Window(datetime(2026, 3, 1), datetime(2026, 3, 2))))
    token_calls = [s for s in sent if s.path.endswith("/v3/public/oauth/token")]
    receipt_calls = [s for s in sent if s.path.endswith("/shops/27182818/receipts")]
    assert len(token_calls) == 1 and receipt_calls
    assert token_calls[0].method == "POST" and violations(TOKEN_FORM, token_calls[0].body) == []
    assert "authorization" not in lower_keys(token_calls[0].headers)
    assert LOCAL_CLIENT_SECRET not in str(token_calls[0].body)
    for call in receipt_calls:
        assert call.method == "GET" and call.body is None
        assert violations(GET_RECEIPTS_QUERY, call.query) == []
        assert violations(HEADERS, lower_keys(call.headers)) == []
        # The answer carries the headers the client paces itself by ("Rate Limits").
        assert {"x-limit-per-second", "x-remaining-this-second", "x-limit-per-day",
                "x-remaining-today"} <= set(lower_keys(call.answer_headers))


def test_ledger_requests_follow_get_shop_payment_account_ledger_entries(sandbox, emulators, sent):
    entry = {"entry_id": 41000003, "ledger_id": 7700, "sequence_number": 1, "amount": -169, "currency": "EUR",
             "description": "Processing fee", "balance": 0, "create_date": 1772326801,
             "ledger_type": "payment_processing_fee", "reference_type": "payment", "reference_id": "5501"}
    emulators["etsy"].seed_ledger_entries([entry], {"41000003": {"payment_id": 5501, "receipt_id": 3001}})
    list(etsy_finances.extract(etsy_connection(sandbox), Window(datetime(2026, 3, 1), datetime(2026, 3, 2))))
    ledger_calls = [s for s in sent if s.path.endswith("/shops/27182818/payment-account/ledger-entries")]
    payment_calls = [s for s in sent if s.path.endswith("/payment-account/ledger-entries/payments")]
    assert ledger_calls and len(payment_calls) == 1
    for call in ledger_calls:
        assert call.method == "GET" and call.body is None
        assert violations(GET_LEDGER_ENTRIES_QUERY, call.query) == []
    for call in ledger_calls + payment_calls:
        assert violations(HEADERS, lower_keys(call.headers)) == []
    # the payment entry's id reached getPaymentAccountLedgerEntryPayments: its payment came back
    assert payment_calls[0].answer["results"] == [{"payment_id": 5501, "receipt_id": 3001}]


def test_listing_requests_follow_the_inventory_and_listing_contracts(sandbox, emulators, sent):
    etsy = emulators["etsy"]
    for listing in ("601", "602"):
        etsy.seed_listing(listing, [{
            "product_id": 1, "sku": f"SKU-{listing}", "is_deleted": False,
            "property_values": [{"property_id": 513, "property_name": "Colour", "scale_id": None,
                                 "value_ids": [7], "values": ["Blue"]}],
            "offerings": [{"offering_id": 10, "quantity": 3, "is_enabled": True, "is_deleted": False,
                           "price": {"amount": 1250, "divisor": 100, "currency_code": "EUR"}}]}])
    destination = EtsyListings(send_context(etsy_connection(sandbox), {}, "listing_inventory"))
    changes = [Change("SKU-601", "change", {"sku": "SKU-601", "listing_id": "601", "quantity": 5, "price": 13.5},
                      previous={"quantity": 0, "status": "withdrawn"}),
               Change("SKU-602", "change", {"sku": "SKU-602", "listing_id": "602", "quantity": 0, "price": 12.5})]
    assert {r.outcome for r in destination.send(Batch("run", "upsert", 1, 1, changes))} == {"accepted"}
    kinds = {(c.method, c.path.split("/v3/application/")[-1]) for c in sent if "/v3/application/" in c.path}
    assert kinds == {("GET", "listings/601/inventory"), ("PUT", "listings/601/inventory"),
                     ("PATCH", "shops/27182818/listings/601"), ("GET", "listings/602/inventory"),
                     ("PATCH", "shops/27182818/listings/602")}
    for call in sent:
        if "/v3/application/" not in call.path:
            continue
        assert violations(HEADERS, lower_keys(call.headers)) == []
        if call.method == "PUT":
            assert violations(UPDATE_INVENTORY, call.body) == []
        elif call.method == "PATCH":
            # updateListing takes a form body (application/x-www-form-urlencoded)
            assert violations(UPDATE_LISTING_FORM, call.body) == []
        else:
            assert call.body is None


# createDraftListing (form): quantity, title, description, price, who_made, when_made, taxonomy_id required;
# shipping_profile_id "Required when listing type is physical"; who_made and type are enums; tags comma-separated.
CREATE_DRAFT_FORM = {
    "type": "object", "additionalProperties": False,
    "required": ["quantity", "title", "description", "price", "who_made", "when_made", "taxonomy_id",
                 "shipping_profile_id"],
    "properties": {"quantity": {"type": "string", "pattern": r"^[1-9][0-9]*$"},
                   "title": {"type": "string", "minLength": 1, "maxLength": 140},
                   "description": {"type": "string", "minLength": 1},
                   "price": {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$"},
                   "who_made": {"enum": ["i_did", "someone_else", "collective"]},
                   "when_made": {"type": "string", "pattern": r"^(made_to_order|[0-9]{4}_[0-9]{4}|[0-9]{3}0s|before_[0-9]{4})$"},
                   "taxonomy_id": {"type": "string", "pattern": r"^[1-9][0-9]*$"},
                   "shipping_profile_id": {"type": "string", "pattern": r"^[1-9][0-9]*$"},
                   "return_policy_id": {"type": "string", "pattern": r"^[1-9][0-9]*$"},
                   "is_supply": {"enum": ["true", "false"]}, "type": {"enum": ["physical", "download", "both"]},
                   "tags": {"type": "string", "pattern": r"^[\w\s\-'™©®]{1,20}(,[\w\s\-'™©®]{1,20})*$"}}}
# getListingsByShop: state one of the listing states, limit 1..100, offset >= 0.
LISTINGS_BY_SHOP_QUERY = {"type": "object", "additionalProperties": False, "required": ["state"],
                          "properties": {"state": {"enum": ["active", "inactive", "sold_out", "draft", "expired"]},
                                         "limit": {"type": "string", "pattern": r"^([1-9][0-9]?|100)$"},
                                         "offset": {"type": "string", "pattern": r"^[0-9]+$"}}}
# updateListing (form): a content change or a state of active/inactive.
UPDATE_LISTING_CONTENT_FORM = {"type": "object", "additionalProperties": False, "minProperties": 1,
                               "properties": {"state": {"enum": ["active", "inactive"]},
                                              "title": {"type": "string", "minLength": 1, "maxLength": 140},
                                              "description": {"type": "string"},
                                              "taxonomy_id": {"type": "string", "pattern": r"^[1-9][0-9]*$"}}}


def test_listing_creation_requests_follow_the_listing_image_and_inventory_contracts(sandbox, emulators, sent,
                                                                                   monkeypatch):
    from narrowcast.activation.destinations.etsy_listing_content import EtsyListingContent

    conn = etsy_connection(sandbox)
    conn.extra.update(shipping_profile_id="234107945503", who_made="someone_else", when_made="made_to_order")
    destination = EtsyListingContent(send_context(conn, {}, "listing"))
    # the merchant's image host is not under test here: its bytes are a minimal JPEG
    monkeypatch.setattr(destination, "_download", lambda url: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xd9")
    row = {"sku": "LINEN-1", "title": "Linen shirt", "description": "A linen shirt.", "taxonomy_id": "1187",
           "price": 29.99, "quantity": 4, "image_urls": "https://img.example/1.jpg|https://img.example/2.jpg"}
    results = destination.send(Batch("run", "add", 1, 1, [Change("LINEN-1", "add", row)]))
    changed = destination.send(Batch("run", "change", 1, 1, [Change("LINEN-1", "change", {**row, "title": "Linen"}),
                                                             Change("LINEN-1x", "remove", {"sku": "LINEN-1x"})]))
    assert [r.outcome for r in results + changed] == ["accepted"] * 3
    # the shop's listings are read once per run (three states), then each write follows the reference
    calls = [c for c in sent if "/v3/application/" in c.path]
    kinds = [(c.method, re.sub(r"/[0-9]+", "/{id}", c.path.split("/v3/application/")[-1])) for c in calls]
    assert kinds == [("GET", "shops/{id}/listings")] * 3 + [
        # A listing created in this run has no images yet, so none are read before uploading.
        ("POST", "shops/{id}/listings"), ("PUT", "listings/{id}/inventory"),
        ("POST", "shops/{id}/listings/{id}/images"), ("POST", "shops/{id}/listings/{id}/images"),
        ("PATCH", "shops/{id}/listings/{id}"), ("PATCH", "shops/{id}/listings/{id}")]
    for call in calls:
        assert violations(HEADERS, lower_keys(call.headers)) == []
        path = call.path.split("/v3/application/")[-1]
        if call.method == "GET" and path.endswith("/listings"):
            assert violations(LISTINGS_BY_SHOP_QUERY, call.query) == [] and call.body is None
        elif call.method == "POST" and path.endswith("/listings"):
            assert violations(CREATE_DRAFT_FORM, call.body) == []
        elif call.method == "POST":
            # uploadListingImage: multipart/form-data, the file in "image", its position in "rank"
            content_type = lower_keys(call.headers)["content-type"]
            assert content_type.startswith("multipart/form-data; boundary=")
            assert b'name="image"; filename="' in call.body and b'name="rank"' in call.body
        elif call.method == "PATCH":
            assert violations(UPDATE_LISTING_CONTENT_FORM, call.body) == []
        elif call.method == "PUT":
            assert violations(UPDATE_INVENTORY, call.body) == []
