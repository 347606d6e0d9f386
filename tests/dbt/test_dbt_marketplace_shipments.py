"""The shipment marts on hand-written rows: SKUs become the marketplace's line ids, carriers its codes, and late
orders are measured against the handling-time seed (dbt unit tests in ``_activation__models.yml``), and both
marts build with their data tests on the fixture warehouse."""

from __future__ import annotations

from pathlib import Path

import dbt_fixture_warehouse
import duckdb
from dbt_invocation import run_dbt

UNIT_TESTS = {"shipments_map_skus_to_marketplace_lines_and_carriers", "late_shipments_against_the_handling_time",
              "shipment_lines_union_files_and_shop_fulfillments_once"}


def test_the_shipment_marts_pass_their_unit_and_data_tests(tmp_path: Path) -> None:
    # GIVEN the fixture warehouse, which has eBay and Amazon orders and no shipments file yet
    warehouse = dbt_fixture_warehouse.build(tmp_path / "fixture.duckdb")
    # WHEN the two marts and everything upstream are built and tested
    # cautious: the other models' tests that merely touch a shared seed stay out of this build
    results = run_dbt(["build", "--select", "+marketplace_shipments", "+late_shipments",
                       "--indirect-selection", "cautious"],
                      warehouse=warehouse, target_path=tmp_path / "target", as_of_date=dbt_fixture_warehouse.AS_OF_DATE)
    # THEN the hand-written cases passed (run_dbt raises on any failure) and the marts exist
    passed = {str(r["unique_id"]).rsplit(".", 1)[-1] for r in results if r["status"] == "pass"}
    assert UNIT_TESTS <= passed
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from main.marketplace_shipments").fetchone() == (0,)
        lateness = con.execute("select distinct lateness from main.late_shipments").fetchall()
    assert set(lateness) <= {("unshipped",), ("shipped_late",)}
