"""Requests the Shopify inventory destination sends, validated against schemas written from Shopify's GraphQL
Admin reference (InventorySetQuantitiesInput, InventoryQuantityInput, nodes) and the 2026-04 compare-and-set
changelog."""

from __future__ import annotations

import re

from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.shopify_inventory import ShopifyInventory

TOKEN = {"type": "object", "required": ["x-shopify-access-token"],
         "properties": {"x-shopify-access-token": {"type": "string", "minLength": 1}}}
INVENTORY_ITEM_GID = {"type": "string", "pattern": r"^gid://shopify/InventoryItem/[0-9]+$"}
LOCATION_GID = {"type": "string", "pattern": r"^gid://shopify/Location/[0-9]+$"}
# GraphQL's Int is a signed 32-bit integer.
INT = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
# InventoryQuantityInput from 2026-04: inventoryItemId ID!, locationId ID!, quantity Int!, and changeFromQuantity
# Int, which "must" be passed (null only to opt out) although the schema does not mark it non-null; compareQuantity
# is removed (https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities).
# A quantity is refused below 0 and above 1,000,000,000 (InventorySetQuantitiesUserErrorCode
# INVALID_QUANTITY_NEGATIVE / INVALID_QUANTITY_TOO_HIGH). This destination always compares, so never sends null.
QUANTITY_INPUT = {
    "type": "object", "additionalProperties": False,
    "required": ["inventoryItemId", "locationId", "quantity", "changeFromQuantity"],
    "properties": {"inventoryItemId": INVENTORY_ITEM_GID, "locationId": LOCATION_GID,
                   "quantity": {**INT, "minimum": 0, "maximum": 1_000_000_000},
                   "changeFromQuantity": INT},
}
# InventorySetQuantitiesInput (https://shopify.dev/docs/api/admin-graphql/latest/input-objects/InventorySetQuantitiesInput):
# name String! ("available" or "on_hand"), quantities [InventoryQuantityInput!]!, reason String!,
# referenceDocumentUri String; ignoreCompareQuantity is removed from 2026-04 (changelog above). Input arrays hold
# at most 250 items (https://shopify.dev/docs/api/usage/limits).
SET_QUANTITIES_VARIABLES = {
    "type": "object", "required": ["input"], "additionalProperties": False,
    "properties": {"input": {
        "type": "object", "required": ["name", "quantities", "reason"], "additionalProperties": False,
        "properties": {"name": {"enum": ["available", "on_hand"]},
                       "reason": {"type": "string", "minLength": 1},
                       "referenceDocumentUri": {"type": "string"},
                       "quantities": {"type": "array", "minItems": 1, "maxItems": 250, "items": QUANTITY_INPUT}}}},
}
# nodes(ids: [ID!]!) with at most 250 ids, and inventoryLevel(locationId: ID!).
READ_VARIABLES = {
    "type": "object", "required": ["ids", "locationId"], "additionalProperties": False,
    "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": 250, "items": INVENTORY_ITEM_GID},
                   "locationId": LOCATION_GID},
}
GRAPHQL_BODY = {"type": "object", "required": ["query", "variables"],
                "properties": {"query": {"type": "string", "minLength": 1}, "variables": {"type": "object"}}}


def test_inventory_requests_follow_the_graphql_admin_reference(sandbox, emulators, sent):
    emulators["shopify_inventory"].seed_items([900000 + i for i in range(300)])
    emulators["shopify_inventory"].set_level(900003, 2)
    conn = connection(sandbox, "narrowcast_shopify", "shopify", location_id="1")
    destination = ShopifyInventory(send_context(conn, {}, "inventory_level"))
    changes = [Change(f"SKU-{i:05d}", "add", {"inventory_item_id": str(900000 + i), "available": i % 7})
               for i in range(300)]
    changes[5] = Change("SKU-00005", "remove", {"inventory_item_id": "900005", "available": 4})
    results = destination.send(Batch("run", "upsert", 1, 1, changes))
    assert {r.outcome for r in results} == {"accepted"}
    mutations = [c for c in sent if "inventorySetQuantities" in c.body["query"]]
    reads = [c for c in sent if c not in mutations]
    assert len(mutations) == 2 and len(reads) == 2
    for call in sent:
        assert call.method == "POST" and call.path.endswith("/graphql.json")
        assert violations(TOKEN, lower_keys(call.headers)) == [] and violations(GRAPHQL_BODY, call.body) == []
    for call in mutations:
        assert violations(SET_QUANTITIES_VARIABLES, call.body["variables"]) == []
        # required from 2026-04: https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations
        assert re.search(r'inventorySetQuantities\(input: \$input\) @idempotent\(key: "[^"]+"\)', call.body["query"])
    for call in reads:
        assert violations(READ_VARIABLES, call.body["variables"]) == []


def test_the_schema_refuses_the_inputs_2026_04_removed():
    quantity = {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/1",
                "quantity": 3}
    legacy = {"input": {"name": "available", "reason": "correction", "ignoreCompareQuantity": True,
                        "quantities": [quantity]}}
    assert any("ignoreCompareQuantity" in v for v in violations(SET_QUANTITIES_VARIABLES, legacy))
    assert any("changeFromQuantity" in v for v in violations(SET_QUANTITIES_VARIABLES, legacy))
