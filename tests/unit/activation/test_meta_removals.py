"""Meta removals travel in a DELETE's query string: many members leave in several requests, each URL in budget."""

from __future__ import annotations

from activation_fixtures import audience_rows, audience_sync, sha

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.meta_audiences import URL_BUDGET, MetaCustomAudiences
from narrowcast.http import TokenBucket

# The hashed e-mail and phone of the user_data example in Meta's Conversions API documentation (the same SHA-256
# of a normalised identifier that a Custom Audience takes).
DOCUMENTED_EM = "309a0a5c3e211326ae75ca18196d301a9bdbd1a882a4d2569511033da23f0abd"
DOCUMENTED_PH = "254aa248acb47dd654ca3ea53f48c2c26d641d23d7e2e93a1ec56258df7674c4"


def destination(connections, audience_id: str = "77") -> MetaCustomAudiences:
    return MetaCustomAudiences(SendContext(connection=connections["narrowcast_meta"], target={"audience_id": audience_id},
                                           object="custom_audience", rate_limiter=TokenBucket(1_000, 100)))


def deletes(emulator) -> list[dict]:
    return [r for r in emulator.received if r["method"] == "DELETE"]


def test_removing_5000_members_takes_several_deletes_each_within_the_url_budget(emulators, connections):
    meta = emulators["meta_audiences"]
    members = [DOCUMENTED_EM, DOCUMENTED_PH] + [sha(f"member{i}@example.com") for i in range(5_198)]
    meta.audiences["77"] = {m: [m] for m in members}
    # WHEN 5,000 of the 5,200 members leave in one engine batch
    leaving = members[:5_000]
    changes = [Change(f"c{i}", "remove", {"EMAIL": m}) for i, m in enumerate(leaving)]
    results = destination(connections).send(Batch("run-1", "remove", 1, 1, changes))
    # THEN every row was accepted, and the audience keeps only the 200 who stayed
    assert [r.outcome for r in results] == ["accepted"] * 5_000
    assert sorted({r.key for r in results}) == sorted(c.key for c in changes)
    assert sorted(meta.audiences["77"]) == sorted(members[5_000:])
    # AND the rows went in several DELETEs, none longer than the budget, together carrying each row once
    sent = deletes(meta)
    assert len(sent) > 1
    assert max(r["target_bytes"] for r in sent) <= URL_BUDGET
    assert sum(r["rows"] for r in sent) == 5_000


def test_the_split_requests_of_several_batches_keep_one_consistent_session(emulators, connections):
    meta = emulators["meta_audiences"]
    members = [sha(f"member{i}@example.com") for i in range(600)]
    meta.audiences["77"] = {m: [m] for m in members}
    sender = destination(connections)
    # WHEN 600 removals come in two engine batches of 300 (each too long for one URL)
    for seq in (1, 2):
        part = members[(seq - 1) * 300: seq * 300]
        batch = Batch("run-2", "remove", seq, 2, [Change(m[:12], "remove", {"EMAIL": m}) for m in part])
        assert {r.outcome for r in sender.send(batch)} == {"accepted"}
    sessions = [r["session"] for r in deletes(meta)]
    # THEN one session id, strictly rising batch numbers, one estimate, and only the very last request flagged last
    assert len(sessions) > 2
    assert len({s["session_id"] for s in sessions}) == 1
    numbers = [s["batch_seq"] for s in sessions]
    assert numbers == sorted(set(numbers))
    assert {s["estimated_num_total"] for s in sessions} == {600}
    assert [s["last_batch_flag"] for s in sessions] == [False] * (len(sessions) - 1) + [True]
    assert meta.audiences["77"] == {}


def test_a_mirror_sync_removes_thousands_of_members_through_the_engine(emulators, connections, warehouse):
    # GIVEN an audience of 5,300 synced to Meta by hashed e-mail
    spec = audience_sync("meta", fields={"EMAIL": "email_sha256"}, max_remove_share=1.0)
    warehouse.replace("audience_members", audience_rows("champions", range(5_300)))
    assert run_sync(spec, connections=connections, warehouse=warehouse.path).accepted == 5_300
    # WHEN 5,000 of them leave the audience
    warehouse.replace("audience_members", audience_rows("champions", range(5_000, 5_300)))
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the run removes them all, in DELETEs within the URL budget, and Meta keeps only the 300 who stayed
    assert report.accepted == 5_000 and report.rejected == 0
    meta = emulators["meta_audiences"]
    assert max(r["target_bytes"] for r in deletes(meta)) <= URL_BUDGET
    stayed = {row["email_sha256"] for row in audience_rows("champions", range(5_000, 5_300))}
    assert set(meta.audiences["2385000001"]) == stayed


def test_a_row_too_long_for_any_url_is_rejected_unsent_and_the_rest_still_leave(emulators, connections):
    meta = emulators["meta_audiences"]
    keep, other = DOCUMENTED_PH, DOCUMENTED_EM
    meta.audiences["77"] = {keep: [keep], other: [other]}
    changes = [Change("huge", "remove", {"EXTERN_ID": "x" * URL_BUDGET}), Change("ok", "remove", {"EXTERN_ID": "", "EMAIL": other})]
    results = destination(connections).send(Batch("run-3", "remove", 1, 1, changes))
    by_key = {r.key: r for r in results}
    assert by_key["huge"].outcome == "rejected" and not by_key["huge"].sent
    assert "over the 8000-byte limit" in by_key["huge"].reason
    assert by_key["ok"].outcome == "accepted"
    assert sorted(meta.audiences["77"]) == [keep]
