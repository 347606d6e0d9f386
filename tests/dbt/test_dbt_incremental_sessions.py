"""int_web_events and int_sessions built incrementally (with late events inside the lookback) equal a full refresh."""

from __future__ import annotations

import re
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pandas as pd
import pytest
from dbt_invocation import run_dbt

pytestmark = pytest.mark.e2e  # three dbt invocations

# cautious: the seeds' relationships tests from models outside this selection (orders, budgets) are left out
SELECT = ["--select", "channel_mapping", "channels", "stg_ga4__events", "int_web_events", "int_sessions",
          "--indirect-selection", "cautious"]
CUTOFF = "2026-03-29"  # events on or after this day arrive in the second load
# ... and so do events of sessions on days already built (late events inside the lookback, one of them on the
# day before the newest): those days are replaced in int_web_events and the sessions rebuilt with them
LATE = f"""(event_date >= date '{CUTOFF}' or event_key in (
    select event_key from raw.ga4_events
    where (event_date = date '2026-03-28' and event_name in ('view_item', 'add_to_cart'))
       or (event_date = date '2026-03-27' and event_name = 'purchase')))"""


def _sessions(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql("select * from main.int_sessions").df()
    return frame.sort_values("session_key").reset_index(drop=True)


def _events(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql("select * exclude (loaded_at) from main.int_web_events").df()
    return frame.sort_values("event_key").reset_index(drop=True)


def test_incremental_run_with_late_events_equals_full_refresh(tmp_path: Path, dbt_target_path: Path) -> None:
    # GIVEN a warehouse holding only the events before the cutoff, built once
    incremental = fixture.build(tmp_path / "incremental" / "warehouse.duckdb")
    with duckdb.connect(str(incremental)) as con:
        con.execute(f"create table late_events as select * from raw.ga4_events where {LATE}")
        con.execute(f"create table late_params as select * from raw.ga4_event_params where {LATE}")
        late_on_built_day = con.execute("select count(*) from late_events where event_date < ?", [CUTOFF]).fetchone()
        con.execute(f"delete from raw.ga4_event_params where {LATE}")  # first: LATE reads raw.ga4_events
        con.execute(f"delete from raw.ga4_events where {LATE}")
    assert late_on_built_day[0] > 0
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
    full = fixture.build(tmp_path / "full" / "warehouse.duckdb")
    run_dbt(["build", *SELECT, "--full-refresh"], warehouse=full, target_path=dbt_target_path)
    # THEN both hold exactly the same events and sessions
    pd.testing.assert_frame_equal(_events(incremental), _events(full))
    pd.testing.assert_frame_equal(_sessions(incremental), _sessions(full))
    # one session per scenario session, and u3's events without ga_session_id split in two by the timeout
    assert len(_sessions(full)) == len(fixture.SESSIONS) + 2
