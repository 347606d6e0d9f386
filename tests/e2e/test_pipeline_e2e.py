"""End to end through Airflow: the demo command on a small shop, then re-runs, a backfill and API faults.

GIVEN a freshly generated shop served by the sandbox, WHEN every DAG runs as ``airflow dags test`` runs it (the
demo runs them all in one Airflow process), THEN every stage has rows and the counts add up; re-running intervals
(with 20% of API calls failing, and as daily backfill runs) leaves the warehouse byte-for-byte the same;
activating unchanged marts again, with the operator's own ``airflow dags test`` command, sends nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest
from pipeline_run import DEMO_DAYS, dags_test, run_dags

pytestmark = pytest.mark.e2e

MARTS = ("customer_rfm", "customer_segments", "customer_recommendations", "kpi_channel_daily", "kpi_funnel",
         "budget_vs_actual", "marketplace_listing_feed", "audience_members")
START = date(2026, 8, 1)
END = START + timedelta(days=DEMO_DAYS)


def _raw_fingerprint(warehouse) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every raw table (bookkeeping columns excluded)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]
        out = {}
        for table in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema='raw' and table_name=? "
                "and column_name not like '\\_%' escape '\\' order by ordinal_position", [table]).fetchall()]
            row = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(
                f"select count(*), coalesce(sum(hash({row})), 0) from raw.{table}").fetchone()
        return out
    finally:
        con.close()


def test_the_demo_runs_every_stage_and_prints_its_summary(pipeline):
    assert pipeline.returncode == 0, pipeline.stdout[-4000:]
    for expected in ("extract_shop", "transform", "activate_audiences", "Rows per stage", "Syncs (latest run each)",
                     "Airflow UI", "dbt docs"):
        assert expected in pipeline.stdout


def test_every_mart_has_rows(pipeline):
    con = duckdb.connect(str(pipeline.warehouse), read_only=True)
    try:
        counts = {m: con.execute(f"select count(*) from main.{m}").fetchone()[0] for m in MARTS}
    finally:
        con.close()
    assert all(n > 0 for n in counts.values()), counts


def test_received_rows_are_always_loaded_or_quarantined(pipeline):
    con = duckdb.connect(str(pipeline.warehouse), read_only=True)
    try:
        bad = con.execute(
            "select batch_id, received, loaded, quarantined from meta.batches "
            "where status = 'loaded' and received <> loaded + quarantined").fetchall()
        total = con.execute("select sum(received) from meta.batches").fetchone()[0]
    finally:
        con.close()
    assert bad == [] and total > 0


def test_rerunning_every_extract_interval_with_20pct_api_faults_changes_nothing(pipeline, sandbox, tmp_path):
    before = _raw_fingerprint(pipeline.warehouse)
    for api in ("shopify", "meta", "google_ads", "ebay", "amazon"):
        sandbox.faults(api, rate_limit_share=0.1, retry_after_seconds=0.2, error_share=0.1, seed=3)
    window = {"start": START.isoformat(), "end": END.isoformat()}
    full = {"start": "2020-01-01", "end": END.isoformat()}
    try:
        runs = run_dags(pipeline.env, tmp_path, [
            (dag_id, END.isoformat(), conf)
            for dag_id, conf in (("extract_shop", full), ("extract_marketplace_orders", full),
                                 ("extract_ad_costs", window), ("extract_web_events", window))])
        injected = sum(sum(sandbox.stats(api)["faults_injected"].values())
                       for api in ("shopify", "meta", "google_ads", "ebay", "amazon"))
    finally:
        for api in ("shopify", "meta", "google_ads", "ebay", "amazon"):
            sandbox.faults(api)  # back to no faults for the tests that follow
    assert runs.failure() == ""
    assert [run["dag_id"] for run in runs.finished[1:]] == [
        "extract_shop", "extract_marketplace_orders", "extract_ad_costs", "extract_web_events"]
    assert injected > 0, "the faults must actually have been exercised"
    assert _raw_fingerprint(pipeline.warehouse) == before


def test_a_backfill_of_daily_intervals_leaves_the_same_rows(pipeline, sandbox, tmp_path):
    """Three consecutive daily runs of the ad-cost DAG, as `airflow backfill create` schedules them."""
    before = _raw_fingerprint(pipeline.warehouse)
    days = [(END - timedelta(days=offset)).isoformat() for offset in range(3, 0, -1)]
    runs = run_dags(pipeline.env, tmp_path, [("extract_ad_costs", day, {}) for day in days])
    assert runs.failure() == ""
    assert [run["dag_id"] for run in runs.finished[1:]] == ["extract_ad_costs"] * 3
    assert _raw_fingerprint(pipeline.warehouse) == before


def test_activating_unchanged_marts_again_sends_nothing(pipeline, sandbox):
    """Through ``airflow dags test``, one process per DAG: the command an operator runs."""
    for dag_id in ("activate_audiences", "activate_inventory"):
        proc = dags_test(pipeline.env, dag_id, END.isoformat())
        assert proc.returncode == 0, (dag_id, proc.stdout[-3000:])
    con = duckdb.connect(str(pipeline.warehouse), read_only=True)
    try:
        rows = con.execute("""
            select sync_id, sent, api_calls, jobs_pending, rows_requeued from activation.sync_runs
            qualify row_number() over (partition by sync_id order by started_at desc) = 1
        """).fetchall()
    finally:
        con.close()
    # No diff is sent, and no call is made, except by Google's syncs: Customer Match decides asynchronously, so
    # they first ask how the demo's jobs ended. This sandbox is a fresh process that never saw those jobs, so
    # Google answers "not found", only those jobs' rows are sent again, and the new job is the one left pending.
    assert rows and all(sent <= requeued for _, sent, _, _, requeued in rows), rows
    assert all(calls == sent == jobs == 0 for sync_id, sent, calls, jobs, _ in rows
               if not sync_id.endswith("_google")), rows
    assert all((jobs > 0) == (sent > 0) for sync_id, sent, _, jobs, _ in rows if sync_id.endswith("_google")), rows


def test_a_failed_dag_run_stops_the_demo_naming_its_step_and_log(pipeline, tmp_path):
    # GIVEN a run whose conf the extract rejects (after its retries), and a run planned after it
    from narrowcast import demo

    plan = [{"step": "bad-window", "dag_id": "extract_web_events", "logical_date": END.isoformat(),
             "conf": {"start": "not-a-date", "end": END.isoformat()}},
            {"step": "after-it", "dag_id": "activate_inventory", "logical_date": END.isoformat(), "conf": {}}]
    # WHEN the demo's runner runs the plan (the failure alert written into a data dir of its own)
    env = {**pipeline.env, "NARROWCAST_DATA_DIR": str(tmp_path / "data")}
    with pytest.raises(demo.DemoError) as failed:
        demo.run_dags(plan, env, tmp_path)
    # THEN the error names the step and its log, the log holds the task's error, and nothing after it ran
    log = tmp_path / "bad-window.log"
    assert f"step 'bad-window' failed; full log: {log}" in str(failed.value)
    assert "run conf start='not-a-date' is not an ISO date or timestamp" in log.read_text()
    assert not (tmp_path / "after-it.log").exists()
