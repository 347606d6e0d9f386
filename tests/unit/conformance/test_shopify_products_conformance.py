"""Requests the shop product destination sends, validated against facts written from Shopify's GraphQL Admin
reference: productSet's arguments (ProductSetInput, ProductVariantSetInput, OptionSetInput, FileSetInput,
ProductSetIdentifiers, ``synchronous``) and payload fields, productVariants' ``first`` and search syntax; and the
emulator's answers held to ProductSetPayload and ProductSetUserError."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.shopify_products import ShopifyProducts
from narrowcast.sandbox.emulators.shopify_graphql import parse
from narrowcast.sandbox.server import SandboxServer

TOKEN = {"type": "object", "required": ["x-shopify-access-token"],
         "properties": {"x-shopify-access-token": {"type": "string", "minLength": 1}}}
PRODUCT_GID = {"type": "string", "pattern": r"^gid://shopify/Product/[0-9]+$"}
# Money is a decimal string (https://shopify.dev/docs/api/admin-graphql/latest/scalars/Money).
MONEY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$"}
# OptionSetInput {name, values: [OptionValueSetInput {name}]}; VariantOptionValueInput {optionName, name}.
OPTION = {"type": "object", "required": ["name", "values"], "additionalProperties": False,
          "properties": {"name": {"type": "string", "minLength": 1},
                         "values": {"type": "array", "minItems": 1, "items": {
                             "type": "object", "required": ["name"], "additionalProperties": False,
                             "properties": {"name": {"type": "string", "minLength": 1}}}}}}
# ProductVariantSetInput: id, optionValues, price, inventoryItem (InventoryItemInput: sku, tracked).
VARIANT = {"type": "object", "required": ["optionValues"], "additionalProperties": False,
           "properties": {"id": {"type": "string", "pattern": r"^gid://shopify/ProductVariant/[0-9]+$"},
                          "optionValues": {"type": "array", "minItems": 1, "items": {
                              "type": "object", "required": ["optionName", "name"], "additionalProperties": False,
                              "properties": {"optionName": {"type": "string"}, "name": {"type": "string"}}}},
                          "price": MONEY,
                          "inventoryItem": {"type": "object", "additionalProperties": False,
                                            "properties": {"sku": {"type": "string", "minLength": 1},
                                                           "tracked": {"type": "boolean"}}}}}
# FileSetInput: originalSource (a URL Shopify fetches), contentType (FileContentType), alt.
FILE = {"type": "object", "required": ["originalSource", "contentType"], "additionalProperties": False,
        "properties": {"originalSource": {"type": "string", "pattern": r"^https?://"},
                       "contentType": {"enum": ["IMAGE", "FILE", "VIDEO", "EXTERNAL_VIDEO", "MODEL_3D"]},
                       "alt": {"type": "string", "maxLength": 512}}}
# ProductSetInput (the fields this destination uses), ProductStatus, and ProductSetIdentifiers {id | handle |
# customId}: one of them names the product to update or, for a handle, to upsert.
PRODUCT_SET_VARIABLES = {
    "type": "object", "required": ["input"], "additionalProperties": False,
    "properties": {
        "input": {"type": "object", "additionalProperties": False, "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 255}, "descriptionHtml": {"type": "string"},
            "vendor": {"type": "string"}, "productType": {"type": "string"}, "handle": {"type": "string"},
            "status": {"enum": ["ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED"]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "productOptions": {"type": "array", "maxItems": 3, "items": OPTION},
            "variants": {"type": "array", "maxItems": 2048, "items": VARIANT},
            "files": {"type": "array", "items": FILE}}},
        "identifier": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                       "properties": {"id": PRODUCT_GID, "handle": {"type": "string", "pattern": r"^[a-z0-9-]+$"}}},
    },
}
# productVariants(first: Int, query: String): a page holds at most 250 nodes; sku terms joined by OR.
FIND_VARIABLES = {"type": "object", "required": ["query", "first"], "additionalProperties": False,
                  "properties": {"first": {"type": "integer", "minimum": 1, "maximum": 250},
                                 "query": {"type": "string", "pattern": r'^sku:"[^"]*"( OR sku:"[^"]*")*$'}}}
# ProductSetPayload {product, productSetOperation, userErrors [ProductSetUserError {field, message, code}]}.
USER_ERROR = {"type": "object", "required": ["field", "message", "code"],
              "properties": {"field": {"type": ["array", "null"], "items": {"type": "string"}},
                             "message": {"type": "string"}, "code": {"type": ["string", "null"]}}}
PRODUCT_SET_ANSWER = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "object", "required": ["productSet"], "properties": {"productSet": {
        "type": "object", "required": ["product", "userErrors"],
        "properties": {"userErrors": {"type": "array", "items": USER_ERROR},
                       "product": {"type": ["object", "null"], "properties": {"id": PRODUCT_GID}}}}}}}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["shopify_products", "shopify_inventory"]) as server:
        yield server


def test_product_requests_follow_the_product_set_and_product_variants_reference(sandbox, emulators, sent):
    emulators["shopify_products"].seed_product("OWN-1", "The shop's own product")
    destination = ShopifyProducts(send_context(connection(sandbox, "narrowcast_shopify", "shopify"), {}, "product"))
    row = {"sku": "LINEN-1", "title": "Linen shirt", "description": "A linen shirt.\n\nWash cold.",
           "brand": "Narrowcast Wear", "product_type": "Shirts", "price": 29.99,
           "image_urls": "https://img.example/1.jpg|https://img.example/2.jpg"}
    first = destination.send(Batch("run", "add", 1, 1, [Change("LINEN-1", "add", row),
                                                         Change("OWN-1", "add", {**row, "sku": "OWN-1"})]))
    later = destination.send(Batch("run", "change", 1, 1, [
        Change("LINEN-1", "change", {**row, "title": "Linen"}, previous=row), Change("LINEN-1", "remove", row)]))
    assert [r.outcome for r in first + later] == ["accepted", "skipped", "accepted", "accepted"]
    assert len(sent) == 5 and all(c.path.endswith("/graphql.json") and c.method == "POST" for c in sent)
    for call in sent:
        assert violations(TOKEN, lower_keys(call.headers)) == []
        [operation] = parse(call.body["query"])
        [root] = operation.root.fields()
        if operation.kind == "query":
            assert root.name == "productVariants" and violations(FIND_VARIABLES, call.body["variables"]) == []
            continue
        assert root.name == "productSet" and root.arguments["synchronous"] is True
        assert violations(PRODUCT_SET_VARIABLES, call.body["variables"]) == []
        assert violations(PRODUCT_SET_ANSWER, call.answer) == []
        assert call.answer["data"]["productSet"]["userErrors"] == []
        # the payload fields selected are ProductSetPayload's
        assert {f.name for f in root.fields()} == {"product", "userErrors"}


def test_the_emulator_answers_user_errors_in_the_product_set_user_error_shape(sandbox, emulators, sent):
    destination = ShopifyProducts(send_context(connection(sandbox, "narrowcast_shopify", "shopify"), {}, "product"))
    data = destination.client.graphql(
        "mutation p($input: ProductSetInput!) { productSet(input: $input) { product { id } "
        "userErrors { field message code } } }",
        {"input": {"title": "", "variants": [{"optionValues": [{"optionName": "Title", "name": "Default Title"}],
                                             "price": "1.00"}]}})
    errors = data["productSet"]["userErrors"]
    assert violations(PRODUCT_SET_ANSWER, sent[-1].answer) == []
    assert [e["code"] for e in errors] == ["MISSING_FIELD_REQUIRED", "PRODUCT_OPTIONS_INPUT_MISSING"]
    assert errors[1]["field"] == ["input", "productOptions"] and data["productSet"]["product"] is None
