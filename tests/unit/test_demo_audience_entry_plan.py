"""The demo records audience membership before the outcome window, so audience_uplift has outcomes to measure.

GIVEN the demo's 92-day world, WHEN its first run is planned, THEN a transform at the audience entry day (40 days
before the end) runs after the extracts and before the final transform; a re-run (the history exists) plans none,
so the membership history never goes back in time. A daily range plan reads one day from every source.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from narrowcast import demo, settings

WORLD = demo.WorldArgs(customers=5000, days=92, start="2026-08-01", seed=42)


def test_a_first_run_transforms_at_the_entry_day_before_the_final_transform() -> None:
    steps = [(run["step"], run["conf"].get("as_of_date")) for run in
             demo.pipeline_plan(WORLD, record_audience_entry=True)]
    assert WORLD.audience_entry == date(2026, 9, 22)
    entry = steps.index(("transform-audience-entry", "2026-09-22"))
    final = steps.index(("transform", "2026-11-01"))
    assert steps.index(("extract_web_events", None)) < entry < final


def test_the_entry_transform_builds_only_the_audience_history_path_when_dbt_runs_as_one_task() -> None:
    def entry_conf(one_build_task: bool) -> dict:
        plan = demo.pipeline_plan(WORLD, record_audience_entry=True, one_build_task=one_build_task)
        return next(run["conf"] for run in plan if run["step"] == "transform-audience-entry")

    assert entry_conf(True) == {"as_of_date": "2026-09-22", "build": "audience_history"}
    # a transform with a task per dbt node builds the whole project, so the entry run asks for no partial build
    assert entry_conf(False) == {"as_of_date": "2026-09-22"}
    final = next(run for run in demo.pipeline_plan(WORLD, record_audience_entry=True) if run["step"] == "transform")
    assert "build" not in final["conf"]


def test_a_rerun_plans_no_entry_transform() -> None:
    steps = [run["step"] for run in demo.pipeline_plan(WORLD)]
    assert "transform-audience-entry" not in steps and "transform" in steps


def test_a_window_too_short_for_an_outcome_window_records_no_entry() -> None:
    short = demo.WorldArgs(customers=500, days=30, start="2026-08-01", seed=42)
    assert short.audience_entry is None
    assert "transform-audience-entry" not in [r["step"] for r in demo.pipeline_plan(short, record_audience_entry=True)]


def test_no_warehouse_means_no_membership_recorded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NARROWCAST_WAREHOUSE", raising=False)
    assert not demo.membership_recorded(settings.Paths(tmp_path))


def test_a_daily_range_reads_one_day_from_every_source_and_transforms_as_of_the_next_day() -> None:
    plan = demo.range_plan(date(2026, 10, 31), date(2026, 11, 1), first_load=False)
    extracts = [run for run in plan if run["dag_id"].startswith("extract_")]
    assert [run["dag_id"] for run in extracts] == list(demo.EXTRACT_DAGS)
    # entity sources too: a daily run reads what changed that day, not everything since the first-load start
    assert {(run["conf"]["start"], run["conf"]["end"]) for run in extracts} == {("2026-10-31", "2026-11-01")}
    transform = next(run for run in plan if run["dag_id"] == "transform")
    assert transform["conf"] == {"as_of_date": "2026-11-01"}
    assert sorted(run["dag_id"] for run in plan if run["dag_id"].startswith("activate_")) == \
        ["activate_audiences", "activate_inventory"]
    assert {run["logical_date"] for run in plan} == {"2026-11-01"}
