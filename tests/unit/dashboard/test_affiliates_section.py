"""The Affiliates and referrals section: per partner and per partner type, what referrals brought and cost in the
date range."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from narrowcast.dashboard.app import create_app

MART = """
create table main.affiliate_performance as
select * from (values
    ('affiliate_partner', 'awin', null, date '2026-03-01', 10, 2, 1, 100.00, 8.00),
    ('affiliate_partner', 'awin', null, date '2026-03-02', 5, 1, 0, 50.00, 4.00),
    ('customer_referral', 'customer:7', '7', date '2026-03-02', 3, 1, 1, 40.00, 4.00),
    ('customer_referral', 'customer:9', '9', date '2026-03-03', 2, 0, 0, 0.00, 0.00),
    ('affiliate_partner', 'blog', null, date '2026-02-01', 9, 9, 9, 900.00, 72.00)
) as t(partner_type, partner_id, referrer_customer_id, date_day, sessions, orders, new_customers, revenue,
       commission);
alter table main.affiliate_performance add column currency varchar default 'EUR';
"""


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    warehouse = tmp_path / "narrowcast.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(MART)
    (tmp_path / "target").mkdir()
    return TestClient(create_app(warehouse, tmp_path / "target"))


def test_the_section_sums_each_partner_over_the_range_with_roas_and_conversion(client):
    body = client.get("/api/affiliates", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    partners = {r["partner_id"]: r for r in body["partners"]}
    # February's blog day is outside the range
    assert set(partners) == {"awin", "customer:7", "customer:9"}
    awin = partners["awin"]
    assert (awin["sessions"], awin["orders"], float(awin["revenue"]), float(awin["commission"])) == (15, 3, 150.0, 12.0)
    assert awin["roas"] == pytest.approx(12.5) and awin["conversion_rate"] == pytest.approx(0.2)
    # no commission, no ROAS (never a division by zero)
    assert partners["customer:9"]["roas"] is None


def test_the_section_totals_each_partner_type(client):
    body = client.get("/api/affiliates", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    types = {t["partner_type"]: t for t in body["by_type"]}
    assert types["customer_referral"]["partners"] == 2
    assert float(types["customer_referral"]["revenue"]) == 40.0 and types["customer_referral"]["new_customers"] == 1
    assert float(types["affiliate_partner"]["commission"]) == 12.0


def test_a_warehouse_without_the_mart_shows_the_empty_state(tmp_path):
    warehouse = tmp_path / "empty.duckdb"
    duckdb.connect(str(warehouse)).close()
    (tmp_path / "target").mkdir()
    body = TestClient(create_app(warehouse, tmp_path / "target")).get("/api/affiliates").json()
    assert body["status"] == "empty"
