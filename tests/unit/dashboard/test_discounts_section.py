"""The Discount codes section: per campaign and code kind, what the codes did in the date range."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from narrowcast.dashboard.app import create_app

MART = """
create table main.discount_redemptions as
select * from (values
    ('abandoned_cart', 'unique', date '2026-03-01', 4, 2, 0.5, 1, 1, 40.00, 'EUR', 0),
    ('abandoned_cart', 'unique', date '2026-03-02', 0, 0, null, 1, 1, 60.00, 'EUR', 0),
    ('abandoned_cart', 'shared', date '2026-03-02', 0, 0, null, 1, 3, 90.00, 'EUR', 1),
    ('lapsed', 'shared', date '2026-02-01', 0, 0, null, 1, 9, 900.00, 'EUR', 0)
) as t(campaign, code_kind, activity_date, codes_issued, issued_codes_redeemed, redemption_rate, codes_redeemed,
       recovered_orders, recovered_revenue_reporting, reporting_currency, orders_without_fx_rate);
"""


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    warehouse = tmp_path / "narrowcast.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(MART)
    (tmp_path / "target").mkdir()
    return TestClient(create_app(warehouse, tmp_path / "target"))


def test_the_section_sums_each_campaigns_codes_over_the_range_with_the_issued_codes_redemption_rate(client):
    body = client.get("/api/discounts", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    rows = {(r["campaign"], r["code_kind"]): r for r in body["campaigns"]}
    # February's lapsed day is outside the range
    assert set(rows) == {("abandoned_cart", "unique"), ("abandoned_cart", "shared")}
    unique = rows[("abandoned_cart", "unique")]
    assert (unique["codes_issued"], unique["recovered_orders"], float(unique["recovered_revenue"])) == (4, 2, 100.0)
    assert unique["redemption_rate"] == 0.5
    shared = rows[("abandoned_cart", "shared")]
    assert shared["redemption_rate"] is None and shared["orders_without_fx_rate"] == 1


def test_a_warehouse_without_the_mart_shows_the_empty_state(tmp_path):
    warehouse = tmp_path / "empty.duckdb"
    duckdb.connect(str(warehouse)).close()
    (tmp_path / "target").mkdir()
    body = TestClient(create_app(warehouse, tmp_path / "target")).get("/api/discounts").json()
    assert body["status"] == "empty"
