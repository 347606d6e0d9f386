"""int_leads on its own: its upstream built empty, then its dbt unit tests (Klaviyo sign-ups counted once per
person and deduplicated against the shop's newsletter consent; GA4 and shop leads as before) and data tests."""

from __future__ import annotations

from pathlib import Path

from dbt_invocation import run_dbt


def test_the_int_leads_unit_tests_pass_the_klaviyo_branch_and_its_dedupe_among_them(tmp_path: Path) -> None:
    # GIVEN the seeds (the upstream models join several) and int_leads' upstream built empty
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    run_dbt(["seed"], warehouse=warehouse, target_path=target)
    run_dbt(["run", "--select", "+int_leads", "--empty"], warehouse=warehouse, target_path=target,
            as_of_date="2026-03-31")
    # WHEN int_leads' tests and the Klaviyo staging model's run
    results = run_dbt(["test", "--select", "int_leads", "stg_klaviyo__subscription_events"], warehouse=warehouse,
                      target_path=target, as_of_date="2026-03-31")
    # THEN every one passed, both unit tests among them
    statuses = {r["unique_id"]: r["status"] for r in results if not str(r["unique_id"]).startswith("operation.")}
    assert {"unit_test.narrowcast.int_leads.leads_count_klaviyo_signups_once_against_shop_consent",
            "unit_test.narrowcast.int_leads.leads_ga4_and_shop_as_before_without_klaviyo"} <= set(statuses)
    assert set(statuses.values()) == {"pass"}, statuses
