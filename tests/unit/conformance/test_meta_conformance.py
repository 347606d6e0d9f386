"""Requests the Meta Custom Audiences connector sends, validated against schemas written from Meta's Business SDK
(facebook-python-business-sdk: CustomAudience.Schema, MultiKeySchema, add_users/remove_users and the API's
call(), which puts GET and DELETE parameters in the query string) and the /{audience_id}/users reference."""

from __future__ import annotations

import hashlib
import json

import pytest
from conformance_recording import connection, send_context
from conformance_schemas import violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.meta_audiences import MetaCustomAudiences

SINGLE_KEYS = ["EMAIL_SHA256", "PHONE_SHA256", "UID", "MOBILE_ADVERTISER_ID"]
MULTI_KEYS = ["EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP",
              "MADID", "COUNTRY", "LOOKALIKE_VALUE"]
SHA256 = {"type": "string", "pattern": "^([0-9a-f]{64})?$"}
PAYLOAD = {"type": "object", "required": ["schema", "data"], "additionalProperties": False, "properties": {
    "schema": {"oneOf": [{"enum": SINGLE_KEYS},
                         {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"enum": MULTI_KEYS}}]},
    "data": {"type": "array", "minItems": 1, "maxItems": 10_000}},
    # a single hashed key: every row is one SHA-256 hex value
    "if": {"properties": {"schema": {"enum": ["EMAIL_SHA256", "PHONE_SHA256"]}}},
    "then": {"properties": {"data": {"items": {"type": "array", "minItems": 1, "maxItems": 1, "items": SHA256}}}}}
SESSION = {"type": "object", "required": ["session_id", "batch_seq", "last_batch_flag"],
           "properties": {"session_id": {"type": "integer", "minimum": 1},
                          "batch_seq": {"type": "integer", "minimum": 1},
                          "last_batch_flag": {"type": "boolean"},
                          "estimated_num_total": {"type": "integer", "minimum": 0}}}
USERS_BODY = {"type": "object", "required": ["payload", "access_token"],
              "properties": {"payload": PAYLOAD, "session": SESSION, "access_token": {"type": "string"}}}
# DELETE: the same parameters, in the query string, objects JSON-encoded (strings).
USERS_QUERY = {"type": "object", "required": ["payload", "access_token"],
               "properties": {"payload": {"type": "string"}, "session": {"type": "string"},
                              "access_token": {"type": "string"}}}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("fields", [pytest.param(("EMAIL",), id="one key: the SDK's EMAIL_SHA256 schema"),
                                    pytest.param(("EMAIL", "PHONE"), id="multi-key schema")])
def test_adds_and_removals_follow_the_business_sdk(sandbox, emulators, sent, fields):
    conn = connection(sandbox, "narrowcast_meta", "meta")
    destination = MetaCustomAudiences(send_context(conn, {"audience_id": "2385000001"}, "custom_audience"))
    changes = [Change(str(i), "add", {f: sha(f"{f}{i}") for f in fields}) for i in range(4)]
    assert {r.outcome for r in destination.send(Batch("run", "upsert", 1, 1, changes))} == {"accepted"}
    removals = [Change(c.key, "remove", c.payload) for c in changes[:2]]
    assert {r.outcome for r in destination.send(Batch("run", "remove", 1, 1, removals))} == {"accepted"}
    posts = [c for c in sent if c.method == "POST"]
    deletes = [c for c in sent if c.method == "DELETE"]
    assert len(posts) == len(deletes) == 1
    assert violations(USERS_BODY, posts[0].body) == []
    delete = deletes[0]
    assert delete.body is None, "a DELETE carries its parameters in the query string"
    assert violations(USERS_QUERY, delete.query) == []
    decoded = {"payload": json.loads(delete.query["payload"]), "session": json.loads(delete.query["session"]),
               "access_token": delete.query["access_token"]}
    assert violations(USERS_BODY, decoded) == []
    expected_schema = "EMAIL_SHA256" if fields == ("EMAIL",) else list(fields)
    assert posts[0].body["payload"]["schema"] == decoded["payload"]["schema"] == expected_schema
