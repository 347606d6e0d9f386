"""The Leads vs remarketing section: per campaign type, spend, leads and the ratios of the range's sums."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from narrowcast.dashboard.app import create_app

MART = """
create table main.kpi_campaign_type_daily as
select * from (values
    (date '2026-03-01', 'meta', 'paid_social', 'remarketing', false, true, 100.00, 2, 1, 0, 1, 1, 1, 40.00, 60.00),
    (date '2026-03-02', 'meta', 'paid_social', 'remarketing', false, true, 20.00, 0, 0, 0, 0, 0, 0, 0.00, 0.00),
    (date '2026-03-01', 'meta', 'paid_social', 'prospecting', false, false, 0.00, 1, 1, 0, 0, 0, 0, 0.00, 0.00),
    (date '2026-03-01', 'google_ads', 'paid_search', 'unclassified', true, false, 30.00, 0, 0, 0, 0, 1, 0, 25.00, 0.00),
    (date '2026-02-01', 'meta', 'paid_social', 'remarketing', false, true, 999.00, 9, 9, 0, 0, 0, 0, 0.00, 0.00)
) as t(date_day, platform, channel, campaign_type, is_unclassified, is_remarketing, spend, leads, sign_ups,
       generated_leads, newsletter_signups, new_customer_orders, returning_customer_orders, new_customer_revenue,
       returning_customer_revenue);
alter table main.kpi_campaign_type_daily add column orders bigint default 0;
alter table main.kpi_campaign_type_daily add column currency varchar default 'EUR';
create table main.leads_daily as
select * from (values
    (date '2026-03-01', 'paid_social', 'meta', 'sign_up', 2),
    (date '2026-03-01', 'email', 'web', 'newsletter_signup', 5)
) as t(date_day, channel, platform, lead_type, leads);
"""


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    warehouse = tmp_path / "narrowcast.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(MART)
    (tmp_path / "target").mkdir()
    return TestClient(create_app(warehouse, tmp_path / "target"))


def test_each_types_ratios_come_from_the_sums_of_the_range(client):
    body = client.get("/api/leads", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    rows = {r["campaign_type"]: r for r in body["campaign_types"]}
    # February's day is outside the range
    remarketing = rows["remarketing"]
    assert float(remarketing["spend"]) == 120.0 and remarketing["leads"] == 2
    assert remarketing["cpl"] == 60.0  # 120 / 2, not the average of the days' CPLs
    assert remarketing["new_customer_roas"] == pytest.approx(40 / 120, abs=1e-4)
    assert remarketing["returning_customer_roas"] == 0.5
    assert remarketing["cost_per_upsell"] == 120.0


def test_zero_denominators_give_no_ratio_and_upsell_cost_is_remarketing_only(client):
    body = client.get("/api/leads", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    rows = {r["campaign_type"]: r for r in body["campaign_types"]}
    prospecting, unclassified = rows["prospecting"], rows["unclassified"]
    assert prospecting["new_customer_roas"] is None and prospecting["cost_per_upsell"] is None
    assert unclassified["cpl"] is None and unclassified["cost_per_upsell"] is None
    # Spend no rule classifies is called out so the operator adds a rule.
    assert body["unclassified_spend"] == 30.0


def test_the_channel_filter_narrows_types_and_leads_by_channel(client):
    body = client.get("/api/leads", params={"start": "2026-03-01", "end": "2026-03-31",
                                            "channel": "paid_social"}).json()
    assert {r["campaign_type"] for r in body["campaign_types"]} == {"remarketing", "prospecting"}
    assert body["leads_by_channel"] == [{"channel": "paid_social", "lead_type": "sign_up", "leads": 2}]


def test_a_warehouse_without_the_mart_shows_the_empty_state(tmp_path):
    warehouse = tmp_path / "empty.duckdb"
    duckdb.connect(str(warehouse)).close()
    (tmp_path / "target").mkdir()
    body = TestClient(create_app(warehouse, tmp_path / "target")).get("/api/leads").json()
    assert body["status"] == "empty"
