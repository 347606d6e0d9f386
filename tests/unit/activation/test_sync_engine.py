"""The sync engine against the sandbox emulators: diffing, modes, rejections, thresholds, dry runs."""

from __future__ import annotations

import logging

import pytest
import requests
from activation_fixtures import (
    audience_rows,
    audience_sync,
    email_of,
    feed_rows,
    feed_sync,
    sha,
)

from narrowcast.activation import SyncFailed, run_sync


def api_requests(sandbox, prefix: str) -> int:
    return requests.get(f"{sandbox.url}/_sandbox/stats/{prefix}", timeout=5).json()["requests"]


def test_first_sync_sends_every_member_and_the_unchanged_rerun_makes_zero_calls(sandbox, emulators, connections, warehouse):
    # GIVEN an audience of 250 members never synced
    warehouse.replace("audience_members", audience_rows("champions", range(250)))
    spec = audience_sync("meta", batch_size=100)
    # WHEN the sync runs twice without any mart change
    first = run_sync(spec, connections=connections, warehouse=warehouse.path)
    calls_after_first = api_requests(sandbox, "meta")
    second = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the first run sends all 250 in 3 requests, the second sends nothing at all
    assert (first.planned_adds, first.accepted, first.api_calls) == (250, 250, 3)
    members = emulators["meta_audiences"].snapshot()["audiences"]["2385000001"]
    assert members == sorted(r["email_sha256"] for r in audience_rows("champions", range(250)))
    assert (second.planned, second.sent, second.api_calls) == (0, 0, 0)
    assert api_requests(sandbox, "meta") == calls_after_first
    assert warehouse.query("select count(*) from activation.sync_state")[0][0] == 250


def test_a_one_percent_change_sends_only_the_changed_rows(emulators, connections, warehouse):
    rows = audience_rows("champions", range(300))
    warehouse.replace("audience_members", rows)
    spec = audience_sync("google")
    run_sync(spec, connections=connections, warehouse=warehouse.path)
    jobs_before = len(emulators["google_customer_match"].jobs)
    # WHEN 3 of 300 members (1%) get a new phone number
    for row in rows[:3]:
        row["phone_sha256"] = sha(f"new-{row['customer_id']}")
    warehouse.replace("audience_members", rows)
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN exactly those three are planned and sent, in one job (create, addOperations, run), after one
    # status query for the first run's job
    assert (report.planned_adds, report.planned_changes, report.planned_removes) == (0, 3, 0)
    assert (report.sent, report.accepted, report.api_calls) == (3, 3, 4)
    job = list(emulators["google_customer_match"].jobs.values())[-1]
    assert len(emulators["google_customer_match"].jobs) == jobs_before + 1
    # the old identifiers are removed before the new ones are added
    assert [next(iter(op)) for op in job["operations"]] == ["remove", "create"] * 3
    user_list = emulators["google_customer_match"].user_lists["customers/1234567890/userLists/555"]
    assert user_list[rows[0]["email_sha256"]] == [{"hashedEmail": rows[0]["email_sha256"]},
                                                  {"hashedPhoneNumber": sha("new-0")}]


@pytest.mark.parametrize(("mode", "expected_members"), [
    pytest.param("mirror", 8, id="mirror-removes-members-who-left"),
    pytest.param("add_only", 10, id="add-only-keeps-members-who-left"),
])
def test_members_who_left_the_segment_are_removed_only_in_mirror_mode(mode, expected_members, emulators, connections,
                                                                      warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(10)))
    spec = audience_sync("meta", mode=mode)
    run_sync(spec, connections=connections, warehouse=warehouse.path)
    warehouse.replace("audience_members", audience_rows("champions", range(2, 10)))
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert report.planned_removes == (2 if mode == "mirror" else 0)
    assert len(emulators["meta_audiences"].snapshot()["audiences"]["2385000001"]) == expected_members


def test_klaviyo_list_members_are_imported_with_properties_and_removed_by_profile_id(emulators, connections, warehouse):
    warehouse.replace("audience_members", audience_rows("win_back", range(5)))
    spec = audience_sync("klaviyo", "win_back")
    run_sync(spec, connections=connections, warehouse=warehouse.path)
    snapshot = emulators["klaviyo"].snapshot()
    assert snapshot["lists"]["LIST1"] == ["0", "1", "2", "3", "4"]
    assert snapshot["profiles"]["3"]["properties"] == {"rfm_segment": "Champions", "discount_code": "WB3"}
    # the engine keeps no plain e-mail in its state (declared pii)
    assert all("@" not in (p or "") for (p,) in warehouse.query("select payload from activation.sync_state"))
    warehouse.replace("audience_members", audience_rows("win_back", range(1, 5)))
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (report.planned_removes, report.accepted) == (1, 1)
    assert emulators["klaviyo"].snapshot()["lists"]["LIST1"] == ["1", "2", "3", "4"]


def test_rejected_rows_are_logged_with_the_reason_and_retried_next_run(emulators, connections, warehouse):
    # GIVEN a feed with one offer eBay does not know (yet)
    rows = feed_rows(30, ("ebay",))
    rows[7]["listing_id"] = "999999"
    warehouse.replace("marketplace_listing_feed", rows)
    spec = feed_sync("ebay")
    first = run_sync(spec, connections=connections, warehouse=warehouse.path, rejected_threshold=0.5)
    assert (first.accepted, first.rejected) == (29, 1)
    rejection = warehouse.query("select record_key, operation, reason, resolved_at from activation.sync_rejections")
    assert rejection[0][:2] == ("SKU-00007", "add")
    assert "This Offer is not available" in rejection[0][2] and rejection[0][3] is None
    # WHEN the merchant creates the offer and the sync runs again
    emulators["ebay_inventory"].seed_offers([("999999", "SKU-00007")])
    second = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN only the rejected row is re-sent, and its rejection is marked resolved
    assert (second.planned_adds, second.accepted, second.rejected) == (1, 1, 0)
    assert emulators["ebay_inventory"].offers["999999"]["quantity"] == 5
    assert warehouse.query("select count(*) from activation.sync_rejections where resolved_at is null")[0][0] == 0


def test_a_run_above_the_rejection_threshold_fails_loudly_after_writing_state_and_log(emulators, connections, warehouse):
    rows = audience_rows("champions", range(20))
    for row in rows[:5]:
        row["email_sha256"] = email_of(row["customer_id"])  # a raw e-mail where a hash belongs
    warehouse.replace("audience_members", rows)
    with pytest.raises(SyncFailed, match=r"5 of 20 rows rejected \(25.0% > threshold 5.0%\)") as failure:
        run_sync(audience_sync("meta"), connections=connections, warehouse=warehouse.path, rejected_threshold=0.05)
    assert failure.value.report is not None and failure.value.report.accepted == 15
    status, rejected = warehouse.query("select status, rejected from activation.sync_runs")[0]
    assert (status, rejected) == ("failed", 5)
    assert warehouse.query("select count(*) from activation.sync_state")[0][0] == 15
    reasons = {r for (r,) in warehouse.query("select reason from activation.sync_rejections")}
    assert reasons == {"refused to send: field(s) EMAIL not a 64-hex SHA-256"}
    # the engine refused to send them: Meta never saw a raw e-mail
    snapshot = emulators["meta_audiences"].snapshot()
    assert snapshot["invalid_values"] == []
    assert not any("@" in m for m in snapshot["audiences"]["2385000001"])


def test_no_raw_email_appears_in_the_logs(caplog, emulators, connections, warehouse):
    rows = audience_rows("champions", range(6))
    rows[0]["email_sha256"] = email_of(0)
    warehouse.replace("audience_members", rows)
    caplog.set_level(logging.DEBUG)
    run_sync(audience_sync("meta"), connections=connections, warehouse=warehouse.path, rejected_threshold=1.0)
    run_sync(audience_sync("klaviyo"), connections=connections, warehouse=warehouse.path, rejected_threshold=1.0)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "the engine logs its runs"
    assert "@" not in text and "sandbox-token" not in text


@pytest.mark.parametrize("kind", [
    pytest.param("meta", id="meta-audience"),
    pytest.param("klaviyo", id="klaviyo-list"),
])
def test_a_dry_run_predicts_exactly_what_the_real_run_then_does(kind, emulators, connections, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(40)))
    spec = audience_sync(kind)
    run_sync(spec, connections=connections, warehouse=warehouse.path)
    changed = audience_rows("champions", range(5, 47))
    for row in changed[:4]:
        row["discount_code"], row["phone_sha256"] = "NEW", sha(f"p{row['customer_id']}")
    warehouse.replace("audience_members", changed)
    calls = sum(emulators[n].snapshot().get("requests", {}).get("POST", 0) for n in ("meta_audiences",))
    dry = run_sync(spec, connections=connections, warehouse=warehouse.path, dry_run=True)
    assert dry.api_calls == 0 and dry.sent == 0
    assert calls == sum(emulators[n].snapshot().get("requests", {}).get("POST", 0) for n in ("meta_audiences",))
    real = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (dry.planned_adds, dry.planned_changes, dry.planned_removes) == (
        real.planned_adds, real.planned_changes, real.planned_removes)
    assert real.accepted == dry.planned and real.planned_adds == 7 and real.planned_removes == 5
    runs = warehouse.query("select dry_run, planned_adds, planned_changes, planned_removes from activation.sync_runs "
                           "order by started_at")
    assert runs[-2][1:] == runs[-1][1:] and runs[-2][0] is True


def test_meta_removals_leave_as_a_delete_with_query_string_parameters_whatever_the_audience_size(
        emulators, connections, warehouse):
    # GIVEN an audience of 101 members (Meta documents no minimum size for removals)
    warehouse.replace("audience_members", audience_rows("champions", range(101)))
    spec = audience_sync("meta")
    run_sync(spec, connections=connections, warehouse=warehouse.path)
    # WHEN five members leave the segment
    warehouse.replace("audience_members", audience_rows("champions", range(5, 101)))
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the removals are accepted through a DELETE whose payload and session came in the query string
    assert (report.planned_removes, report.accepted, report.skipped) == (5, 5, 0)
    deletes = [r for r in emulators["meta_audiences"].received if r["method"] == "DELETE"]
    assert sum(r["rows"] for r in deletes) == 5 and all(r["session"] for r in deletes)
    assert len(emulators["meta_audiences"].snapshot()["audiences"]["2385000001"]) == 96


def test_a_group_runs_every_sync_even_when_one_fails_then_raises(tmp_path, emulators, connections, warehouse):
    import yaml

    from narrowcast.activation import run_group

    folder = tmp_path / "syncs"
    folder.mkdir()
    base = {"model": "audience_members", "key": "customer_id", "filter": {"audience_id": "champions"},
            "schedule": "audiences", "destination": "meta_audiences", "object": "custom_audience",
            "fields": {"EMAIL": "email_sha256"}}
    (folder / "a_unconfigured.yml").write_text(yaml.safe_dump(
        {**base, "connection": "narrowcast_nowhere", "target": {"audience_id": "1"}}))
    (folder / "b_meta.yml").write_text(yaml.safe_dump(
        {**base, "connection": "narrowcast_meta", "target": {"audience_id": "2"}}))
    warehouse.replace("audience_members", audience_rows("champions", range(5)))
    with pytest.raises(SyncFailed, match="connection 'narrowcast_nowhere' is not configured"):
        run_group("audiences", connections=connections, warehouse=warehouse.path, syncs_dir=folder)
    # the failing sync did not stop the next one, and both are in the run log
    assert len(emulators["meta_audiences"].snapshot()["audiences"]["2"]) == 5
    assert sorted(warehouse.query("select sync_id, status from activation.sync_runs")) == [
        ("a_unconfigured", "failed"), ("b_meta", "success")]
