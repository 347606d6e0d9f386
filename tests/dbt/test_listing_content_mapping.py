"""The listing content mart on its own: seeds, an empty upstream, then its data tests and its dbt unit test
(hand-written catalogue rows mapped to each marketplace's category and attribute names, missing fields flagged)."""

from __future__ import annotations

from pathlib import Path

from dbt_invocation import run_dbt

SEEDS = ["listing_category_map", "listing_attribute_map", "marketplace_rules", "marketplaces"]


def test_the_listing_content_unit_test_and_seed_tests_pass(tmp_path: Path) -> None:
    # GIVEN the listing seeds and the mart's upstream built empty
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    run_dbt(["seed", "--select", *SEEDS], warehouse=warehouse, target_path=target)
    run_dbt(["run", "--select", "+marketplace_listing_content", "--empty"], warehouse=warehouse, target_path=target,
            as_of_date="2026-03-31")
    # WHEN the mart's and the seeds' tests run
    results = run_dbt(["test", "--select", "marketplace_listing_content", "listing_category_map",
                       "listing_attribute_map"], warehouse=warehouse, target_path=target, as_of_date="2026-03-31")
    # THEN every one passed, the mapping unit test among them
    statuses = {r["unique_id"]: r["status"] for r in results if not str(r["unique_id"]).startswith("operation.")}
    assert "unit_test.narrowcast.marketplace_listing_content.listing_content_maps_categories_and_flags_missing_fields" in statuses
    assert "unit_test.narrowcast.marketplace_listing_content.listing_content_tells_catalogue_rows_from_shop_products" in statuses
    assert set(statuses.values()) == {"pass"}, statuses
