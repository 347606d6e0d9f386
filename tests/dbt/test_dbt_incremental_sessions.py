"""int_sessions built incrementally (with late events inside the lookback) equals a full refresh."""

from __future__ import annotations

import re
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pandas as pd
import pytest
from dbt_invocation import run_dbt

pytestmark = pytest.mark.e2e  # three dbt invocations

SELECT = ["--select", "channel_mapping", "stg_ga4__events", "int_sessions"]
CUTOFF = "2026-03-29"  # events on or after this day arrive in the second load


def _sessions(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql("select * from main.int_sessions").df()
    return frame.sort_values("session_key").reset_index(drop=True)


def test_incremental_run_with_late_events_equals_full_refresh(tmp_path: Path, dbt_target_path: Path) -> None:
    # GIVEN a warehouse holding only the events before the cutoff, built once
    incremental = fixture.build(tmp_path / "incremental.duckdb")
    with duckdb.connect(str(incremental)) as con:
        con.execute("create table late_events as select * from raw.ga4_events where event_date >= ?", [CUTOFF])
        con.execute("create table late_params as select * from raw.ga4_event_params where event_date >= ?", [CUTOFF])
        con.execute("delete from raw.ga4_events where event_date >= ?", [CUTOFF])
        con.execute("delete from raw.ga4_event_params where event_date >= ?", [CUTOFF])
    run_dbt(["build", *SELECT, "--full-refresh"], warehouse=incremental, target_path=dbt_target_path)
    # WHEN the later (and late-arriving) events land and the model runs incrementally
    with duckdb.connect(str(incremental)) as con:
        con.execute("insert into raw.ga4_events select * from late_events")
        con.execute("insert into raw.ga4_event_params select * from late_params")
        con.execute("drop table late_events")
        con.execute("drop table late_params")
    run_dbt(["run", *SELECT], warehouse=incremental, target_path=dbt_target_path)
    # (the incremental cutoff is a literal date, so it reaches the event scans; no subquery on the model itself)
    compiled = (dbt_target_path / "compiled" / "narrowcast" / "models" / "intermediate" / "web"
                / "int_sessions.sql").read_text()
    assert re.search(r"where event_date >=\s*\(cast\('2026-03-\d\d' as date\)", compiled)
    assert "max(session_date)" not in compiled
    # AND a second warehouse with all events is built from scratch
    full = fixture.build(tmp_path / "full.duckdb")
    run_dbt(["build", *SELECT, "--full-refresh"], warehouse=full, target_path=dbt_target_path)
    # THEN both hold exactly the same sessions
    pd.testing.assert_frame_equal(_sessions(incremental), _sessions(full))
    assert len(_sessions(full)) == 12
