"""The shipment and returns models on hand-written rows: files and shop fulfillments become one set of packages,
SKUs the marketplace's line ids, carriers its codes, late orders are measured against the handling-time seed,
marketplace refunds become returns per line that reach the sales and margin marts (dbt unit tests in the models'
yml), and the marts build with their data tests on the fixture warehouse."""

from __future__ import annotations

from pathlib import Path

import dbt_fixture_warehouse
import duckdb
from dbt_invocation import run_dbt

UNIT_TESTS = {"shipments_map_skus_to_marketplace_lines_and_carriers", "late_shipments_against_the_handling_time",
              "shipment_lines_union_files_and_shop_fulfillments_once",
              "marketplace_returns_per_line_from_each_marketplace", "marketplace_fees_reach_the_order_margin",
              "marketplace_sales_daily_fees_margin_and_stock_cover"}


def test_the_shipment_and_returns_models_pass_their_unit_and_data_tests(tmp_path: Path) -> None:
    # GIVEN the fixture warehouse, which has eBay and Amazon orders and no shipments file yet
    warehouse = dbt_fixture_warehouse.build(tmp_path / "warehouse.duckdb")
    # WHEN the two marts and everything upstream are built and tested
    # cautious: the other models' tests that merely touch a shared seed stay out of this build
    results = run_dbt(["build", "--select", "+marketplace_shipments", "+late_shipments", "+marketplace_order_margin",
                       "+marketplace_sales_daily", "--indirect-selection", "cautious"],
                      warehouse=warehouse, target_path=tmp_path / "target", as_of_date=dbt_fixture_warehouse.AS_OF_DATE)
    # THEN the hand-written cases passed (run_dbt raises on any failure) and the marts exist
    passed = {str(r["unique_id"]).rsplit(".", 1)[-1] for r in results if r["status"] == "pass"}
    assert UNIT_TESTS <= passed
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from main.marketplace_shipments").fetchone() == (0,)
        lateness = con.execute("select distinct lateness from main.late_shipments").fetchall()
    assert set(lateness) <= {("unshipped",), ("shipped_late",)}
