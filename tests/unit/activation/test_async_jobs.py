"""Asynchronous destination jobs (Google Customer Match): accepted rows wait for the job's outcome, asked on the
next runs; a job that fails later puts its rows back into the plan, whatever their operation was."""

from __future__ import annotations

import itertools

import duckdb
import requests
from activation_fixtures import audience_rows, audience_sync, sha

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.base import JobStatus, SendContext
from narrowcast.activation.destinations.google_customer_match import GoogleCustomerMatch
from narrowcast.activation.report import SyncReport
from narrowcast.activation.state import ensure_tables, write_run
from narrowcast.http import TokenBucket
from narrowcast.warehouse import DuckDBWarehouse

USER_LIST = "customers/1234567890/userLists/555"


def members(emulators) -> dict[str, list[dict[str, str]]]:
    return emulators["google_customer_match"].user_lists.get(USER_LIST, {})


def jobs_table(warehouse) -> list[tuple]:
    return warehouse.query("select status, reason from activation.sync_jobs order by submitted_at, job")


def test_rows_of_a_running_job_wait_and_are_confirmed_when_it_succeeds(emulators, connections, warehouse):
    google = emulators["google_customer_match"]
    google.hold_jobs = True
    warehouse.replace("audience_members", audience_rows("champions", range(4)))
    spec = audience_sync("google")
    # WHEN the first run sends four members into a job that Google is still processing
    first = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN they count as accepted into a pending job, with nothing in the list yet
    assert (first.accepted, first.jobs_pending, first.api_calls) == (4, 1, 3)
    assert members(emulators) == {}
    assert jobs_table(warehouse) == [("pending", None)]
    assert warehouse.query("select count(*) from activation.sync_job_rows")[0][0] == 4
    # WHEN the next run finds the job still running: one status query, nothing to send, still pending
    second = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (second.planned, second.api_calls, second.jobs_pending, second.jobs_failed) == (0, 1, 1, 0)
    # WHEN the job succeeds before the third run
    assert len(google.finish_jobs()) == 1
    third = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the job is settled and its rows forgotten; the members are in the list
    assert (third.planned, third.api_calls, third.jobs_pending, third.jobs_failed) == (0, 1, 0, 0)
    assert jobs_table(warehouse) == [("succeeded", None)]
    assert warehouse.query("select count(*) from activation.sync_job_rows")[0][0] == 0
    assert sorted(members(emulators)) == sorted(r["email_sha256"] for r in audience_rows("champions", range(4)))
    # and a fourth run has no job left to ask about
    assert run_sync(spec, connections=connections, warehouse=warehouse.path).api_calls == 0


def test_a_failed_job_puts_its_adds_back_into_the_plan_and_logs_each_row(emulators, connections, warehouse):
    google = emulators["google_customer_match"]
    google.hold_jobs = True
    rows = audience_rows("champions", range(5))
    warehouse.replace("audience_members", rows)
    spec = audience_sync("google")
    run_sync(spec, connections=connections, warehouse=warehouse.path)
    google.finish_jobs(failure_reason="UNKNOWN")
    google.hold_jobs = False
    # WHEN the next run learns that the job failed
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the five rows are planned and sent again in the same run, and reach the list
    assert (report.jobs_failed, report.rows_requeued) == (1, 5)
    assert (report.planned_adds, report.accepted, report.api_calls) == (5, 5, 4)  # status query + job
    assert sorted(members(emulators)) == sorted(r["email_sha256"] for r in rows)
    assert jobs_table(warehouse)[0] == ("failed", "FAILED (UNKNOWN)")
    # each row's failure is logged with the job, and resolved by the re-send
    logged = warehouse.query("select record_key, operation, reason, resolved_at is not null from "
                             "activation.sync_rejections order by record_key")
    job = next(iter(google.jobs))
    assert logged == [(str(c), "add", f"asynchronous job {job} failed: FAILED (UNKNOWN)", True) for c in range(5)]


def test_a_failed_job_of_changes_and_removes_is_replayed_from_the_previous_state(emulators, connections, warehouse):
    google = emulators["google_customer_match"]
    rows = audience_rows("champions", range(4))
    warehouse.replace("audience_members", rows)
    # one leaver of four members is over the removal guard's default share; the guard is not under test here
    spec = audience_sync("google", mode="mirror", max_remove_share=1.0)
    run_sync(spec, connections=connections, warehouse=warehouse.path)  # the emulator finishes this job at once
    old_phone = rows[1]["phone_sha256"]
    # WHEN member 1 changes phone and member 3 leaves, and the job carrying both fails
    rows[1]["phone_sha256"] = sha("new-phone-1")
    warehouse.replace("audience_members", [r for r in rows if r["customer_id"] != 3])
    google.hold_jobs = True
    sent = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (sent.planned_changes, sent.planned_removes, sent.jobs_pending) == (1, 1, 2)  # upsert and remove jobs
    google.finish_jobs(failure_reason="UNSPECIFIED")
    google.hold_jobs = False
    replay = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the next run plans the same change (removing the old phone again) and the same remove
    assert (replay.jobs_failed, replay.rows_requeued) == (2, 2)
    assert (replay.planned_adds, replay.planned_changes, replay.planned_removes) == (0, 1, 1)
    last_upsert = [job for job in google.jobs.values() if any("create" in op for op in job["operations"])][-1]
    assert last_upsert["operations"][0] == {"remove": {"userIdentifiers": [{"hashedEmail": rows[1]["email_sha256"]},
                                                                           {"hashedPhoneNumber": old_phone}]}}
    assert sorted(members(emulators)) == sorted(r["email_sha256"] for r in rows[:3])
    assert members(emulators)[rows[1]["email_sha256"]][1] == {"hashedPhoneNumber": sha("new-phone-1")}
    # and the state matches the model again: a further run plans nothing
    assert run_sync(spec, connections=connections, warehouse=warehouse.path).planned == 0


def test_a_row_a_later_run_moved_on_is_not_rewound_by_an_older_failed_job(emulators, connections, warehouse):
    google = emulators["google_customer_match"]
    google.hold_jobs = True
    rows = audience_rows("champions", range(2))
    warehouse.replace("audience_members", rows)
    spec = audience_sync("google")
    run_sync(spec, connections=connections, warehouse=warehouse.path)  # job 1: adds 0 and 1, still running
    rows[0]["phone_sha256"] = sha("second-phone")
    warehouse.replace("audience_members", rows)
    run_sync(spec, connections=connections, warehouse=warehouse.path)  # job 2: changes 0, still running
    # WHEN job 1 fails and job 2 succeeds
    google.jobs[next(iter(google.jobs))]["status"] = "FAILED"
    google.hold_jobs = False
    google.finish_jobs()
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN only member 1 is re-sent: member 0's state already comes from the succeeded job 2
    assert (report.jobs_failed, report.rows_requeued, report.planned_adds, report.planned_changes) == (1, 2, 1, 0)
    assert sorted(members(emulators)) == sorted(r["email_sha256"] for r in rows)


def test_an_unreadable_job_status_leaves_the_job_pending_and_the_sync_running(sandbox, emulators, connections,
                                                                              warehouse):
    emulators["google_customer_match"].hold_jobs = True
    warehouse.replace("audience_members", audience_rows("champions", range(3)))
    spec = audience_sync("google")
    run_sync(spec, connections=connections, warehouse=warehouse.path)
    sandbox.faults("google_ads", error_share=1.0)
    try:
        report = run_sync(spec, connections=connections, warehouse=warehouse.path)
        refused = sandbox.stats("google_ads")["faults_injected"]
    finally:
        sandbox.faults("google_ads")
    # the status query was made (and retried) and every attempt refused; the job stays pending
    assert sum(refused.values()) == report.api_calls > 1
    assert (report.status, report.jobs_pending, report.jobs_failed) == ("success", 1, 0)
    assert jobs_table(warehouse) == [("pending", None)]


def test_google_job_statuses_map_every_state_and_unknown_jobs(emulators, connections):
    google = emulators["google_customer_match"]
    destination = GoogleCustomerMatch(SendContext(connection=connections["narrowcast_google_ads"],
                                                  target={"customer_id": "1234567890", "user_list_id": "9"},
                                                  object="customer_match_list", rate_limiter=TokenBucket(100, 10)))
    google.jobs.update({
        "customers/1234567890/offlineUserDataJobs/1": {"status": "SUCCESS", "operations": []},
        "customers/1234567890/offlineUserDataJobs/2": {"status": "RUNNING", "operations": []},
        "customers/1234567890/offlineUserDataJobs/3": {"status": "FAILED", "operations": [],
                                                       "failure_reason": "INSUFFICIENT_MATCHED_TRANSACTIONS"},
        "customers/1234567890/offlineUserDataJobs/4": {"status": "PENDING", "operations": []},
    })
    asked = [f"customers/1234567890/offlineUserDataJobs/{i}" for i in range(1, 6)]
    statuses = destination.job_statuses(asked)
    assert statuses == {
        asked[0]: JobStatus("succeeded"),
        asked[1]: JobStatus("pending"),
        asked[2]: JobStatus("failed", "FAILED (INSUFFICIENT_MATCHED_TRANSACTIONS)"),
        asked[3]: JobStatus("pending"),
        asked[4]: JobStatus("failed", "job not found at Google Ads"),
    }
    assert destination.api_calls == 1  # one GAQL query for up to 100 jobs


def test_a_run_log_table_from_before_the_job_columns_gains_them(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema activation")
        con.execute("""create table activation.sync_runs (
            run_id varchar not null, sync_id varchar not null, started_at timestamp not null, finished_at timestamp,
            dry_run boolean not null, status varchar not null, planned_adds bigint, planned_changes bigint,
            planned_removes bigint, sent bigint, accepted bigint, rejected bigint, skipped bigint, api_calls bigint,
            duration_seconds double, error varchar)""")
        con.execute("insert into activation.sync_runs values ('old', 's', now()::timestamp, null, false, 'success', "
                    "0, 0, 0, 0, 0, 0, 0, 0, 0.1, null)")
        ensure_tables(DuckDBWarehouse(con))
        write_run(DuckDBWarehouse(con), SyncReport(run_id="new", sync_id="s", dry_run=False, status="success", jobs_pending=2),
                  finished=True)
        assert con.execute("select run_id, jobs_pending from activation.sync_runs order by run_id").fetchall() == [
            ("new", 2), ("old", 0)]


def test_a_row_through_two_failed_jobs_is_rewound_to_the_state_before_both(emulators, connections, warehouse):
    google = emulators["google_customer_match"]
    rows = audience_rows("champions", [1])
    first_phone = rows[0]["phone_sha256"]
    warehouse.replace("audience_members", rows)
    spec = audience_sync("google")
    run_sync(spec, connections=connections, warehouse=warehouse.path)  # confirmed with its first phone
    google.hold_jobs = True
    for phone in ("second", "third"):  # two changes, each in a job that is still running at the next run
        rows[0]["phone_sha256"] = sha(phone)
        warehouse.replace("audience_members", rows)
        run_sync(spec, connections=connections, warehouse=warehouse.path)
    # WHEN both jobs fail
    assert len(google.finish_jobs(failure_reason="UNKNOWN")) == 2
    google.hold_jobs = False
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the row is back at its first confirmed phone, so the re-sent change removes that one
    assert (report.jobs_failed, report.planned_changes) == (2, 1)
    last = list(google.jobs.values())[-1]
    assert last["operations"][0]["remove"]["userIdentifiers"][1] == {"hashedPhoneNumber": first_phone}
    assert members(emulators)[rows[0]["email_sha256"]][1] == {"hashedPhoneNumber": sha("third")}


def test_a_job_name_the_destination_hands_out_again_is_followed_as_a_new_job(sandbox, emulators, connections,
                                                                             warehouse):
    google = emulators["google_customer_match"]
    warehouse.replace("audience_members", audience_rows("champions", range(3)))
    spec = audience_sync("google")
    google._ids = itertools.count(1)
    run_sync(spec, connections=connections, warehouse=warehouse.path)  # job .../1
    # WHEN the destination forgets its jobs and numbers them from 1 again (a restarted sandbox)
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    google._ids = itertools.count(1)
    google.hold_jobs = True
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN job 1 is unknown, its rows are sent again into a new job also named .../1, which is followed as pending
    assert (report.jobs_failed, report.sent, report.jobs_pending) == (1, 3, 1)
    assert jobs_table(warehouse) == [("pending", None)]
    google.finish_jobs()
    assert run_sync(spec, connections=connections, warehouse=warehouse.path).jobs_pending == 0
    assert jobs_table(warehouse) == [("succeeded", None)]
