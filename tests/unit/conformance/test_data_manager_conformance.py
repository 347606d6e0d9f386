"""Requests the Google audiences connector sends, validated against schemas written from the Data Manager API
reference (developers.google.com/data-manager/api/reference/rest/v1: audienceMembers.ingest, audienceMembers.remove,
requestStatus.retrieve, Destination, ProductAccount, AudienceMember, UserData, Consent, Encoding, TermsOfService)
and its "Limits and quotas" page (…/devguides/limits)."""

from __future__ import annotations

from hashlib import sha256

from conformance_recording import connection, send_context
from conformance_schemas import lower_keys, violations

from narrowcast.activation.destinations.base import Batch, Change
from narrowcast.activation.destinations.google_audiences import GoogleAudiences

# Every method: OAuth 2 bearer token (scope https://www.googleapis.com/auth/datamanager).
HEADERS = {"type": "object", "required": ["authorization"],
           "properties": {"authorization": {"type": "string", "pattern": r"^Bearer \S+$"},
                          "content-type": {"type": "string", "pattern": r"^application/json"}}}
# ProductAccount: accountType enum, accountId string.
PRODUCT_ACCOUNT = {"type": "object", "required": ["accountType", "accountId"], "additionalProperties": False,
                   "properties": {"accountType": {"enum": ["GOOGLE_ADS", "DISPLAY_VIDEO_PARTNER",
                                                           "DISPLAY_VIDEO_ADVERTISER", "DATA_PARTNER"]},
                                  "accountId": {"type": "string", "pattern": r"^\d+$"}}}
# Destination: operatingAccount and productDestinationId (the user list) required here; loginAccount optional.
DESTINATION = {"type": "object", "required": ["operatingAccount", "productDestinationId"],
               "additionalProperties": False,
               "properties": {"operatingAccount": PRODUCT_ACCOUNT, "loginAccount": PRODUCT_ACCOUNT,
                              "linkedAccount": PRODUCT_ACCOUNT, "reference": {"type": "string"},
                              "productDestinationId": {"type": "string", "pattern": r"^\d+$"}}}
CONSENT_STATUS = {"enum": ["CONSENT_STATUS_UNSPECIFIED", "CONSENT_GRANTED", "CONSENT_DENIED"]}
CONSENT = {"type": "object", "additionalProperties": False,
           "properties": {"adUserData": CONSENT_STATUS, "adPersonalization": CONSENT_STATUS}}
# UserIdentifier: exactly one of emailAddress, phoneNumber, address (a union field). Hashed values: a SHA-256
# digest in the request's encoding (64 hex characters, or 44 base64 characters for 32 bytes).
HEX_DIGEST = {"type": "string", "pattern": r"^[0-9a-f]{64}$"}
BASE64_DIGEST = {"type": "string", "pattern": r"^[A-Za-z0-9+/]{43}=$"}


def user_identifier(digest: dict) -> dict:
    return {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
            "properties": {"emailAddress": digest, "phoneNumber": digest}}


def member(digest: dict, consent: bool) -> dict:
    # AudienceMember: userData with 1..10 identifiers (Limits: 10 user identifiers per member); consent per member
    # on ingest only (RemoveAudienceMembersRequest's members carry none).
    properties = {"userData": {"type": "object", "required": ["userIdentifiers"], "additionalProperties": False,
                               "properties": {"userIdentifiers": {"type": "array", "minItems": 1, "maxItems": 10,
                                                                  "items": user_identifier(digest)}}}}
    if consent:
        properties["consent"] = CONSENT
    return {"type": "object", "required": ["userData"], "additionalProperties": False, "properties": properties}


def members_request(method: str, encoding: str) -> dict:
    """IngestAudienceMembersRequest / RemoveAudienceMembersRequest: 1..10 destinations, 1..10,000 members,
    ``encoding`` (required for UserData), Customer Match terms accepted on ingest."""
    digest = HEX_DIGEST if encoding == "HEX" else BASE64_DIGEST
    properties = {"destinations": {"type": "array", "minItems": 1, "maxItems": 10, "items": DESTINATION},
                  "audienceMembers": {"type": "array", "minItems": 1, "maxItems": 10_000,
                                      "items": member(digest, consent=method == "ingest")},
                  "validateOnly": {"type": "boolean"}, "encoding": {"const": encoding}}
    required = ["destinations", "audienceMembers", "encoding"]
    if method == "ingest":
        properties |= {"consent": CONSENT, "termsOfService": {
            "type": "object", "required": ["customerMatchTermsOfServiceStatus"],
            "properties": {"customerMatchTermsOfServiceStatus": {"const": "ACCEPTED"}}}}
        required.append("termsOfService")
    return {"type": "object", "required": required, "additionalProperties": False, "properties": properties}


# requestStatus.retrieve: GET with the query parameter requestId, empty body.
RETRIEVE_QUERY = {"type": "object", "required": ["requestId"], "additionalProperties": False,
                  "properties": {"requestId": {"type": "string", "minLength": 1}}}


def change(i: int, op: str = "add", consent: bool = True) -> Change:
    return Change(str(i), op, {"emailAddress": sha256(f"c{i}@example.com".encode()).hexdigest(),
                               "phoneNumber": sha256(f"+49151{i:07d}".encode()).hexdigest(),
                               "adUserData": consent, "adPersonalization": consent})


def check(sent: list, encoding: str) -> set[str]:
    seen = set()
    for call in sent:
        assert violations(HEADERS, lower_keys(call.headers)) == [], call.path
        method = call.path.rsplit(":", 1)[-1]
        seen.add(method)
        if call.method == "POST" and method in ("ingest", "remove"):
            assert call.path.endswith(f"/v1/audienceMembers:{method}")
            assert violations(members_request(method, encoding), call.body) == []
        else:
            assert (call.method, method) == ("GET", "retrieve") and call.path.endswith("/v1/requestStatus:retrieve")
            assert violations(RETRIEVE_QUERY, call.query) == [] and call.body is None
    return seen


def test_ingest_remove_and_status_requests_follow_the_reference(sandbox, emulators, sent):
    conn = connection(sandbox, "narrowcast_google_data_manager", "data_manager")
    destination = GoogleAudiences(send_context(conn, {"account_id": "123-456-7890", "user_list_id": "555",
                                                      "login_account_id": "111-222-3333"}, "audience"))
    added = destination.send(Batch("run", "upsert", 1, 1, [change(i, consent=i % 2 == 0) for i in range(5)]))
    destination.send(Batch("run", "remove", 1, 1, [change(i, "remove") for i in range(2)]))
    destination.job_statuses([added[0].job])
    assert check(sent, "HEX") == {"ingest", "remove", "retrieve"}


def test_base64_requests_follow_the_reference(sandbox, emulators, sent):
    conn = connection(sandbox, "narrowcast_google_data_manager", "data_manager")
    destination = GoogleAudiences(send_context(conn, {"account_id": "1234567890", "user_list_id": "555",
                                                      "encoding": "BASE64"}, "audience"))
    assert {r.outcome for r in destination.send(Batch("run", "upsert", 1, 1, [change(i) for i in range(3)]))} == {
        "accepted"}
    assert check(sent, "BASE64") == {"ingest"}
