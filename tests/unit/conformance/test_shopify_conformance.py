"""Requests the Shopify source and inventory destination send, validated against facts written from Shopify's
GraphQL Admin reference: the source's queries field by field against the object types they select from (and the
bulk operation restrictions), the destination's variables against InventorySetQuantitiesInput,
InventoryQuantityInput and nodes, and the 2026-04 compare-and-set changelog."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.shopify_inventory import ShopifyInventory
from narrowcast.contracts.windows import Window
from narrowcast.sandbox.emulators.shopify_graphql import Selection, parse
from narrowcast.sources import shopify

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


# ---- the source's queries -----------------------------------------------------------------------------------
# Object types of the GraphQL Admin API 2026-10 (https://shopify.dev/docs/api/admin-graphql/2026-10/objects/<Type>,
# queries/<field>, mutations/<field>), limited to the fields Narrowcast reads: field -> (type it returns, or None
# for a scalar or enum, and the arguments it takes). Connections are <Node>Connection { edges { node cursor }
# nodes pageInfo } with first/after/last/before.
PAGING = {"first", "after", "last", "before", "reverse"}
SEARCHABLE = PAGING | {"query", "sortKey"}
SCALAR = (None, set())
CONNECTIONS = {"OrderConnection": "Order", "CustomerConnection": "Customer", "ProductConnection": "Product",
               "LineItemConnection": "LineItem", "RefundLineItemConnection": "RefundLineItem",
               "ProductVariantConnection": "ProductVariant"}
FACTS: dict[str, dict[str, tuple[str | None, set[str]]]] = {
    "QueryRoot": {"orders": ("OrderConnection", SEARCHABLE | {"savedSearchId"}),
                  "customers": ("CustomerConnection", SEARCHABLE), "products": ("ProductConnection", SEARCHABLE),
                  # bulkOperation(id:) from 2026-01 (https://shopify.dev/changelog/new-queries-for-bulk-operations)
                  "bulkOperation": ("BulkOperation", {"id"}), "shop": ("Shop", set()),
                  # queries/ordersCount (from 2024-07), customersCount, productsCount: query, and limit from 2025-07
                  # (https://shopify.dev/changelog/uncapped-graphql-counts); each returns a Count
                  **dict.fromkeys(("ordersCount", "customersCount", "productsCount"), ("Count", {"query", "limit"}))},
    "Mutation": {"bulkOperationRunQuery": ("BulkOperationRunQueryPayload", {"query", "groupObjects"})},
    # objects/Count: count Int!, precision CountPrecision! (EXACT, AT_LEAST)
    "Count": dict.fromkeys(("count", "precision"), SCALAR),
    "PageInfo": dict.fromkeys(("hasNextPage", "hasPreviousPage", "startCursor", "endCursor"), SCALAR),
    "Order": {**dict.fromkeys(("id", "number", "email", "createdAt", "updatedAt", "processedAt", "cancelledAt",
                               "displayFinancialStatus", "displayFulfillmentStatus", "currencyCode",
                               "presentmentCurrencyCode", "discountCodes", "test", "sourceName", "name"), SCALAR),
              **dict.fromkeys(("subtotalPriceSet", "totalDiscountsSet", "totalTaxSet", "totalShippingPriceSet",
                               "totalPriceSet"), ("MoneyBag", set())),
              "customer": ("Customer", set()), "billingAddress": ("MailingAddress", set()),
              "customerJourneySummary": ("CustomerJourneySummary", set()),
              "lineItems": ("LineItemConnection", PAGING), "refunds": ("Refund", {"first"})},
    "MoneyBag": {"shopMoney": ("MoneyV2", set()), "presentmentMoney": ("MoneyV2", set())},
    "MoneyV2": dict.fromkeys(("amount", "currencyCode"), SCALAR),
    "MailingAddress": dict.fromkeys(("countryCodeV2", "province", "city"), SCALAR),
    "CustomerJourneySummary": {"lastVisit": ("CustomerVisit", set()), "firstVisit": ("CustomerVisit", set())},
    "CustomerVisit": dict.fromkeys(("landingPage", "referrerUrl"), SCALAR),
    "LineItem": {**dict.fromkeys(("id", "sku", "title", "quantity"), SCALAR), "product": ("Product", set()),
                 "variant": ("ProductVariant", set()), "originalUnitPriceSet": ("MoneyBag", set()),
                 "totalDiscountSet": ("MoneyBag", set())},
    "Refund": {**dict.fromkeys(("id", "createdAt"), SCALAR),
               "refundLineItems": ("RefundLineItemConnection", PAGING)},
    "RefundLineItem": {**dict.fromkeys(("id", "quantity"), SCALAR), "lineItem": ("LineItem", set()),
                       "subtotalSet": ("MoneyBag", set())},
    # Customer.email/phone/emailMarketingConsent are deprecated for defaultEmailAddress/defaultPhoneNumber.
    "Customer": {**dict.fromkeys(("id", "firstName", "lastName", "createdAt", "updatedAt", "tags"), SCALAR),
                 "defaultEmailAddress": ("CustomerEmailAddress", set()),
                 "defaultPhoneNumber": ("CustomerPhoneNumber", set()), "defaultAddress": ("MailingAddress", set())},
    "CustomerEmailAddress": dict.fromkeys(("emailAddress", "marketingState", "marketingUpdatedAt"), SCALAR),
    "CustomerPhoneNumber": {"phoneNumber": SCALAR},
    "Product": {**dict.fromkeys(("id", "title", "productType", "vendor", "status", "createdAt", "updatedAt"), SCALAR),
                "variants": ("ProductVariantConnection", PAGING)},
    "ProductVariant": {**dict.fromkeys(("id", "sku", "price", "compareAtPrice"), SCALAR),
                       "inventoryItem": ("InventoryItem", set())},
    "InventoryItem": {"id": SCALAR},
    "BulkOperation": dict.fromkeys(("id", "status", "errorCode", "objectCount", "rootObjectCount", "url",
                                    "partialDataUrl", "fileSize", "createdAt", "completedAt", "type", "query"), SCALAR),
    "BulkOperationRunQueryPayload": {"bulkOperation": ("BulkOperation", set()),
                                     "userErrors": ("BulkOperationUserError", set())},
    "BulkOperationUserError": dict.fromkeys(("field", "message", "code"), SCALAR),
    "Shop": dict.fromkeys(("name", "currencyCode", "ianaTimezone"), SCALAR),
}
# OrderSortKeys, CustomerSortKeys and ProductSortKeys all have UPDATED_AT.
SORT_KEYS = {"UPDATED_AT"}
# Variable types as the reference declares the arguments they feed.
VARIABLE_TYPES = {"first": "Int!", "after": "String", "query": "String", "id": "ID!"}


def problems(selection: Selection, type_name: str, path: str = "") -> list[str]:
    """Every field, argument or shape of ``selection`` the facts above do not allow on ``type_name``."""
    found = []
    if type_name in CONNECTIONS:
        for child in selection.fields():
            if child.name in ("edges",):
                for edge_field in child.fields():
                    if edge_field.name == "node":
                        found += problems(edge_field, CONNECTIONS[type_name], f"{path}.edges.node")
                    elif edge_field.name != "cursor":
                        found.append(f"{path}.edges.{edge_field.name}: not on an edge")
            elif child.name == "nodes":
                found += problems(child, CONNECTIONS[type_name], f"{path}.nodes")
            elif child.name == "pageInfo":
                found += problems(child, "PageInfo", f"{path}.pageInfo")
            else:
                found.append(f"{path}.{child.name}: not on {type_name}")
        return found
    fields = FACTS[type_name]
    for child in selection.fields():
        where = f"{path}.{child.name}".lstrip(".")
        if child.name not in fields:
            found.append(f"{where}: {type_name} has no field {child.name!r}")
            continue
        returns, arguments = fields[child.name]
        found += [f"{where}: no argument {a!r}" for a in child.arguments if a not in arguments]
        sort_key = child.arguments.get("sortKey")
        if sort_key is not None and getattr(sort_key, "name", None) not in SORT_KEYS:
            found.append(f"{where}: sortKey {sort_key!r}")
        if returns is None and child.selections:
            found.append(f"{where}: a scalar has no selection")
        elif returns is not None and not child.selections:
            found.append(f"{where}: {returns} needs a selection")
        elif returns is not None:
            found += problems(child, returns, where)
    return found


def connection_depths(selection: Selection, type_name: str, depth: int = 0) -> list[int]:
    """The nesting depth of every connection in a selection (the top-level connection is depth 1)."""
    depths = []
    for child in selection.fields():
        if type_name in CONNECTIONS:
            inner = CONNECTIONS[type_name]
            for node in child.fields() if child.name == "edges" else [child]:
                depths += connection_depths(node, inner, depth) if node.name in ("node", "nodes") else []
            continue
        returns = FACTS[type_name].get(child.name, SCALAR)[0]
        if returns in CONNECTIONS:
            depths.append(depth + 1)
        if returns is not None:
            depths += connection_depths(child, returns, depth + (returns in CONNECTIONS))
    return depths


def declared_variables(query: str) -> dict[str, str]:
    header = query.split("{", 1)[0]
    return dict(re.findall(r"\$(\w+):\s*([\w!\[\]]+)", header))


@pytest.fixture()
def shop_requests(sandbox, emulators, sent) -> list[dict[str, Any]]:
    """The GraphQL bodies the source sends for a day (paged queries) and for a month (bulk operations)."""
    conn = connection(sandbox, "narrowcast_shopify", "shopify")
    client = shopify.ShopifyClient.from_connection(conn, sleep=lambda _s: None)
    for window in (Window(datetime(2024, 3, 1), datetime(2024, 3, 2)), Window(datetime(2024, 3, 1), datetime(2024, 4, 1))):
        list(shopify.extract(conn, window, client=client))
    assert sent and all(c.method == "POST" and c.path.endswith("/admin/api/2026-10/graphql.json") for c in sent)
    return [c.body for c in sent]


def test_the_source_selects_only_fields_the_admin_reference_documents(shop_requests):
    bodies = {body["query"].split("(")[0].split("{")[0].strip() or "bulk" for body in shop_requests}
    assert {"query orders", "query customers", "query products", "mutation bulkOperationRunQuery",
            "query bulkOperation", "query ordersCount", "query customersCount", "query productsCount"} <= bodies
    for body in shop_requests:
        operation = parse(body["query"])[0]
        root = "Mutation" if operation.kind == "mutation" else "QueryRoot"
        assert problems(operation.root, root) == [], body["query"]
        declared = declared_variables(body["query"])
        assert set(body["variables"]) == set(declared), body["query"]
        for name, declared_type in declared.items():
            expected = "String!" if root == "Mutation" else VARIABLE_TYPES[name]
            assert declared_type == expected, (name, declared_type)


def test_paged_queries_give_every_connection_a_page_size(shop_requests):
    nested_seen = set()
    for body in shop_requests:
        if body["query"].startswith("query ") and "pageInfo" in body["query"]:
            operation = parse(body["query"])[0]
            assert 0 < body["variables"]["first"] <= 250
            nested = [f for f in _all_fields(operation.root) if f.name in ("lineItems", "refundLineItems", "variants")]
            assert all(isinstance(f.argument("first", {}), int) and 0 < f.argument("first", {}) <= 250
                       for f in nested)
            nested_seen |= {f.name for f in nested}
    assert nested_seen == {"lineItems", "refundLineItems", "variants"}


def test_bulk_queries_follow_the_bulk_operation_restrictions(shop_requests):
    # https://shopify.dev/docs/api/usage/bulk-operations/queries: one top-level connection (not node/nodes), at
    # most five connections, nested at most two levels deep; no variables exist inside the bulk query.
    bulk = [b["variables"]["query"] for b in shop_requests if b["query"].startswith("mutation bulkOperationRunQuery")]
    assert len(bulk) == 3
    for query in bulk:
        operation = parse(query)[0]
        (root,) = operation.root.fields()
        assert operation.kind == "query" and root.name in ("orders", "customers", "products")
        assert problems(operation.root, "QueryRoot") == []
        depths = connection_depths(operation.root, "QueryRoot")
        assert depths and len(depths) <= 5 and max(depths) <= 2, depths
        assert "$" not in query


def _all_fields(selection: Selection) -> list[Selection]:
    return [f for child in selection.fields() for f in (child, *_all_fields(child))]


def test_the_facts_refuse_what_shopify_does_not_have():
    legacy = parse("{ orders(first: 5, status: ANY) { edges { node { id landingSite fulfillmentStatus "
                   "lineItems { edges { node { id } } } } } } }")[0]
    found = problems(legacy.root, "QueryRoot")
    assert any("no argument 'status'" in p for p in found)
    assert any("no field 'landingSite'" in p for p in found) and any("fulfillmentStatus" in p for p in found)
    deep = parse("{ products { edges { node { variants { edges { node { inventoryItem { id } } } } } } } }")[0]
    assert connection_depths(deep.root, "QueryRoot") == [1, 2]
