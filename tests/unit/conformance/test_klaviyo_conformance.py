"""Requests the Klaviyo connector sends, validated against schemas written from Klaviyo's OpenAPI (klaviyo/openapi,
stable: bulk_import_profiles, bulk_create_events, get_profiles, remove_profiles_from_list)."""

from __future__ import annotations

import requests
from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.klaviyo import Klaviyo
from narrowcast.sandbox.framework import SANDBOX_TOKEN

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


def test_events_of_one_profile_travel_in_one_entry_and_calls_stay_at_the_minimum(sandbox, emulators, sent):
    # GIVEN 2,500 entering rows, each of 500 customers entering with five keys (e.g. one per recommended SKU)
    conn = connection(sandbox, "narrowcast_klaviyo", "klaviyo", revision="2026-10-15")
    destination = Klaviyo(send_context(conn, {"metric": "Browse Abandoned"}, "event"))
    changes = [Change(f"{c}:{n}", "add", {"email": f"c{c}@example.com", "external_id": c, "properties.sku": f"S{n}"})
               for c in range(500) for n in range(5)]
    # WHEN they are sent as one batch
    results = destination.send(Batch("run", "upsert", 1, 1, changes))
    # THEN every row is accepted, in ceil(2,500 / 1,000) = 3 requests, each within the documented caps, and each
    # profile's events share its entry rather than repeating the profile per event
    assert [r.key for r in results] == [c.key for c in changes] and {r.outcome for r in results} == {"accepted"}
    calls = [c for c in sent if c.path.endswith("/api/event-bulk-create-jobs")]
    assert len(calls) == len(sent) == 3
    entries = [e for call in calls for e in call.body["data"]["attributes"]["events-bulk-create"]["data"]]
    assert sum(len(e["attributes"]["events"]["data"]) for e in entries) == 2_500
    assert len(entries) < 510  # 500 profiles, a few split where a request fills up
    for call in calls:
        assert call.status == 202 and call.answer in (None, "", b"")
        assert violations(BULK_EVENTS, call.body) == []
    assert len(emulators["klaviyo"].events) == 2_500


def test_a_repeated_unique_id_in_one_bulk_request_fails_the_whole_request(sandbox, emulators):
    # bulk_create_events, unique_id: "If a unique_id is repeated for the same profile and metric, the request will
    # fail and no events will be processed."
    event = {"type": "event", "attributes": {"properties": {}, "unique_id": "same",
                                            "metric": {"data": {"type": "metric", "attributes": {"name": "M"}}}}}
    body = {"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": [
        {"type": "event-bulk-create", "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"external_id": "1"}}},
            "events": {"data": [event, event]}}}]}}}}
    answer = requests.post(f"{sandbox.url}/klaviyo/api/event-bulk-create-jobs", json=body, timeout=10, headers={
        "Authorization": f"Klaviyo-API-Key {SANDBOX_TOKEN}", "revision": "2026-10-15"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "invalid"
    assert emulators["klaviyo"].events == {}


def test_a_refused_bulk_request_rejects_only_its_own_rows(sandbox, emulators):
    # GIVEN 1,500 entering rows of which one carries a metric-breaking property count in the second request
    conn = connection(sandbox, "narrowcast_klaviyo", "klaviyo", revision="2026-10-15")
    destination = Klaviyo(send_context(conn, {"metric": "Win-back Eligible"}, "event"))
    too_many = {f"properties.p{i}": i for i in range(401)}
    changes = [Change(str(i), "add", {"external_id": i, **(too_many if i == 1_200 else {})}) for i in range(1_500)]
    # WHEN they are sent
    results = {r.key: r for r in destination.send(Batch("run", "upsert", 1, 1, changes))}
    # THEN the first request's 1,000 rows are accepted and the refused request's rows carry Klaviyo's reason
    assert sum(r.outcome == "accepted" for r in results.values()) == 1_000
    assert results["1200"].outcome == "rejected" and "400 properties" in (results["1200"].reason or "")
