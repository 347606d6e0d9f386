"""The dashboard's JSON endpoints return the marts' figures, reject bad filters with 400, and show an empty state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from mart_tables import build_mart_warehouse

from narrowcast.dashboard.app import CHARTS, create_app

CHART_PATHS = [f"/api/{name}" for name in CHARTS]


def mart(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_daily_kpis_for_one_channel_equal_the_mart_rows(client: TestClient, mart_warehouse: Path):
    # GIVEN a 30-day range (daily grain) and one paid channel
    response = client.get("/api/kpi", params={"start": "2026-09-01", "end": "2026-09-30", "channel": "paid_social"})

    # THEN every point equals that day's row of kpi_channel_daily
    assert response.status_code == 200
    body = response.json()
    assert body["grain"] == "day"
    expected = {
        row[0].isoformat(): row[1:]
        for row in mart(
            mart_warehouse,
            "select date_day, spend, revenue, roas, roi, cac from main.kpi_channel_daily "
            "where channel = 'paid_social' and date_day between '2026-09-01' and '2026-09-30'",
        )
    }
    assert len(body["series"]) == len(expected) == 30
    for point in body["series"]:
        spend, revenue, roas, roi, cac = expected[point["period"]]
        assert point["channel"] == "paid_social"
        assert point["spend"] == pytest.approx(float(spend))
        assert point["revenue"] == pytest.approx(float(revenue))
        assert point["roas"] == pytest.approx(roas, abs=1e-4)
        assert point["roi"] == pytest.approx(roi, abs=1e-4)
        assert point["cac"] == pytest.approx(cac, abs=1e-4)


def test_weekly_kpi_totals_equal_the_sums_over_the_mart(client: TestClient, mart_warehouse: Path):
    response = client.get("/api/kpi", params={"start": "2026-08-01", "end": "2026-10-31"})

    body = response.json()
    assert body["grain"] == "week"
    spend, revenue, orders, paid_revenue, paid_new = mart(
        mart_warehouse,
        "select sum(spend), sum(revenue), sum(orders), "
        "sum(revenue) filter (where channel like 'paid%'), sum(new_customers) filter (where channel like 'paid%') "
        "from main.kpi_channel_daily",
    )[0]
    totals = body["totals"]
    assert totals["spend"] == pytest.approx(float(spend))
    assert totals["revenue"] == pytest.approx(float(revenue))
    assert totals["orders"] == orders
    # ROAS and CAC of the range are over the paid channels only (organic revenue has no ad spend)
    assert totals["roas"] == pytest.approx(float(paid_revenue) / float(spend), abs=1e-4)
    assert totals["cac"] == pytest.approx(float(spend) / paid_new, abs=1e-4)
    assert sum(p["spend"] for p in body["series"]) == pytest.approx(float(spend))


def test_unpaid_channels_have_no_ratios_instead_of_zero_or_infinity(client: TestClient):
    body = client.get("/api/kpi", params={"start": "2026-09-01", "end": "2026-09-07", "channel": "email"}).json()

    assert body["series"], "email has rows in the fixture"
    assert all(p["roas"] is None and p["roi"] is None and p["cac"] is None for p in body["series"])


def test_budget_rows_are_the_mart_rows_with_off_plan_lines_flagged(client: TestClient, mart_warehouse: Path):
    body = client.get("/api/budget", params={"start": "2026-09-10", "end": "2026-10-05"}).json()

    expected = mart(
        mart_warehouse,
        "select month, channel, planned_spend, actual_spend, spend_variance from main.budget_vs_actual "
        "where month between '2026-09-01' and '2026-10-01' order by month, channel",
    )
    got = [(r["month"], r["channel"], r["planned_spend"], r["actual_spend"], r["spend_variance"]) for r in body["rows"]]
    assert got == [(m.isoformat(), c, float(p), float(a), float(v)) for m, c, p, a, v in expected]
    for row in body["rows"]:
        share = (row["actual_spend"] - row["planned_spend"]) / row["planned_spend"]
        assert row["flag"] == ("over" if share > 0.10 else "under" if share < -0.10 else "on_plan")
    assert {"over", "under", "on_plan"} <= {r["flag"] for r in body["rows"]}


def test_funnel_rates_for_one_month_and_channel_equal_the_mart(client: TestClient, mart_warehouse: Path):
    body = client.get("/api/funnel", params={"start": "2026-09-01", "end": "2026-09-30", "channel": "paid_search"}).json()

    (row,) = body["channels"]
    ads, visits, firsts, visit_rate, purchase_rate = mart(
        mart_warehouse,
        "select ad_interactions, site_visits, first_purchases, visit_rate, purchase_rate from main.kpi_funnel "
        "where month = '2026-09-01' and channel = 'paid_search'",
    )[0]
    assert (row["ad_interactions"], row["site_visits"], row["first_purchases"]) == (ads, visits, firsts)
    assert row["visit_rate"] == pytest.approx(visit_rate, abs=1e-4)
    assert row["purchase_rate"] == pytest.approx(purchase_rate, abs=1e-4)


def test_rfm_segments_count_every_customer_once(client: TestClient, mart_warehouse: Path):
    body = client.get("/api/rfm").json()

    expected = dict(mart(mart_warehouse, "select rfm_segment, count(*) from main.customer_rfm group by 1"))
    assert {s["segment"]: s["customers"] for s in body["segments"]} == expected
    assert body["customers"] == sum(expected.values())
    assert sum(s["customer_share"] for s in body["segments"]) == pytest.approx(1.0, abs=1e-3)


def test_top_recommendations_rank_products_by_customers(client: TestClient, mart_warehouse: Path):
    body = client.get("/api/recommendations").json()

    expected = dict(
        mart(mart_warehouse, "select sku, count(distinct customer_id) from main.customer_recommendations group by 1")
    )
    assert {p["sku"]: p["customers"] for p in body["products"]} == expected
    counts = [p["customers"] for p in body["products"]]
    assert counts == sorted(counts, reverse=True)


def test_listing_health_counts_statuses_and_reads_the_last_push_from_sync_state(client: TestClient):
    body = client.get("/api/listings").json()

    by_market = {m["marketplace"]: m for m in body["marketplaces"]}
    assert set(by_market) == {"amazon", "ebay", "shop"}
    # the fixture withdraws every 4th of 12 SKUs on every marketplace
    assert all((m["active"], m["withdrawn"]) == (9, 3) for m in by_market.values())
    # the later confirmation of the listing-creation sync (listings_ebay) is not a stock push
    assert by_market["ebay"]["last_pushed_at"] == "2026-10-31 10:00:05"
    assert by_market["ebay"]["confirmed_listings"] == 9
    assert by_market["amazon"]["last_pushed_at"] is None  # only a dry run so far
    assert by_market["amazon"]["withdrawn_reasons"][0]["listings"] == 3


def test_listing_health_shows_catalogue_readiness_and_listing_creation_problems_per_marketplace(client: TestClient):
    by_market = {m["marketplace"]: m for m in client.get("/api/listings").json()["marketplaces"]}
    amazon = by_market["amazon"]
    assert (amazon["catalogue_skus"], amazon["catalogue_incomplete"]) == (4, 2)
    assert amazon["catalogue_problems"] == [{"reason": "missing gtin", "skus": 2}]
    assert amazon["creation_rejections"] == [{
        "reason": "refused to send, product type schema: $.attributes.brand: 'brand' is a required property",
        "skus": 1, "example_sku": "SKU-003"}]
    assert (by_market["ebay"]["catalogue_incomplete"], by_market["ebay"]["creation_rejections"]) == (0, [])


def test_sync_health_shows_each_syncs_last_run_and_scrubbed_open_rejections(client: TestClient):
    response = client.get("/api/syncs", params={"start": "2026-10-01", "end": "2026-10-31"})

    body = response.json()
    syncs = {s["sync_id"]: s for s in body["syncs"]}
    assert syncs["ebay_listings"]["last_run_id"] == "r-2"
    assert syncs["ebay_listings"]["runs_in_range"] == 2
    assert syncs["ebay_listings"]["api_calls_in_range"] == 3
    assert syncs["meta_audience_champions"]["rejected_share"] == pytest.approx(30 / 130, abs=1e-4)
    # two reasons that differ only by the e-mail address merge once the address is masked; resolved ones drop
    assert body["open_rejections"] == [
        {"sync_id": "meta_audience_champions", "reason": "Invalid email hash for <email>", "rows": 2,
         "last_rejected_at": "2026-10-31 06:00:31"},
        {"sync_id": "listings_amazon",
         "reason": "refused to send, product type schema: $.attributes.brand: 'brand' is a required property",
         "rows": 1, "last_rejected_at": "2026-10-31 11:00:00"},
    ]
    assert "@" not in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"start": "2026-13-01"}, "start='2026-13-01' is not a date", id="an impossible start date"),
        pytest.param({"end": "yesterday"}, "end='yesterday' is not a date", id="a word instead of an end date"),
        pytest.param({"start": "2026-10-01", "end": "2026-09-01"}, "is after end", id="a range that ends before it starts"),
        pytest.param({"start": "2020-01-01", "end": "2026-01-01"}, "pick a shorter range", id="a range of six years"),
        pytest.param({"channel": "tiktok"}, "channel='tiktok' is not a known channel", id="an unknown channel"),
    ],
)
@pytest.mark.parametrize("path", CHART_PATHS)
def test_a_bad_filter_is_a_400_that_says_what_is_wrong(client: TestClient, path: str, params: dict, message: str):
    response = client.get(path, params=params)

    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/overview", *CHART_PATHS])
def test_a_missing_warehouse_gives_the_no_data_state(tmp_path: Path, path: str):
    client = TestClient(create_app(tmp_path / "absent.duckdb", tmp_path))

    response = client.get(path)

    assert response.status_code == 200
    assert response.json()["status"] == "empty"
    assert response.json()["message"] == "No data yet: run the pipeline (make demo)"
    assert not (tmp_path / "absent.duckdb").exists(), "reading must not create the warehouse"


@pytest.mark.parametrize("path", CHART_PATHS)
def test_a_warehouse_without_marts_gives_the_no_data_state_naming_the_missing_table(tmp_path: Path, path: str):
    warehouse = tmp_path / "raw_only.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema raw; create table raw.shop_orders (id bigint)")
    con.execute("create table main.kpi_channel_daily (date_day date, channel varchar)")  # present but empty
    con.close()

    body = TestClient(create_app(warehouse, tmp_path)).get(path).json()

    assert body["status"] == "empty"
    assert body["missing"] and all("." in table for table in body["missing"])


def test_the_overview_lists_channels_and_the_data_range(client: TestClient):
    body = client.get("/api/overview").json()

    assert body["status"] == "ok"
    assert (body["data_start"], body["data_end"]) == ("2026-08-01", "2026-10-31")
    assert "paid_social" in body["channels"]


def test_without_dates_the_range_ends_on_the_last_day_with_data(client: TestClient):
    body = client.get("/api/kpi").json()

    end = dt.date.fromisoformat(body["filters"]["end"])
    assert end == dt.date(2026, 10, 31)
    assert (end - dt.date.fromisoformat(body["filters"]["start"])).days == 89


def test_the_page_is_served_with_a_base_href_and_the_vendored_chart_library(client: TestClient):
    page = client.get("/")
    script = client.get("/static/chart.umd.js")

    assert page.status_code == 200
    assert '<base href="/">' in page.text
    assert 'src="static/chart.umd.js"' in page.text
    assert "cdn" not in page.text.lower()
    assert script.status_code == 200 and "Chart.js v4" in script.text[:200]


def test_the_overview_of_a_warehouse_without_marts_names_every_missing_mart(tmp_path: Path):
    warehouse = tmp_path / "raw_only.duckdb"
    duckdb.connect(str(warehouse)).close()

    body = TestClient(create_app(warehouse, tmp_path)).get("/api/overview").json()

    assert body["status"] == "empty"
    assert "main.kpi_channel_daily" in body["missing"] and "main.customer_rfm" in body["missing"]


def test_an_end_before_the_data_keeps_the_requested_end(client: TestClient):
    body = client.get("/api/kpi", params={"end": "2026-01-31"}).json()

    assert body["filters"]["end"] == "2026-01-31"
    assert body["series"] == [] and body["totals"]["roas"] is None


def test_the_overview_names_values_left_out_of_money_totals_for_want_of_an_exchange_rate(tmp_path: Path):
    # GIVEN a warehouse whose fx_conversion_gaps mart holds one imported order in CHF without a rate
    warehouse = build_mart_warehouse(tmp_path / "narrowcast.duckdb")
    con = duckdb.connect(str(warehouse))
    con.execute("""create table main.fx_conversion_gaps as select
        'int_orders|net_revenue of valid orders|CHF' as gap_key, 'int_orders' as model_name,
        'net_revenue of valid orders' as measure, 'CHF' as currency, 'EUR' as reporting_currency,
        date '2026-09-18' as first_date, date '2026-09-19' as last_date, 2::bigint as row_count,
        99.50::decimal(18, 2) as amount""")
    con.close()
    # WHEN the page asks for the overview
    body = TestClient(create_app(warehouse, tmp_path)).get("/api/overview").json()
    # THEN it names the currency, the dates, the count and the amount held out
    assert body["fx_gaps"] == [{"model_name": "int_orders", "measure": "net_revenue of valid orders",
                                "currency": "CHF", "reporting_currency": "EUR", "first_date": "2026-09-18",
                                "last_date": "2026-09-19", "row_count": 2, "amount": 99.5}]


def test_the_overview_of_a_warehouse_that_converted_everything_has_no_exchange_rate_notice(client: TestClient):
    assert client.get("/api/overview").json()["fx_gaps"] == []
