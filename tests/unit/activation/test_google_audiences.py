"""The Google audiences destination (Data Manager API) against its emulator: ingest, remove, batching at the
10,000-member limit, consent, a refused member and the asynchronous request status."""

from __future__ import annotations

import base64

import pytest
import requests
from activation_fixtures import audience_rows, audience_sync, sha

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.google_audiences import GoogleAudiences
from narrowcast.http import TokenBucket
from narrowcast.sandbox.framework import SANDBOX_TOKEN

TARGET = {"account_id": "123-456-7890", "user_list_id": "7000000002"}
AUDIENCE = "1234567890/7000000002"


def destination(connections, **target) -> GoogleAudiences:
    context = SendContext(connection=connections["narrowcast_google_data_manager"], target={**TARGET, **target},
                          object="audience", rate_limiter=TokenBucket(1_000, 1_000))
    return GoogleAudiences(context)


def member(i: int, op: str = "add", consent: bool | None = True) -> Change:
    payload = {"emailAddress": sha(f"c{i}@example.com"), "phoneNumber": sha(f"+49151{i:07d}")}
    if consent is not None:
        payload |= {"adUserData": consent, "adPersonalization": consent}
    return Change(str(i), op, payload)


def send(dest: GoogleAudiences, changes: list[Change]):
    return dest.send(Batch("run", "upsert", 1, 1, changes))


def audience(emulators) -> list[str]:
    return emulators["data_manager"].snapshot()["audiences"].get(AUDIENCE, [])


def test_added_members_are_ingested_with_their_request_id_as_the_job(emulators, connections):
    # GIVEN three new members WHEN they are sent
    results = send(destination(connections), [member(i) for i in range(3)])
    # THEN each is accepted under the one request Google answered, and the audience holds them
    received = emulators["data_manager"].received
    assert [(r["method"], r["members"]) for r in received] == [("ingest", 3)]
    assert {r.outcome for r in results} == {"accepted"}
    assert {r.job for r in results} == {received[0]["request_id"]}
    assert audience(emulators) == sorted(sha(f"c{i}@example.com") for i in range(3))


def test_removed_members_leave_the_audience_through_audience_members_remove(emulators, connections):
    dest = destination(connections)
    send(dest, [member(i) for i in range(3)])
    results = send(dest, [member(1, "remove")])
    assert [(r.key, r.outcome) for r in results] == [("1", "accepted")]
    assert emulators["data_manager"].received[-1]["method"] == "remove"
    assert audience(emulators) == sorted(sha(f"c{i}@example.com") for i in (0, 2))


def test_a_changed_identifier_removes_the_old_one_before_the_new_one_is_ingested(emulators, connections):
    dest = destination(connections)
    send(dest, [member(1)])
    new = {"emailAddress": sha("new@example.com"), "adUserData": True, "adPersonalization": True}
    send(dest, [Change("1", "change", new, previous=member(1).payload)])
    assert [r["method"] for r in emulators["data_manager"].received] == ["ingest", "remove", "ingest"]
    assert audience(emulators) == [sha("new@example.com")]
    # only the identifiers the member lost are removed: a kept one would take the member with it
    removal = [r for r in emulators["data_manager"].requests.values() if r["method"] == "remove"]
    assert removal[0]["members"] == [{"userData": {"userIdentifiers": [
        {"emailAddress": sha("c1@example.com")}, {"phoneNumber": sha("+491510000001")}]}}]


def test_a_change_that_keeps_every_identifier_removes_nothing(emulators, connections):
    dest = destination(connections)
    send(dest, [member(1)])
    send(dest, [Change("1", "change", member(1, consent=False).payload, previous=member(1).payload)])
    assert [r["method"] for r in emulators["data_manager"].received] == ["ingest", "ingest"]


def test_more_members_than_one_request_takes_are_split_at_the_documented_limit(emulators, connections):
    # The emulator refuses a request of more than 10,000 members (TOO_MANY_AUDIENCE_MEMBERS).
    assert GoogleAudiences.limits.max_batch_size == 10_000
    results = send(destination(connections), [member(i) for i in range(10_001)])
    assert [r["members"] for r in emulators["data_manager"].received] == [10_000, 1]
    assert sum(r.outcome == "accepted" for r in results) == 10_001


@pytest.mark.parametrize(("consent", "expected"), [
    pytest.param(True, {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
                 id="a member who consented is sent as granted"),
    pytest.param(False, {"adUserData": "CONSENT_DENIED", "adPersonalization": "CONSENT_DENIED"},
                 id="a member who refused is sent as denied"),
    pytest.param(None, None, id="a member without a consent column is sent without consent"),
])
def test_each_member_carries_its_own_consent(emulators, connections, consent, expected):
    send(destination(connections), [member(1, consent=consent)])
    request = next(iter(emulators["data_manager"].requests.values()))
    assert request["members"][0].get("consent") == expected


def test_a_member_google_refuses_is_rejected_and_the_others_are_sent_again(emulators, connections):
    # The API fails fast: the whole first request is refused, naming the member in its field violations.
    bad = Change("bad", "add", {"emailAddress": "zz" * 32, "adUserData": True})
    results = send(destination(connections), [member(1), bad, member(2)])
    assert [(r.key, r.outcome) for r in results] == [("1", "accepted"), ("bad", "rejected"), ("2", "accepted")]
    assert results[1].reason == "Google refused the member: INVALID_HEX_ENCODING"
    assert [r["members"] for r in emulators["data_manager"].received] == [2]
    assert audience(emulators) == sorted([sha("c1@example.com"), sha("c2@example.com")])


def test_a_member_without_any_identifier_is_rejected_without_a_call(emulators, connections):
    dest = destination(connections)
    results = send(dest, [Change("1", "add", {"adUserData": True})])
    assert results[0].outcome == "rejected" and results[0].sent is False
    assert dest.api_calls == 0


def test_base64_encoding_sends_the_digest_bytes_in_base64(emulators, connections):
    send(destination(connections, encoding="BASE64"), [member(1)])
    request = next(iter(emulators["data_manager"].requests.values()))
    email = request["members"][0]["userData"]["userIdentifiers"][0]["emailAddress"]
    assert request["encoding"] == "BASE64"
    assert email == base64.b64encode(bytes.fromhex(sha("c1@example.com"))).decode()
    assert audience(emulators) == [sha("c1@example.com")]


def test_the_request_status_is_pending_while_processing_then_succeeded_or_failed(emulators, connections):
    emulator = emulators["data_manager"]
    emulator.hold_requests = True
    dest = destination(connections)
    first = send(dest, [member(1)])[0].job
    assert dest.job_statuses([first]) == {first: ("pending", None)}
    assert audience(emulators) == []
    emulator.finish_requests()
    assert dest.job_statuses([first]) == {first: ("succeeded", None)}
    assert audience(emulators) == [sha("c1@example.com")]
    second = send(dest, [member(2)])[0].job
    emulator.finish_requests(failure_reason="INVALID_USER_LIST_ID")
    assert dest.job_statuses([second]) == {second: ("failed", "FAILED (INVALID_USER_LIST_ID)")}
    assert dest.job_statuses(["unknown-request"]) == {
        "unknown-request": ("failed", "request id not found at the Data Manager API")}


@pytest.mark.parametrize(("target", "fields", "problem"), [
    pytest.param({"encoding": "UTF8"}, {"emailAddress"}, "target encoding 'UTF8' is not one of BASE64, HEX",
                 id="an unknown encoding is refused"),
    pytest.param({}, {"adUserData"}, "fields name no identifier (emailAddress, phoneNumber)",
                 id="a sync without an identifier is refused"),
])
def test_declarations_are_checked(target, fields, problem):
    assert GoogleAudiences.check_declaration("audience", target, fields) == problem


def test_a_sync_run_waits_for_googles_request_status_before_confirming(emulators, connections, warehouse):
    # GIVEN Google still processing what the first run sends
    emulator = emulators["data_manager"]
    emulator.hold_requests = True
    rows = audience_rows("champions", range(4))
    rows[3]["consent_ads"] = False
    warehouse.replace("audience_members", rows)
    spec = audience_sync("google_audiences")
    first = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the rows are accepted into one pending request, the consent of each member as the mart says
    assert (first.accepted, first.jobs_pending, first.api_calls) == (4, 1, 1)
    sent = next(iter(emulator.requests.values()))["members"]
    assert [m["consent"]["adUserData"] for m in sent] == ["CONSENT_GRANTED"] * 3 + ["CONSENT_DENIED"]
    # WHEN Google finishes the request, the next run settles it with one status call and sends nothing
    emulator.finish_requests()
    second = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (second.planned, second.api_calls, second.jobs_pending, second.jobs_failed) == (0, 1, 0, 0)
    assert emulator.snapshot()["audiences"]["1234567890/555"] == sorted(r["email_sha256"] for r in rows)


def body(**changes) -> dict:
    base = {"destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
                              "productDestinationId": "555"}],
            "audienceMembers": [{"userData": {"userIdentifiers": [{"emailAddress": sha("a@example.com")}]}}],
            "encoding": "HEX", "termsOfService": {"customerMatchTermsOfServiceStatus": "ACCEPTED"}}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


MEMBER = {"userData": {"userIdentifiers": [{"emailAddress": sha("a@example.com")}]}}


@pytest.mark.parametrize(("request_body", "reasons"), [
    pytest.param(body(encoding=None), ["INVALID_ARGUMENT", "REQUIRED_FIELD_MISSING"],
                 id="a request without encoding is refused"),
    pytest.param(body(encoding="UTF8"), ["INVALID_ARGUMENT", "INVALID_ENUM_VALUE"],
                 id="an unknown encoding is refused"),
    pytest.param(body(termsOfService=None), ["INVALID_ARGUMENT", "TERMS_AND_CONDITIONS_NOT_SIGNED"],
                 id="an ingest without the Customer Match terms accepted is refused"),
    pytest.param(body(audienceMembers=[MEMBER] * 10_001), ["TOO_MANY_AUDIENCE_MEMBERS"],
                 id="more than ten thousand members are refused"),
    pytest.param(body(audienceMembers=[{"userData": {"userIdentifiers": [{"emailAddress": sha("a")}] * 11}}]),
                 ["INVALID_ARGUMENT", "TOO_MANY_USER_IDENTIFIERS"], id="more than ten identifiers are refused"),
    pytest.param(body(encoding="BASE64",
                      audienceMembers=[{"userData": {"userIdentifiers": [{"emailAddress": "not*base64"}]}}]),
                 ["INVALID_ARGUMENT", "INVALID_BASE64_ENCODING"], id="a value that is not base64 is refused"),
    pytest.param(body(encoding="BASE64"), ["INVALID_ARGUMENT", "INVALID_SHA256_FORMAT"],
                 id="a hex digest declared as base64 decodes to 48 bytes and is refused"),
    pytest.param(body(audienceMembers=[{"userData": {"userIdentifiers": [{"emailAddress": "ab" * 16}]}}]),
                 ["INVALID_ARGUMENT", "INVALID_SHA256_FORMAT"], id="a digest of the wrong length is refused"),
    pytest.param(body(destinations=[{"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1"}}]),
                 ["INVALID_ARGUMENT", "INVALID_USER_LIST_ID"], id="a destination without a user list is refused"),
])
def test_the_emulator_refuses_what_the_reference_refuses_and_applies_nothing(emulators, sandbox, request_body, reasons):
    answer = requests.post(f"{sandbox.url}/data_manager/v1/audienceMembers:ingest", json=request_body,
                           headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}, timeout=10)
    error = answer.json()["error"]
    assert (answer.status_code, error["status"]) == (400, "INVALID_ARGUMENT")
    assert [d["reason"] for d in error["details"] if d["@type"].endswith("ErrorInfo")] == reasons
    assert emulators["data_manager"].requests == {}


def test_the_emulator_only_validates_a_validate_only_request(emulators, sandbox):
    answer = requests.post(f"{sandbox.url}/data_manager/v1/audienceMembers:ingest", json=body(validateOnly=True),
                           headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {})
    assert emulators["data_manager"].requests == {}
