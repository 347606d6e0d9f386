"""Requests the shop customer profile destination sends, validated against Shopify's GraphQL Admin reference:
MetafieldsSetInput (metafieldsSet: at most 25 per call; key 2-64 and namespace 3-255 characters of letters, digits,
hyphen and underscore; value a string), MetafieldIdentifierInput (metafieldsDelete) and tagsAdd/tagsRemove (id of
the resource, tags a list of strings); every document parses and its mutations are the documented ones."""

from __future__ import annotations

from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.shopify_customer_profile import ShopifyCustomerProfile
from narrowcast.sandbox.emulators.shopify_graphql import parse

TOKEN = {"type": "object", "required": ["x-shopify-access-token"],
         "properties": {"x-shopify-access-token": {"type": "string", "minLength": 1}}}
CUSTOMER_GID = {"type": "string", "pattern": r"^gid://shopify/Customer/[0-9]+$"}
NAMESPACE = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{3,255}$"}
KEY = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{2,64}$"}
METAFIELDS_SET = {"type": "array", "minItems": 1, "maxItems": 25, "items": {
    "type": "object", "additionalProperties": False, "required": ["ownerId", "namespace", "key", "type", "value"],
    "properties": {"ownerId": CUSTOMER_GID, "namespace": NAMESPACE, "key": KEY,
                   "type": {"enum": ["single_line_text_field", "list.single_line_text_field"]},
                   "value": {"type": "string"}}}}
METAFIELDS_DELETE = {"type": "array", "minItems": 1, "maxItems": 250, "items": {
    "type": "object", "additionalProperties": False, "required": ["ownerId", "namespace", "key"],
    "properties": {"ownerId": CUSTOMER_GID, "namespace": NAMESPACE, "key": KEY}}}
TAGS = {"type": "array", "minItems": 1, "maxItems": 250, "items": {"type": "string", "minLength": 1, "maxLength": 255}}


def test_profile_writes_follow_the_metafield_and_tag_inputs(sandbox, emulators, sent):
    shop = emulators["shopify_customer_profile"]
    for i in range(1, 31):
        shop.seed_customer(i, ["wholesale"])
    destination = ShopifyCustomerProfile(send_context(connection(sandbox, "narrowcast_shopify", "shopify"), {
        "namespace": "narrowcast", "tag_prefix": "nc:", "list_metafields": ["segments"]}, "customer_profile"))
    changes = [Change(str(i), "add", {"customer_id": str(i), "metafields.rfm_segment": "Champions",
                                      "metafields.segments": "vip,geo:DE", "tags": "vip,geo:DE"})
               for i in range(1, 31)]
    assert {r.outcome for r in destination.send(Batch("run", "upsert", 1, 1, changes))} == {"accepted"}
    # a customer who leaves: our metafields deleted, our tags removed
    destination.send(Batch("run", "remove", 1, 1, [Change("1", "remove", changes[0].payload)]))
    seen: set[str] = set()
    for call in sent:
        assert violations(TOKEN, lower_keys(call.headers)) == []
        operation = parse(call.body["query"])[0]
        for field in operation.root.fields():
            seen.add(field.name)
            if operation.kind == "query":
                assert field.name == "nodes" and len(call.body["variables"]["ids"]) <= 250
                continue
            variables = call.body["variables"]
            argument = next(iter(field.arguments.values()))
            if field.name == "metafieldsSet":
                assert violations(METAFIELDS_SET, variables[argument.name]) == []
            elif field.name == "metafieldsDelete":
                assert violations(METAFIELDS_DELETE, variables[argument.name]) == []
            else:
                assert field.name in ("tagsAdd", "tagsRemove")
                ids, tags = (variables[a.name] for a in (field.arguments["id"], field.arguments["tags"]))
                assert violations(CUSTOMER_GID, ids) == [] and violations(TAGS, tags) == []
                assert all(t.startswith("nc:") for t in tags)
    assert seen == {"nodes", "metafieldsSet", "metafieldsDelete", "tagsAdd", "tagsRemove"}
