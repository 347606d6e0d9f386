"""The Marketplaces section: sales, fees and margin per marketplace in the range, and the best products."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from narrowcast.dashboard.app import create_app

MARTS = """
create table main.marketplace_sales_daily as
select * from (values
    (date '2026-03-01', 'ebay', 'MUG-01', 3, 0, 'EUR', 30.00, 3.60, 12.00, 14.40),
    (date '2026-03-02', 'ebay', 'TEA-01', 1, 0, 'EUR', 10.00, 1.20, 4.00, 4.80),
    (date '2026-03-02', 'amazon', 'MUG-01', 2, 0, 'EUR', 20.00, 3.00, 8.00, 9.00),
    (date '2026-02-01', 'amazon', 'MUG-01', 9, 0, 'EUR', 90.00, 13.50, 36.00, 40.50),
    (date '2026-03-02', 'shop', 'TEA-01', 2, 1, 'EUR', 18.00, 0.00, 8.00, null)
) as t(sales_date, marketplace, sku, units, returned_units, reporting_currency, net_revenue_reporting,
       fee_amount_reporting, cost_of_goods_reporting, margin_reporting);
create table main.best_products as
select * from (values
    (1, 'MUG-01', 14, 63.90, 10, 6.39, 2.10, 0.9),
    (2, 'TEA-01', 3, 4.80, 40, 0.12, 0.30, 0.2)
) as t(best_rank, sku, units_90d, margin_90d, on_hand, margin_per_stock_unit, margin_per_ad_spend, score);
"""


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    warehouse = tmp_path / "narrowcast.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(MARTS)
    target = tmp_path / "target"
    target.mkdir()
    return TestClient(create_app(warehouse, target))


def test_the_section_sums_each_marketplace_over_the_range_and_lists_the_best_products(client):
    body = client.get("/api/marketplaces", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    by_market = {row["marketplace"]: row for row in body["marketplaces"]}
    # February's Amazon day is outside the range
    assert (by_market["amazon"]["units"], float(by_market["amazon"]["fees"])) == (2, 3.0)
    assert float(by_market["ebay"]["net_revenue"]) == 40.0 and float(by_market["ebay"]["margin"]) == 19.2
    assert by_market["ebay"]["fee_share"] == pytest.approx(0.12)
    # the shop's day without a known margin is counted, not hidden
    assert by_market["shop"]["days_without_margin"] == 1 and by_market["shop"]["returned_units"] == 1
    assert [p["sku"] for p in body["best_products"]] == ["MUG-01", "TEA-01"]


def test_a_warehouse_without_the_marts_shows_the_empty_state(tmp_path):
    warehouse = tmp_path / "empty.duckdb"
    duckdb.connect(str(warehouse)).close()
    (tmp_path / "target").mkdir()
    body = TestClient(create_app(warehouse, tmp_path / "target")).get("/api/marketplaces").json()
    assert body["status"] != "ok"
