"""Requests the shop's discount code destination sends, validated against Shopify's GraphQL Admin reference:
DiscountCodeBasicInput (discountCodeBasicCreate: title, code, startsAt, context, customerGets with a percentage
0-1 or a discountAmount, minimumRequirement.subtotal, appliesOncePerCustomer, combinesWith), discountRedeemCodeBulkAdd
(discountId a DiscountCodeNode GID, at most 250 DiscountRedeemCodeInput), discountCodeRedeemCodeBulkDelete (at most
250 DiscountRedeemCode GIDs); every document parses and its root fields are the documented ones."""

from __future__ import annotations

from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.shopify_discount_codes import ShopifyDiscountCodes
from narrowcast.sandbox.emulators.shopify_graphql import parse

TOKEN = {"type": "object", "required": ["x-shopify-access-token"],
         "properties": {"x-shopify-access-token": {"type": "string", "minLength": 1}}}
DISCOUNT_GID = {"type": "string", "pattern": r"^gid://shopify/DiscountCodeNode/[0-9]+$"}
CODE = {"type": "string", "minLength": 1, "maxLength": 255}
MONEY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}
BASIC_INPUT = {
    "type": "object", "additionalProperties": False,
    "required": ["title", "code", "startsAt", "context", "customerGets"],
    "properties": {
        "title": {"type": "string", "minLength": 1}, "code": CODE,
        "startsAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "context": {"const": {"all": "ALL"}},
        "customerGets": {"type": "object", "required": ["value", "items"], "properties": {
            "items": {"const": {"all": True}},
            "value": {"oneOf": [
                {"type": "object", "additionalProperties": False, "required": ["percentage"],
                 "properties": {"percentage": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}}},
                {"type": "object", "additionalProperties": False, "required": ["discountAmount"],
                 "properties": {"discountAmount": {"type": "object", "required": ["amount"], "properties": {
                     "amount": MONEY, "appliesOnEachItem": {"type": "boolean"}}}}}]}}},
        "minimumRequirement": {"type": "object", "additionalProperties": False, "properties": {
            "subtotal": {"type": "object", "required": ["greaterThanOrEqualToSubtotal"],
                         "properties": {"greaterThanOrEqualToSubtotal": MONEY}}}},
        "appliesOncePerCustomer": {"type": "boolean"},
        "combinesWith": {"type": "object", "additionalProperties": False, "properties": {
            k: {"type": "boolean"} for k in ("orderDiscounts", "productDiscounts", "shippingDiscounts")}},
    }}
CODES = {"type": "array", "minItems": 1, "maxItems": 250, "items": {
    "type": "object", "additionalProperties": False, "required": ["code"], "properties": {"code": CODE}}}
REDEEM_IDS = {"type": "array", "minItems": 1, "maxItems": 250,
              "items": {"type": "string", "pattern": r"^gid://shopify/DiscountRedeemCode/[0-9]+$"}}
TARGET = {"title": "Referral programme", "amount": "5.00", "minimum_subtotal": 25, "once_per_customer": True,
          "combines_with": {"shipping_discounts": True}}


def test_discount_code_writes_follow_the_discount_inputs(sandbox, emulators, sent):
    destination = ShopifyDiscountCodes(send_context(connection(sandbox, "narrowcast_shopify", "shopify"), TARGET,
                                                    "redeem_code"))
    adds = [Change(f"c{i}", "add", {"code": f"REF-{i:06d}"}) for i in range(300)]
    for start in (0, 250):
        results = destination.send(Batch("run", "upsert", 1, 2, adds[start:start + 250]))
        assert {r.outcome for r in results} == {"accepted"}
    removes = [Change(c.key, "remove", c.payload) for c in adds[:3]]
    assert {r.outcome for r in destination.send(Batch("run", "remove", 1, 1, removes))} == {"accepted"}
    seen: set[str] = set()
    for call in sent:
        assert violations(TOKEN, lower_keys(call.headers)) == []
        operation = parse(call.body["query"])[0]
        variables = call.body["variables"]
        for field in operation.root.fields():
            seen.add(field.name)
            if field.name == "discountCodeBasicCreate":
                assert violations(BASIC_INPUT, variables["basicCodeDiscount"]) == []
            elif field.name == "discountRedeemCodeBulkAdd":
                assert violations(DISCOUNT_GID, variables["discountId"]) == []
                assert violations(CODES, variables["codes"]) == []
            elif field.name == "discountCodeRedeemCodeBulkDelete":
                assert violations(DISCOUNT_GID, variables["discountId"]) == []
                assert violations(REDEEM_IDS, variables["ids"]) == []
            elif field.name == "codeDiscountNode":
                assert violations(DISCOUNT_GID, variables["id"]) == [] and variables["first"] <= 250
    assert seen == {"codeDiscountNodes", "discountCodeBasicCreate", "discountRedeemCodeBulkAdd",
                    "discountRedeemCodeBulkCreation", "codeDiscountNode", "discountCodeRedeemCodeBulkDelete", "job"}
