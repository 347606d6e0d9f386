"""int_order_session_credits and int_order_attribution built incrementally equal a full refresh of the same raw
data: after a new day, late events and an old order arriving late; then after a new order, refunds (one making
a customer's first order invalid, one of an order without a customer), an old order arriving late as a
customer's new first order, an identity merge and split, an order file naming another buyer, a cancellation and an order file's new version
without two orders, and an fx revision rewriting orders whose customers nothing else touches."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pytest
from dbt_invocation import run_dbt

pytestmark = pytest.mark.e2e  # six dbt invocations

# cautious: tests that also read models outside this selection are left out
SELECT = ["--select", "+int_order_attribution", "--indirect-selection", "cautious"]
MODELS = ["int_order_session_credits", "int_order_attribution"]
BUILD_STAMP = "built_at"  # when a run wrote the row (macro build_stamp): the one column a full refresh changes
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
SECOND_LOAD = "timestamp '2026-04-01 23:00:00'"
THIRD_LOAD = "timestamp '2026-04-02 23:00:00'"


def _refund(order_id: int, line_item_id: int, amount: str) -> str:
    return (f"insert into raw.shop_refunds select * replace ({order_id + 8000} as id, {order_id} as order_id, "
            f"{line_item_id} as line_item_id, {amount} as subtotal, {THIRD_LOAD} as _loaded_at) "
            "from raw.shop_refunds limit 1")


LATE_CHANGES = [
    # a new shop order of an old customer (2)
    f"""insert into raw.shop_orders select * replace (9001 as id, '9001' as order_number,
        timestamp '2026-04-01 09:00:00' as created_at, {THIRD_LOAD} as _loaded_at) from raw.shop_orders where id = 1004""",
    # customer 50's order of 20 January, delivered late: now 50's first order, not 1060 of 9 February
    f"""insert into raw.shop_orders select * replace (9002 as id, '9002' as order_number,
        timestamp '2026-01-20 10:00:00' as created_at, {THIRD_LOAD} as _loaded_at) from raw.shop_orders where id = 1060""",
    # the whole of 47's first order refunded: 1050, which nothing in this load touches, becomes 47's first order
    _refund(1049, 5049, "200.00"),
    # part of 47's second order and of an order without a customer refunded: new revenue only
    _refund(1050, 5050, "4.00"),
    _refund(1012, 5014, "3.00"),
    # eBay's buyer of E-2, a customer of its own so far, now gives customer 2's e-mail: the two merge
    f"""insert into raw.ebay_orders select * replace ('E-9' as order_id, 'anna@example.de' as buyer_email,
        timestamp '2026-04-01 08:00:00' as creation_date, {THIRD_LOAD} as _loaded_at)
        from raw.ebay_orders where order_id = 'E-2'""",
    # Shopify customer 6 changes e-mail: the eBay buyer of E-1, linked to 6 by the old one, splits off
    f"update raw.shop_customers set email = 'eve.new@example.at', _loaded_at = {THIRD_LOAD} where id = 6",
    # a merchant's fx_rates file revises the GBP rate of 9 March: int_orders rewrites the orders of the days it
    # holds on, 51's third order of 10 March among them, alone
    f"""insert into raw.file_fx_rates select * replace (date '2026-03-09' as date, 0.70 as rate_per_eur,
        'fx_rates_2026-03-09.csv' as _file_name, {THIRD_LOAD} as _loaded_at) from raw.file_fx_rates""",
    # an Amazon order reloaded (merge on its key) as cancelled
    f"update raw.amazon_orders set order_status = 'Canceled', _loaded_at = {THIRD_LOAD} where amazon_order_id = 'A-3'",
    # the order file's new version no longer holds F-1 (valid) nor F-3 (refunded), and names customer 9 as F-2's
    # buyer instead of 7: F-2's credit is searched again, among 9's visits
    "delete from raw.file_orders where order_id in ('F-1', 'F-3')",
    "update raw.file_orders set customer_id = '9', email = null where order_id = 'F-2'",
    f"update raw.file_orders set _loaded_at = {THIRD_LOAD}",
]


def _differences(incremental: Path, full: Path, model: str) -> dict[str, list[tuple]]:
    """Rows of ``model`` only the incremental build holds, and only the full refresh holds (EXCEPT ALL both ways;
    every column but the build stamp)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        columns = f"* exclude ({BUILD_STAMP})"
        return {
            name: con.execute(f"select {columns} from {left}.main.{model} except all "
                              f"select {columns} from {right}.main.{model} order by all").fetchall()
            for name, left, right in [("only incremental", "incremental", "full_refresh"),
                                      ("only full refresh", "full_refresh", "incremental")]
        }


def _assert_equals_full_refresh(incremental: Path, full: Path, target: Path) -> None:
    """``full`` becomes a copy of ``incremental``'s raw data, built from scratch; both models must match."""
    full.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(incremental, full)
    run_dbt(["run", *SELECT, "--full-refresh"], warehouse=full, target_path=target, as_of_date=AS_OF)
    for model in MODELS:
        assert _differences(incremental, full, model) == {"only incremental": [], "only full refresh": []}, model


def _attribution(warehouse: Path) -> dict[str, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select order_key, customer_id, is_first_order, net_revenue, session_key "
                           "from main.int_order_attribution").fetchall()
    return {row[0]: row[1:] for row in rows}


def _compiled(target: Path, model: str) -> str:
    return next((target / "compiled" / "narrowcast" / "models").rglob(f"{model}.sql")).read_text()


def test_incremental_attribution_after_late_data_and_changed_orders_equals_full_refresh(
        tmp_path: Path, dbt_target_path: Path) -> None:
    # GIVEN a warehouse holding only the orders and events before the cutoff, built once
    incremental = fixture.build(tmp_path / "incremental" / "warehouse.duckdb")
    with duckdb.connect(str(incremental)) as con:
        for table, where in HELD_BACK.items():  # in this order: the filters read raw.shop_orders, raw.ga4_events
            con.execute(f"create table held_{table} as select * from raw.{table} where {where}")
            con.execute(f"delete from raw.{table} where {where}")
        held = {t: con.execute(f"select count(*) from held_{t}").fetchone()[0] for t in HELD_BACK}
    assert held["shop_orders"] >= 2 and held["ga4_events"] > 0
    run_dbt(["build", *SELECT, "--full-refresh"], warehouse=incremental, target_path=dbt_target_path,
            as_of_date=AS_OF)
    before = _attribution(incremental)
    assert "shop:1043" not in before

    # WHEN the held-back rows land (a later load: a later _loaded_at) and the models run incrementally
    with duckdb.connect(str(incremental)) as con:
        for table in HELD_BACK:
            con.execute(f"insert into raw.{table} select * replace ({SECOND_LOAD} as _loaded_at) "
                        f"from held_{table}")
            con.execute(f"drop table held_{table}")
    run_dbt(["run", *SELECT], warehouse=incremental, target_path=dbt_target_path, as_of_date=AS_OF)
    # THEN the credits recomputed the trailing days (a literal date) and the orders int_orders wrote since
    # their newest stamp (a literal time), and the attribution the orders rewritten since its own
    credits_sql = _compiled(dbt_target_path, "int_order_session_credits")
    assert re.search(r"order_date >=\s*\(?cast\('2026-03-\d\d' as date\)", credits_sql)
    assert re.search(r"built_at > cast\('\d{4}-\d\d-\d\d [\d:.]+' as timestamp\)", credits_sql)
    assert "changed_orders" in _compiled(dbt_target_path, "int_order_attribution")
    # ... and both equal a full refresh, the late order included
    _assert_equals_full_refresh(incremental, tmp_path / "full" / "warehouse.duckdb", dbt_target_path)
    assert _attribution(incremental)["shop:1043"][0] == "43"

    # WHEN a third load brings new orders and changes to old ones, and the models run incrementally
    assert before["shop:1049"][1] and not before["shop:1050"][1] and before["shop:1060"][1]
    with duckdb.connect(str(incremental)) as con:
        for statement in LATE_CHANGES:
            con.execute(statement)
    run_dbt(["run", *SELECT], warehouse=incremental, target_path=dbt_target_path, as_of_date=AS_OF)
    # THEN both equal a full refresh: first orders moved, refunded and vanished orders gone
    _assert_equals_full_refresh(incremental, tmp_path / "full-after-changes" / "warehouse.duckdb", dbt_target_path)
    after = _attribution(incremental)
    assert "shop:1049" not in after and after["shop:1050"][1] and after["shop:1050"][2] < before["shop:1050"][2]
    assert after["shop:9002"][1] and not after["shop:1060"][1]
    assert after["ebay:E-1"][0] != before["ebay:E-1"][0] and after["ebay:E-3"][1]
    assert after["shop:1012"][0] is None and after["shop:1012"][2] < before["shop:1012"][2]
    assert "file:F-1" in before and not {"file:F-1", "amazon:A-3"} & set(after)
    assert not after["shop:1065"][1] and after["shop:1063"][1]
    assert after["file:F-2"][0] == "9" != before["file:F-2"][0]
