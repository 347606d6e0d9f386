"""The inventory DAG's own build: a stock file or an order loaded after the last transform reaches the next push;
on a warehouse no transform has built, it builds everything its syncs read."""

from __future__ import annotations

import shutil
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pytest
from dbt_invocation import run_dbt
from dbt_raw_schema import columns

from narrowcast_airflow.dbt_selections import INVENTORY_BUILD, INVENTORY_MODELS

pytestmark = pytest.mark.e2e  # needs the session's full `dbt build`, then one more dbt invocation

# The seeds upstream of the inventory DAG's models (narrowcast_airflow.dbt_selections.INVENTORY_MODELS).
INVENTORY_SEEDS = {f"seed.narrowcast.{name}" for name in (
    "marketplaces", "marketplace_rules", "minimum_advertised_prices", "carrier_codes", "shop_marketplace_orders",
    "listing_attribute_map", "listing_category_map")}


def insert(con: duckdb.DuckDBPyConnection, table: str, *rows: tuple) -> None:
    names = ", ".join(f'"{name}"' for name in columns(table))
    placeholders = ", ".join(["?"] * len(columns(table)))
    con.executemany(f"insert into raw.{table} ({names}) values ({placeholders})",
                    [(*row, "late-batch", fixture.LOADED_AT, "fixture") for row in rows])


def feed_row(warehouse: Path, sku: str, marketplace: str) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql(f"select * from main.marketplace_listing_feed where sku = '{sku}' "
                        f"and marketplace = '{marketplace}'").df()
    return frame.iloc[0].to_dict()


def test_a_stock_file_and_an_order_loaded_after_the_last_transform_reach_the_next_stock_push(
        built_warehouse: Path, dbt_target_path: Path, tmp_path: Path) -> None:
    # GIVEN the warehouse as the last transform left it: TEA-02 has 50 on hand and 4 units in open orders
    warehouse = shutil.copy(built_warehouse, tmp_path / "warehouse.duckdb")
    before = feed_row(warehouse, "TEA-02", "amazon")
    assert (before["on_hand"], before["open_order_quantity"]) == (50, 4)
    # WHEN a new ERP stock file (20 on hand) and a new unshipped eBay order of 3 are loaded, and the stock path builds
    with duckdb.connect(str(warehouse)) as con:
        insert(con, "file_erp_stock", ("TEA-02", 20, "4.00", "A", fixture._ts("2026-03-31 06:00:00"),
                                       "erp_stock_20260331.csv"))
        insert(con, "ebay_orders", ("E-9", fixture._ts("2026-03-31 07:00:00"), fixture._ts("2026-03-31 07:00:00"),
                                    "NOT_STARTED", "PAID", "NONE_REQUESTED", "buyer-E-9", "eve@example.at", "36.00",
                                    "EUR", "EBAY_DE"))
        insert(con, "ebay_order_lines", ("EL-9", "E-9", "TEA-02", 3, "36.00", "NOT_STARTED"))
    results = run_dbt(["build", *INVENTORY_BUILD], warehouse=warehouse, target_path=dbt_target_path,
                      as_of_date=fixture.AS_OF_DATE)
    # THEN the feed the syncs read has the new stock and the new open order: 20 - 7 = 13 available
    after = feed_row(warehouse, "TEA-02", "amazon")
    assert (after["on_hand"], after["open_order_quantity"], after["available_quantity"]) == (20, 7, 13)
    assert after["quantity"] < before["quantity"]
    # AND the build stayed on the inventory DAG's chain: no other mart, only that chain's seeds
    built = {r["unique_id"] for r in results}
    assert {"model.narrowcast.int_products", "model.narrowcast.int_open_order_quantities",
            "model.narrowcast.marketplace_listing_feed"} <= built
    assert "model.narrowcast.customer_rfm" not in built
    assert {unique_id for unique_id in built if unique_id.startswith("seed.")} == INVENTORY_SEEDS


def test_the_stock_path_builds_its_feed_on_a_warehouse_no_transform_has_built(
        dbt_target_path: Path, tmp_path: Path) -> None:
    # GIVEN only the raw tables the extracts load: no model, no seed (a fresh deployment whose inventory DAG runs
    # on its schedule before the first transform)
    warehouse = fixture.build(tmp_path / "raw-only" / "warehouse.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.sql("select count(*) from information_schema.tables where table_schema = 'main'").fetchone() == (0,)
    # WHEN the stock path builds
    results = run_dbt(["build", *INVENTORY_BUILD], warehouse=warehouse, target_path=tmp_path / "target",
                      as_of_date=fixture.AS_OF_DATE)
    # THEN it loads the chain's seeds, builds the feed, the shipments and the listing content, and its tests pass
    assert {r["unique_id"] for r in results if r["unique_id"].startswith("seed.")} == INVENTORY_SEEDS
    assert all(r["status"] in {"success", "pass"} for r in results)
    assert feed_row(warehouse, "TEA-02", "amazon")["on_hand"] == 50
    assert {f"model.narrowcast.{model}" for model in INVENTORY_MODELS} <= {r["unique_id"] for r in results}
