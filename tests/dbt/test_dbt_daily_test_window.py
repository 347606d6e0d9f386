"""A daily run's data tests of the large order-grain tables read the rows since var data_tests_since_date (rows
loaded since then, orders placed since then), and the tests of the project's own lists (seeds) are left out of
it; a run with the default tests every row, as a full refresh, CI and the project's tests do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pytest
from dbt_invocation import DbtRunFailed, run_dbt

SELECT = ["--select", "source:shop.shop_orders", "stg_shop__orders", "int_order_session_credits",
          "int_order_attribution", "channels", "--indirect-selection", "cautious", "--exclude-resource-type",
          "unit_test"]
# What each planted fault breaks.
OLD_FAULTS = ["source_unique_shop_shop_orders_id", "unique_stg_shop__orders_order_id",
              "not_null_int_order_attribution_channel", "unique_int_order_session_credits_order_key",
              "unique_channels_channel", "channels_declare_one_direct_channel"]
# Run only when every row is tested: the seeds change with the project alone, which CI tests.
LIST_FAULTS = {"unique_channels_channel", "channels_declare_one_direct_channel"}
NEW_FAULTS = ["source_unique_shop_shop_orders_id", "unique_stg_shop__orders_order_id",
              "not_null_int_order_attribution_channel"]


def _failed_tests(error: DbtRunFailed) -> set[str]:
    # "test.narrowcast.<name>[.<hash>]: fail: ..." (a singular test's id has no hash)
    return {line.split(":")[0].split(".")[2] for line in str(error).splitlines()
            if line.startswith("test.narrowcast.")}


def test_daily_data_tests_read_the_rows_since_the_window_and_a_full_run_reads_all(
        built_warehouse: Path, dbt_target_path: Path, tmp_path: Path) -> None:
    # GIVEN the built fixture warehouse, its shop orders loaded a month ago, with faults in rows an earlier run
    # tested: a shop order loaded twice under one id, an old order credited to no channel, one credited twice,
    # and a seed's row written twice (a second direct channel)
    warehouse = tmp_path / built_warehouse.name  # the views name their catalog after the file
    shutil.copy(built_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        since = con.execute("select max(order_date) from main.int_order_attribution").fetchone()[0]
        con.execute("update raw.shop_orders set _loaded_at = ? - interval 30 day", [since])
        con.execute("insert into raw.shop_orders select * from raw.shop_orders where id = (select min(id) "
                    "from raw.shop_orders)")
        con.execute("update main.int_order_attribution set channel = null where order_key = (select "
                    "min(order_key) from main.int_order_attribution where order_date < ?)", [since])
        con.execute("insert into main.int_order_session_credits select * from main.int_order_session_credits "
                    "where order_date < ? limit 1", [since])
        con.execute("insert into main.channels select * from main.channels where is_direct")
    daily = {"data_tests_since_date": since.isoformat()}

    # WHEN the tests run as a daily run does, THEN they pass: the faulty rows are older than the window, and the
    # seeds' tests are not run
    run_dbt(["test", *SELECT], warehouse=warehouse, target_path=dbt_target_path, as_of_date=fixture.AS_OF_DATE,
            extra_vars=daily)

    # WHEN they run as a full run does, THEN every fault is found
    with pytest.raises(DbtRunFailed) as full:
        run_dbt(["test", *SELECT], warehouse=warehouse, target_path=dbt_target_path,
                as_of_date=fixture.AS_OF_DATE)
    assert set(OLD_FAULTS) <= _failed_tests(full.value), full.value

    # GIVEN faults in rows of the window: a load that wrote one order twice, an order of the window's first day
    # credited to no channel (a reload cannot duplicate an older row: the loader merges on id)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into raw.shop_orders select * from raw.shop_orders "
                    "where id = (select max(id) from raw.shop_orders)")
        con.execute("update raw.shop_orders set _loaded_at = ? + interval 1 day "
                    "where id = (select max(id) from raw.shop_orders)", [since])
        con.execute("update main.int_order_attribution set channel = null where order_key = (select "
                    "min(order_key) from main.int_order_attribution where order_date = ?)", [since])
    # WHEN the tests run as a daily run does, THEN they find those, and not the older ones
    with pytest.raises(DbtRunFailed) as in_window:
        run_dbt(["test", *SELECT], warehouse=warehouse, target_path=dbt_target_path,
                as_of_date=fixture.AS_OF_DATE, extra_vars=daily)
    failed = _failed_tests(in_window.value)
    assert set(NEW_FAULTS) <= failed and "unique_int_order_session_credits_order_key" not in failed, failed
    assert not LIST_FAULTS & failed, failed


def test_the_tests_left_out_of_a_daily_run_read_seeds_alone(tmp_path: Path) -> None:
    # GIVEN the project parsed as every run parses it
    target = tmp_path / "target"
    run_dbt(["parse"], warehouse=tmp_path / "parse" / "warehouse.duckdb", target_path=target, as_of_date=fixture.AS_OF_DATE)
    manifest = json.loads((target / "manifest.json").read_text())
    # WHEN the tests a daily run leaves out are listed (dbt_project.yml: data_tests, project_lists)
    lists = {uid: node for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "test" and node["fqn"][1] == "project_lists"}
    # THEN there are the seeds' tests, and each reads seeds only: a test of a model would miss its new rows
    assert len(lists) > 100, sorted(lists)
    reading_more = {uid: node["depends_on"]["nodes"] for uid, node in lists.items()
                    if not node["depends_on"]["nodes"]
                    or any(not parent.startswith("seed.") for parent in node["depends_on"]["nodes"])}
    assert reading_more == {}, reading_more
