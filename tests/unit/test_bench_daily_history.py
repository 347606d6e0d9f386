"""The daily benchmark's short history: which GA4 export days it leaves out, the web extract's window, and that
the files it sets aside are out of the folders while it runs and back afterwards."""

from __future__ import annotations

import runpy
import sys
from datetime import date
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        yield runpy.run_path(str(BENCH / "bench_daily_pipeline.py"), run_name="bench_daily_history_test")
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize(("history_days", "left_out"), [
    pytest.param(None, [], id="without the option every export day loads"),
    pytest.param(2, [date(2026, 8, 1), date(2026, 8, 2)], id="two days before the day: the first two are left out"),
    pytest.param(10, [], id="more days than the history has: none is left out"),
])
def test_the_ga4_days_left_out_are_those_before_the_last_k_days(bench, history_days, left_out):
    # a world from 2026-08-01 whose day is 2026-08-05: the history holds 08-01 .. 08-04
    assert bench["ga4_days_left_out"](date(2026, 8, 1), date(2026, 8, 5), history_days) == left_out


def test_the_history_reads_web_events_from_the_first_loaded_day_and_every_other_source_whole(bench):
    plan = bench["history_plan"](date(2026, 8, 1), date(2026, 8, 30), date(2026, 8, 27))
    windows = {run["dag_id"]: run["conf"] for run in plan if run["dag_id"].startswith("extract_")}
    assert windows["extract_web_events"] == {"start": "2026-08-27", "end": "2026-08-30"}
    assert windows["extract_ad_costs"] == {"start": "2026-08-01", "end": "2026-08-30"}
    assert windows["extract_shop"]["start"] < "2026-08-01"  # the entity sources' first load: their whole history
    assert [run["dag_id"] for run in plan][-3:] == ["activate_inventory", "transform", "activate_audiences"]


def test_set_aside_exports_are_out_of_the_folder_while_it_runs_and_back_after(bench, tmp_path):
    exports = tmp_path / "exports" / "ga4"
    exports.mkdir(parents=True)
    for name in ("events_20260801.ndjson.gz", "events_20260802.ndjson.gz", "events_20260803.ndjson"):
        (exports / name).write_text("{}\n")
    with bench["held_back_exports"](tmp_path, [date(2026, 8, 1), date(2026, 8, 3)], "ga4-not-loaded") as held:
        assert held == ["events_20260801.ndjson.gz", "events_20260803.ndjson"]
        assert sorted(p.name for p in exports.iterdir()) == ["events_20260802.ndjson.gz"]
    assert sorted(p.name for p in exports.iterdir()) == ["events_20260801.ndjson.gz", "events_20260802.ndjson.gz",
                                                         "events_20260803.ndjson"]


def test_the_privacy_requests_left_out_are_the_drop_and_its_marker_only(bench, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("privacy_requests_20260830.csv", "privacy_requests_20260830.csv.done", "erp_stock_20260830.csv"):
        (inbox / name).write_text("x\n")
    assert [p.name for p in bench["privacy_request_files"](tmp_path)] == [
        "privacy_requests_20260830.csv", "privacy_requests_20260830.csv.done"]


def test_a_failed_dag_run_of_the_day_is_recorded_and_the_runs_after_it_still_measured(bench, tmp_path,
                                                                                       monkeypatch):
    from narrowcast import demo

    plan = [{"step": s} for s in ("extract_shop", "activate_audiences", "activate_inventory")]
    calls = []

    def run_dags(remaining, env, log_dir):
        calls.append((log_dir.name, [run["step"] for run in remaining]))
        log_dir.mkdir(parents=True, exist_ok=True)
        if remaining[0]["step"] == "extract_shop":
            (log_dir / "activate_audiences.log").write_text(
                "Traceback (most recent call last):\n"
                "narrowcast.activation.engine.SyncFailed: sync cross_sell_meta: 4419 of 4419 rows rejected\n")
            raise demo.DemoError("step 'activate_audiences' failed", "activate_audiences",
                                 {"parse-dags": 15.0, "extract_shop": 7.0, "activate_audiences": 40.0})
        return {"parse-dags": 14.0, "activate_inventory": 80.0}

    monkeypatch.setattr(demo, "run_dags", run_dags)
    seconds, failed, logs = bench["run_day"](plan, {}, tmp_path / "day")

    assert calls == [("day", ["extract_shop", "activate_audiences", "activate_inventory"]),
                     ("day-1", ["activate_inventory"])]
    assert seconds == {"parse-dags": 15.0, "extract_shop": 7.0, "activate_audiences": 40.0,
                       "parse-dags (runner 2)": 14.0, "activate_inventory": 80.0}
    assert failed == {"activate_audiences": "narrowcast.activation.engine.SyncFailed: sync cross_sell_meta: 4419 of "
                                            "4419 rows rejected"}
    assert logs["activate_inventory"] == tmp_path / "day-1" / "activate_inventory.log"
