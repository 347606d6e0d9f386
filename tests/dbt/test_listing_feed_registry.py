"""The listing feed reads the listing id registry: the table exists on a fresh warehouse (created by dbt's
on-run-start hook with the engine's own columns), and the feed's unit tests, the registry path among them, pass."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dbt_invocation import run_dbt

from narrowcast.activation import state
from narrowcast.warehouse import connect

SEEDS = ["marketplace_rules", "marketplaces", "minimum_advertised_prices"]
FEED_UNIT_TESTS = {"listing_feed_stock_and_price_rules", "listing_feed_prices_in_the_marketplace_currency",
                   "listing_feed_never_prices_below_the_map_floor", "listing_feed_takes_listing_ids_from_the_registry"}


def test_a_fresh_warehouse_gets_the_registry_and_the_feed_unit_tests_pass(tmp_path: Path) -> None:
    # GIVEN a warehouse no sync has ever run against
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    run_dbt(["seed", "--select", *SEEDS], warehouse=warehouse, target_path=target)
    # WHEN the feed and its upstream are built empty, then its tests run
    run_dbt(["run", "--select", "+marketplace_listing_feed", "--exclude", "resource_type:seed", "--empty"],
            warehouse=warehouse, target_path=target, as_of_date="2026-03-31")
    results = run_dbt(["test", "--select", "marketplace_listing_feed", "stg_activation__listing_ids"],
                      warehouse=warehouse, target_path=target, as_of_date="2026-03-31")
    # THEN every test passed, the four unit tests of the feed among them
    statuses = {str(r["unique_id"]): r["status"] for r in results if not str(r["unique_id"]).startswith("operation.")}
    assert {f"unit_test.narrowcast.marketplace_listing_feed.{name}" for name in FEED_UNIT_TESTS} <= set(statuses)
    assert set(statuses.values()) == {"pass"}, statuses
    # AND the registry dbt created has exactly the engine's columns, so the engine writes into it unchanged
    with duckdb.connect(str(warehouse)) as con:
        created_by_dbt = con.sql("describe activation.listing_ids").fetchall()
    engine_db = tmp_path / "engine.duckdb"
    with connect(engine_db) as wh:
        state.ensure_tables(wh)
    with duckdb.connect(str(engine_db)) as con:
        created_by_engine = con.sql("describe activation.listing_ids").fetchall()
    assert created_by_dbt == created_by_engine
