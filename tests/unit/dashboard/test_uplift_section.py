"""The Audience uplift section: each sync's incremental revenue with its interval and a plain verdict."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from narrowcast.dashboard.app import create_app

COLUMNS = """sync_id, destination, audience_id, period_start, currency, treated_members, holdout_members,
    treated_conversions, holdout_conversions, avg_observed_days, treated_conversion_rate, holdout_conversion_rate,
    conversion_uplift, conversion_uplift_ci_low, conversion_uplift_ci_high, treated_revenue_per_member,
    holdout_revenue_per_member, revenue_per_member_uplift, revenue_per_member_uplift_ci_low,
    revenue_per_member_uplift_ci_high, incremental_revenue, incremental_revenue_ci_low, incremental_revenue_ci_high,
    too_small_to_conclude, is_significant"""
MART = f"""
create table main.audience_uplift as select * from (values
    ('win_back_mail', 'klaviyo', 'lapsed', date '2026-03-01', 'EUR', 900, 100, 90, 5, 30.0, 0.1, 0.05, 0.05, 0.01,
     0.09, 6.0, 3.0, 3.0, 1.0, 5.0, 2700.0, 900.0, 4500.0, false, true),
    ('vip_ads', 'meta_audiences', 'vip', date '2026-03-01', 'EUR', 900, 100, 50, 6, 30.0, 0.055, 0.06, -0.005,
     -0.05, 0.04, 3.3, 3.6, -0.3, -2.0, 1.4, -270.0, -1800.0, 1260.0, false, false),
    ('tiny_mail', 'klaviyo', 'tiny', date '2026-03-01', 'EUR', 20, 2, 3, 0, 30.0, 0.15, 0.0, 0.15, -0.01,
     0.31, 9.0, 0.0, 9.0, -1.0, 19.0, 180.0, -20.0, 380.0, true, false),
    ('win_back_mail', 'klaviyo', 'lapsed', date '2025-12-01', 'EUR', 900, 100, 90, 5, 30.0, 0.1, 0.05, 0.05, 0.01,
     0.09, 6.0, 3.0, 3.0, 1.0, 5.0, 2700.0, 900.0, 4500.0, false, true)
) as t({COLUMNS});
"""


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    warehouse = tmp_path / "narrowcast.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(MART)
    (tmp_path / "target").mkdir()
    return TestClient(create_app(warehouse, tmp_path / "target"))


def test_the_section_lists_the_months_in_range_with_intervals_and_verdicts(client):
    body = client.get("/api/uplift", params={"start": "2026-03-10", "end": "2026-03-31"}).json()
    rows = {row["sync_id"]: row for row in body["uplift"]}
    assert set(rows) == {"win_back_mail", "vip_ads", "tiny_mail"}  # December's entries are outside the range
    assert [r["sync_id"] for r in body["uplift"]][0] == "win_back_mail"  # largest incremental revenue first
    assert (rows["win_back_mail"]["incremental_revenue_ci_low"], rows["win_back_mail"]["incremental_revenue_ci_high"]) \
        == (900.0, 4500.0)
    assert rows["win_back_mail"]["verdict"] == "earned more than the holdout"
    assert rows["vip_ads"]["verdict"] == "no difference shown"
    assert rows["tiny_mail"]["verdict"] == "too small to conclude"


def test_the_page_has_the_section_and_draws_intervals(client):
    page = client.get("/").text
    assert 'id="sec-uplift"' in page and 'id="chart-uplift"' in page
    script = client.get("/static/dashboard.js").text
    assert "revenue_per_member_uplift_ci_low" in script and "['uplift', 'sec-uplift', renderUplift]" in script
