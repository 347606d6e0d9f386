"""int_order_session_credits built incrementally (a new day, late events, an old order arriving late) equals a full
refresh, and so does the int_order_attribution table built on it."""

from __future__ import annotations

import re
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pandas as pd
import pytest
from dbt_invocation import run_dbt

pytestmark = pytest.mark.e2e  # three dbt invocations

# cautious: tests that also read models outside this selection are left out
SELECT = ["--select", "+int_order_attribution", "--indirect-selection", "cautious"]
AS_OF = "2026-03-31"
CUTOFF = "2026-03-29"  # orders and events on or after this day arrive in the second load
# ... and so do an order of 1 March (an order file delivered weeks late: outside the recomputed days) and events of
# sessions on days already built (late events inside the lookback, among them a purchase)
LATE_ORDERS = f"(created_at >= timestamp '{CUTOFF}' or id = 1043)"
LATE_EVENTS = f"""(event_date >= date '{CUTOFF}' or event_key in (
    select event_key from raw.ga4_events
    where (event_date = date '2026-03-28' and event_name in ('view_item', 'add_to_cart'))
       or (event_date = date '2026-03-27' and event_name = 'purchase')))"""
HELD_BACK = {  # raw table -> rows that arrive in the second load
    "shop_order_lines": f"order_id in (select id from raw.shop_orders where {LATE_ORDERS})",
    "shop_refunds": f"order_id in (select id from raw.shop_orders where {LATE_ORDERS})",
    "shop_orders": LATE_ORDERS,
    "ga4_event_params": LATE_EVENTS,
    "ga4_events": LATE_EVENTS,
}


def _table(warehouse: Path, model: str, key: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql(f"select * from main.{model}").df()
    return frame.sort_values(key).reset_index(drop=True)


def test_incremental_credits_with_late_orders_and_events_equal_full_refresh(tmp_path: Path,
                                                                            dbt_target_path: Path) -> None:
    # GIVEN a warehouse holding only the orders and events before the cutoff, built once
    incremental = fixture.build(tmp_path / "incremental.duckdb")
    with duckdb.connect(str(incremental)) as con:
        for table, where in HELD_BACK.items():  # in this order: the filters read raw.shop_orders, raw.ga4_events
            con.execute(f"create table held_{table} as select * from raw.{table} where {where}")
            con.execute(f"delete from raw.{table} where {where}")
        held = {t: con.execute(f"select count(*) from held_{t}").fetchone()[0] for t in HELD_BACK}
    assert held["shop_orders"] >= 2 and held["ga4_events"] > 0
    run_dbt(["build", *SELECT, "--full-refresh"], warehouse=incremental, target_path=dbt_target_path,
            as_of_date=AS_OF)
    first_load = _table(incremental, "int_order_session_credits", "order_key")
    assert "shop:1043" not in set(first_load["order_key"])
    # WHEN the held-back rows land (a later load: a later _loaded_at) and the models run incrementally
    with duckdb.connect(str(incremental)) as con:
        for table in HELD_BACK:
            con.execute(f"insert into raw.{table} select * replace (timestamp '2026-04-01 23:00:00' as _loaded_at) "
                        f"from held_{table}")
            con.execute(f"drop table held_{table}")
    run_dbt(["run", *SELECT], warehouse=incremental, target_path=dbt_target_path, as_of_date=AS_OF)
    # (the recomputed days start at a literal date, and orders not built yet are found by key)
    compiled = (dbt_target_path / "compiled" / "narrowcast" / "models" / "intermediate" / "marketing"
                / "int_order_session_credits.sql").read_text()
    assert re.search(r"order_date >=\s*\(?cast\('2026-03-\d\d' as date\)", compiled)
    # AND a second warehouse with all rows is built from scratch
    full = fixture.build(tmp_path / "full.duckdb")
    run_dbt(["build", *SELECT, "--full-refresh", "--exclude", "test_type:data"], warehouse=full,
            target_path=dbt_target_path, as_of_date=AS_OF)
    # THEN both hold exactly the same credits and attribution, the late order included
    credits = _table(full, "int_order_session_credits", "order_key")
    pd.testing.assert_frame_equal(_table(incremental, "int_order_session_credits", "order_key"), credits)
    pd.testing.assert_frame_equal(_table(incremental, "int_order_attribution", "order_key"),
                                  _table(full, "int_order_attribution", "order_key"))
    assert "shop:1043" in set(credits["order_key"])
    assert credits["session_key"].notna().any()
