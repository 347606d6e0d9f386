"""Money in the reporting currency: each value converts at its own day's rate (a weekend at Friday's, a merchant
file's rate over the ECB's), a value in a currency without a rate is held out of every sum and counted, and the
reporting currency is a var."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pandas as pd
import pytest
from dbt_invocation import run_dbt

pytestmark = pytest.mark.e2e  # reads the session's `dbt build` of the fixture warehouse

ReadTable = Callable[[str], pd.DataFrame]


def _order(read_table: ReadTable, order_key: str) -> pd.Series:
    return read_table("int_orders").set_index("order_key").loc[order_key]


def test_an_order_in_gbp_keeps_its_amount_and_converts_at_its_dates_rate(read_table: ReadTable) -> None:
    # GIVEN an eBay UK order of 42.00 GBP on Thursday 12 March, when the ECB fixed 0.84 GBP per EUR
    order = _order(read_table, "ebay:E-4")
    # THEN it keeps its currency and amount, and gains 42.00 / 0.84 = 50.00 EUR
    assert order["currency"] == "GBP" and order["net_revenue"] == Decimal("42.00")
    assert order["net_revenue_reporting"] == Decimal("50.00")
    assert order["reporting_currency"] == "EUR" and order["has_fx_rate"]


def test_a_saturday_order_converts_at_fridays_rate(read_table: ReadTable) -> None:
    # GIVEN 17.00 GBP on Saturday 14 March: Friday's rate 0.85, Monday's 0.86
    order = _order(read_table, "amazon:A-4")
    # THEN Friday's rate applies (17 / 0.86 would be 19.77)
    assert order["net_revenue_reporting"] == Decimal("20.00")
    rates = read_table("int_fx_rates_daily").set_index("fx_rate_key")
    assert str(rates.loc["GBP:2026-03-14", "published_on"])[:10] == "2026-03-13"


def test_a_merchant_files_rate_overrides_the_ecbs_for_ad_spend_in_the_accounts_currency(read_table: ReadTable) -> None:
    spend = read_table("int_ad_spend_daily")
    uk = spend[spend["account_id"] == "2"].iloc[0]
    # 30.00 GBP on Saturday 28 March at Friday's rate from the fx_rates file (0.80), not the ECB's 0.85
    assert uk["currency"] == "GBP" and uk["spend"] == Decimal("30.00")
    assert uk["spend_reporting"] == Decimal("37.50")


def test_a_budget_row_in_gbp_converts_at_its_months_first_day(read_table: ReadTable) -> None:
    plan = read_table("int_budget_plan").set_index("channel").loc["paid_search"]
    assert plan["currency"] == "GBP" and plan["planned_spend_reporting"] == Decimal("10.00")
    mart = read_table("budget_vs_actual")
    march = mart[(pd.to_datetime(mart["month"]) == pd.Timestamp("2026-03-01")) & (mart["channel"] == "paid_search")]
    assert march["planned_spend"].tolist() == [Decimal("10.00")] and march["currency"].tolist() == ["EUR"]


def test_an_order_in_a_currency_without_a_rate_is_held_out_of_every_sum_and_counted(read_table: ReadTable) -> None:
    # GIVEN an imported order of 99.00 CHF, a currency no rate exists for
    order = _order(read_table, "file:F-4")
    assert not order["has_fx_rate"] and pd.isna(order["net_revenue_reporting"])
    # THEN its customer counts the order but not its 99 francs
    rfm = read_table("customer_rfm").set_index("customer_id")
    assert rfm.loc["12", "frequency"] == 1 and rfm.loc["12", "monetary"] == Decimal("0.00")
    # AND the daily revenue is exactly the converted orders', the francs not added as euros
    orders = read_table("int_order_attribution")
    kpi = read_table("kpi_channel_daily")
    converted = orders["net_revenue_reporting"].dropna().sum()
    assert kpi["revenue"].sum() == converted
    day = kpi[pd.to_datetime(kpi["date_day"]) == pd.Timestamp("2026-03-18")]
    assert day["revenue"].sum() == 0 and day["orders"].sum() == 1
    # AND the gap is counted: model, currency, dates, rows and amount
    gaps = read_table("fx_conversion_gaps").set_index("gap_key")
    gap = gaps.loc["int_orders|net_revenue of valid orders|CHF"]
    assert (gap["row_count"], gap["amount"]) == (1, Decimal("99.00"))
    assert str(gap["first_date"])[:10] == str(gap["last_date"])[:10] == "2026-03-18"
    assert len(gaps) == 1


def test_switching_the_reporting_currency_to_usd_converts_through_the_euro(
    built_warehouse: Path, dbt_target_path: Path, tmp_path: Path
) -> None:
    # GIVEN a copy of the built warehouse, rebuilt with var reporting_currency USD (1.10 USD per EUR)
    warehouse = tmp_path / built_warehouse.name  # views name their catalog after the file
    shutil.copy(built_warehouse, warehouse)
    run_dbt(["run", "--select", "int_fx_rates_daily", "int_order_lines", "int_orders"], warehouse=warehouse,
            target_path=dbt_target_path, as_of_date=fixture.AS_OF_DATE, extra_vars={"reporting_currency": "USD"})
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = dict(con.execute(
            "select order_key, net_revenue_reporting from main.int_orders "
            "where order_key in ('ebay:E-4', 'shop:1001')").fetchall())
        currencies = con.execute("select distinct reporting_currency from main.int_orders").fetchall()
    # THEN a euro order gains 30.00 x 1.10 and a pound order 42.00 / 0.84 x 1.10
    assert rows == {"shop:1001": Decimal("33.00"), "ebay:E-4": Decimal("55.00")}
    assert currencies == [("USD",)]
