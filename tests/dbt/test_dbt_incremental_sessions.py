"""int_web_events, int_web_item_events and int_sessions built incrementally (late events inside the lookback, re-delivered
and new days) equal a full refresh, and a daily run replaces only the days whose raw rows changed."""

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
        frame = con.sql("select * exclude (built_at) from main.int_sessions").df()
    return frame.sort_values("session_key").reset_index(drop=True)


def _events(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql("select * exclude (loaded_at, built_at) from main.int_web_events").df()
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


WEB_SELECT = ["--select", "stg_ga4__events", "stg_ga4__event_items", "int_web_events", "int_web_item_events",
              "channel_mapping", "channels", "int_sessions", "--indirect-selection", "cautious"]
# The GA4 sessions of 2026-03-28 with no event on a day the incremental run below replaces
UNTOUCHED_SESSIONS = """
    select session_key from main.int_sessions
    where session_date = '2026-03-28' and not is_fallback_session and session_key not in (
        select user_pseudo_id || '-' || cast(ga_session_id as varchar) from main.int_web_events
        where event_date in ('2026-03-27', '2026-03-29', '2026-03-30') and ga_session_id is not null)"""
RAW_GA4 = ("ga4_events", "ga4_event_params", "ga4_event_items")
LATER_LOAD = "2026-04-01 06:00:00"


def _table(warehouse: Path, model: str, key: str) -> pd.DataFrame:
    """The model's rows but when they were built (a run's own time)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql(f"select * from main.{model}").df().drop(columns=["built_at"], errors="ignore")
    return frame.sort_values(key).reset_index(drop=True)


def test_incremental_run_replaces_only_the_days_whose_raw_rows_changed(tmp_path: Path,
                                                                        dbt_target_path: Path) -> None:
    # GIVEN the web models built from every GA4 day but the last (2026-03-30, the day a daily run brings)
    incremental = fixture.build(tmp_path / "incremental" / "warehouse.duckdb")
    with duckdb.connect(str(incremental)) as con:
        for table in RAW_GA4:
            con.execute(f"create table held_{table} as select * from raw.{table} where event_date = '2026-03-30'")
            con.execute(f"delete from raw.{table} where event_date = '2026-03-30'")
    run_dbt(["build", *WEB_SELECT, "--full-refresh"], warehouse=incremental, target_path=dbt_target_path)
    # ... and the built rows of an unchanged day inside the lookback (2026-03-28, with items) marked, so that a
    # rebuild of that day would show
    with duckdb.connect(str(incremental)) as con:
        con.execute("create table kept_items as select * from main.int_web_item_events where event_date = '2026-03-28'")
        con.execute(f"create table kept_sessions as select * from main.int_sessions where session_key in ({UNTOUCHED_SESSIONS})")
        con.execute("update main.int_sessions set landing_referrer = 'built before' "
                    "where session_key in (select session_key from kept_sessions)")
        con.execute("update main.int_web_events set page_title = 'built before' where event_date = '2026-03-28'")
        con.execute("update main.int_web_item_events set page_location = 'built before' "
                    "where event_date = '2026-03-28'")
        # WHEN GA4 re-delivers 2026-03-29 (same events, a page_location changed, loaded later) ...
        for table in RAW_GA4:
            con.execute(f"update raw.{table} set _loaded_at = '{LATER_LOAD}' where event_date = '2026-03-29'")
        con.execute("update raw.ga4_event_params set string_value = string_value || '?redelivered' "
                    "where event_date = '2026-03-29' and key = 'page_location'")
        # ... one event of 2026-03-27 is gone from raw without a later load time (only the count shows it) ...
        gone = con.execute("select min(event_key) from raw.ga4_events where event_date = '2026-03-27'").fetchone()[0]
        con.execute("delete from raw.ga4_event_params where event_key = ?", [gone])
        con.execute("delete from raw.ga4_events where event_key = ?", [gone])
        # ... and the new day arrives
        for table in RAW_GA4:
            con.execute(f"insert into raw.{table} select * replace (cast('{LATER_LOAD}' as timestamp) as _loaded_at) "
                        f"from held_{table}")
            con.execute(f"drop table held_{table}")
    run_dbt(["run", *WEB_SELECT], warehouse=incremental, target_path=dbt_target_path)
    # THEN the run read exactly the changed days and the new one, as literal days the view's scans get
    compiled = (dbt_target_path / "compiled" / "narrowcast" / "models" / "intermediate" / "web"
                / "int_web_events.sql").read_text()
    assert ("in (cast('2026-03-27' as date), cast('2026-03-29' as date), cast('2026-03-30' as date))"
            in compiled)
    items_compiled = (dbt_target_path / "compiled" / "narrowcast" / "models" / "intermediate" / "web"
                      / "int_web_item_events.sql").read_text()
    assert "cast('2026-03-28' as date)" not in items_compiled
    # (2026-03-26 and 2026-03-27 have events but no items: no built item says when it was loaded, so they are read)
    assert ("in (cast('2026-03-26' as date), cast('2026-03-27' as date), cast('2026-03-29' as date), "
            "cast('2026-03-30' as date))" in items_compiled)
    events, items = _table(incremental, "int_web_events", "event_key"), _table(incremental, "int_web_item_events",
                                                                              "event_key")
    # ... left the unchanged day as it was built ...
    assert set(events.loc[events.event_date == pd.Timestamp("2026-03-28"), "page_title"]) == {"built before"}
    assert set(items.loc[items.event_date == pd.Timestamp("2026-03-28"), "page_location"]) == {"built before"}
    sessions = _table(incremental, "int_sessions", "session_key")
    with duckdb.connect(str(incremental), read_only=True) as con:
        untouched = {row[0] for row in con.execute("select session_key from kept_sessions").fetchall()}
    assert untouched, "the fixture has GA4 sessions on 2026-03-28 alone"
    assert set(sessions.loc[sessions.landing_referrer == "built before", "session_key"]) == untouched
    # ... and replaced the others
    assert gone not in set(events.event_key)
    redelivered = events.loc[(events.event_date == pd.Timestamp("2026-03-29")) & events.page_location.notna()]
    assert len(redelivered) > 0 and redelivered.page_location.str.endswith("?redelivered").all()
    assert items.loc[items.event_date == pd.Timestamp("2026-03-29"), "page_location"].str.endswith(
        "?redelivered").all()
    assert (events.event_date == pd.Timestamp("2026-03-30")).sum() == 15
    # AND with the marks undone, both tables equal a full refresh of the same raw rows
    with duckdb.connect(str(incremental)) as con:
        con.execute("update main.int_web_events set page_title = null where page_title = 'built before'")
        con.execute("delete from main.int_web_item_events where event_date = '2026-03-28'")
        con.execute("insert into main.int_web_item_events by name select * from kept_items")
        con.execute("drop table kept_items")
        con.execute("delete from main.int_sessions where session_key in (select session_key from kept_sessions)")
        con.execute("insert into main.int_sessions by name select * from kept_sessions")
        con.execute("drop table kept_sessions")
    full = tmp_path / "full" / "warehouse.duckdb"
    full.parent.mkdir()
    with duckdb.connect(str(full)) as con:
        con.execute("create schema raw")
        con.execute(f"attach '{incremental}' as source (read_only)")
        for table in RAW_GA4:
            con.execute(f"create table raw.{table} as select * from source.raw.{table}")
        con.execute("detach source")
    run_dbt(["build", *WEB_SELECT, "--full-refresh"], warehouse=full, target_path=dbt_target_path)
    pd.testing.assert_frame_equal(_table(incremental, "int_web_events", "event_key"),
                                  _table(full, "int_web_events", "event_key"))
    pd.testing.assert_frame_equal(_table(incremental, "int_web_item_events", "event_key"),
                                  _table(full, "int_web_item_events", "event_key"))
    pd.testing.assert_frame_equal(_table(incremental, "int_sessions", "session_key"),
                                  _table(full, "int_sessions", "session_key"))
