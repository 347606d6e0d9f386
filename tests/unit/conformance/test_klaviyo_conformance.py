"""Requests the Klaviyo connector sends, validated against schemas written from Klaviyo's OpenAPI (klaviyo/openapi,
stable: bulk_import_profiles, bulk_create_events, get_profiles, remove_profiles_from_list)."""

from __future__ import annotations

from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.klaviyo import Klaviyo

HEADERS = {"type": "object", "required": ["authorization", "revision", "accept"],
           "properties": {"authorization": {"type": "string", "pattern": r"^Klaviyo-API-Key \S+$"},
                          "revision": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(\.[a-z0-9]+)?$"},
                          "accept": {"const": "application/vnd.api+json"},
                          "content-type": {"const": "application/vnd.api+json"}}}
# ProfileCreateQueryResourceObject attributes: every identifier a string (external_id included).
PROFILE_ATTRIBUTES = {"type": "object", "minProperties": 1,
                      "properties": {"email": {"type": "string"}, "phone_number": {"type": "string"},
                                     "external_id": {"type": "string"}, "first_name": {"type": "string"},
                                     "last_name": {"type": "string"}, "properties": {"type": "object"}}}
PROFILE = {"type": "object", "required": ["type", "attributes"],
           "properties": {"type": {"const": "profile"}, "attributes": PROFILE_ATTRIBUTES}}
# ProfileImportJobCreateQuery: ≤ 10,000 profiles, optional list relationship.
BULK_IMPORT = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "object", "required": ["type", "attributes"],
    "properties": {"type": {"const": "profile-bulk-import-job"},
                   "attributes": {"type": "object", "required": ["profiles"], "properties": {"profiles": {
                       "type": "object", "required": ["data"],
                       "properties": {"data": {"type": "array", "minItems": 1, "maxItems": 10_000,
                                               "items": PROFILE}}}}},
                   "relationships": {"type": "object", "properties": {"lists": {"type": "object", "properties": {
                       "data": {"type": "array", "items": {"type": "object", "required": ["type", "id"],
                                                           "properties": {"type": {"const": "list"},
                                                                          "id": {"type": "string"}}}}}}}}}}}}
# EventsBulkCreateJob: ≤ 1,000 events per request; each entry a profile and its events; an event needs
# properties (object) and metric.data.attributes.name; unique_id and time strings, value a number.
EVENT = {"type": "object", "required": ["type", "attributes"], "properties": {
    "type": {"const": "event"},
    "attributes": {"type": "object", "required": ["properties", "metric"], "properties": {
        "properties": {"type": "object"},
        "metric": {"type": "object", "required": ["data"], "properties": {"data": {
            "type": "object", "required": ["type", "attributes"],
            "properties": {"type": {"const": "metric"},
                           "attributes": {"type": "object", "required": ["name"],
                                          "properties": {"name": {"type": "string", "maxLength": 127}}}}}}},
        "unique_id": {"type": "string"}, "time": {"type": "string"}, "value": {"type": "number"}}}}}
BULK_EVENTS = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "object", "required": ["type", "attributes"],
    "properties": {"type": {"const": "event-bulk-create-job"},
                   "attributes": {"type": "object", "required": ["events-bulk-create"], "properties": {
                       "events-bulk-create": {"type": "object", "required": ["data"], "properties": {"data": {
                           "type": "array", "minItems": 1, "maxItems": 1_000, "items": {
                               "type": "object", "required": ["type", "attributes"],
                               "properties": {"type": {"const": "event-bulk-create"},
                                              "attributes": {"type": "object", "required": ["profile", "events"],
                                                             "properties": {
                                                                 "profile": {"type": "object", "required": ["data"],
                                                                             "properties": {"data": PROFILE}},
                                                                 "events": {"type": "object", "required": ["data"],
                                                                            "properties": {"data": {
                                                                                "type": "array", "minItems": 1,
                                                                                "items": EVENT}}}}}}}}}}}}}}}}
# remove_profiles_from_list: ≤ 1,000 profile identifiers.
LIST_RELATIONSHIP = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "array", "minItems": 1, "maxItems": 1_000,
    "items": {"type": "object", "required": ["type", "id"],
              "properties": {"type": {"const": "profile"}, "id": {"type": "string"}}}}}}
# get_profiles: page[size] 1..100, a filter expression.
GET_PROFILES_QUERY = {"type": "object", "required": ["filter"],
                      "properties": {"filter": {"type": "string"},
                                     "page[size]": {"type": "string", "pattern": r"^([1-9][0-9]?|100)$"}}}


def member(i: int, op: str = "add") -> Change:
    return Change(str(i), op, {"email": f"c{i}@example.com", "external_id": i, "properties.rfm_segment": "Loyal"})


def test_list_member_imports_and_removals_follow_the_openapi(sandbox, emulators, sent):
    conn = connection(sandbox, "narrowcast_klaviyo", "klaviyo", revision="2026-10-15")
    destination = Klaviyo(send_context(conn, {"list_id": "LIST1"}, "list_members"))
    assert {r.outcome for r in destination.send(Batch("run", "upsert", 1, 1, [member(i) for i in range(5)]))} == {
        "accepted"}
    destination.send(Batch("run", "remove", 1, 1, [member(i, "remove") for i in range(2)]))
    for call in sent:
        assert violations(HEADERS, lower_keys(call.headers)) == []
        if call.method == "POST" and call.path.endswith("/api/profile-bulk-import-jobs"):
            assert violations(BULK_IMPORT, call.body) == []
        elif call.method == "DELETE":
            assert violations(LIST_RELATIONSHIP, call.body) == []
        elif call.path.endswith("/api/profiles"):
            assert violations(GET_PROFILES_QUERY, call.query) == []
    assert any(c.method == "DELETE" for c in sent)


def test_events_go_through_bulk_create_with_string_identifiers(sandbox, emulators, sent):
    conn = connection(sandbox, "narrowcast_klaviyo", "klaviyo", revision="2026-10-15")
    destination = Klaviyo(send_context(conn, {"metric": "Abandoned Cart"}, "event"))
    changes = [Change(str(i), "add", {"email": f"c{i}@example.com", "external_id": i, "value": 12.5,
                                      "properties.discount_code": f"WB{i}"}) for i in range(1_200)]
    assert {r.outcome for r in destination.send(Batch("run", "upsert", 1, 1, changes))} == {"accepted"}
    calls = [c for c in sent if c.path.endswith("/api/event-bulk-create-jobs")]
    assert len(calls) == len(sent) == 2
    for call in calls:
        assert violations(HEADERS, lower_keys(call.headers)) == [] and violations(BULK_EVENTS, call.body) == []
