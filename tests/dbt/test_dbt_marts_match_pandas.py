"""The marts built by dbt on the fixture warehouse agree row by row with an independent pandas recomputation."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

import dbt_affiliate_reference as affiliate
import dbt_fixture_warehouse as fixture
import dbt_pandas_reference as reference
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e  # one `dbt build` of the whole project (about a minute on a shared machine)

ReadTable = Callable[[str], pd.DataFrame]
AS_OF = date.fromisoformat(fixture.AS_OF_DATE)


def test_customer_rfm_matches_pandas_row_by_row(read_table: ReadTable) -> None:
    # GIVEN the RFM recomputed with pandas (rank(method='min') = ties share the lowest rank)
    expected = reference.rfm(read_table, AS_OF).sort_values("customer_id").reset_index(drop=True)
    # WHEN reading the mart
    actual = read_table("customer_rfm").sort_values("customer_id").reset_index(drop=True)
    # THEN every customer, measure, score and segment agrees
    assert actual["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in ["recency_days", "frequency", "r_score", "f_score", "m_score"]:
        assert actual[column].astype(int).tolist() == expected[column].astype(int).tolist(), column
    assert actual["monetary"].astype(float).round(2).tolist() == expected["monetary"].round(2).tolist()
    assert actual["rfm_score"].tolist() == expected["rfm_score"].tolist()
    assert actual["rfm_segment"].tolist() == expected["rfm_segment"].tolist()


def test_customer_rfm_counts_the_file_import_customer_and_ignores_invalid_and_future_orders(
    read_table: ReadTable,
) -> None:
    rfm = read_table("customer_rfm").set_index("customer_id")
    # Customer 9 exists only in a minimal orders-import file (order_id, customer_id, ordered_at, currency, total).
    assert rfm.loc["9", "frequency"] == 1 and float(rfm.loc["9", "monetary"]) == 45.0
    # Customer 4 has only a test order and a fully refunded one: not scored.
    assert "4" not in rfm.index
    # Customer 1's order of 2026-04-02 is after as_of_date: last order stays 2026-03-28.
    assert rfm.loc["1", "last_order_at"] == pd.Timestamp("2026-03-28 10:05:00")


def test_daily_spend_per_channel_matches_the_ad_platforms_and_affiliate_commission(read_table: ReadTable) -> None:
    expected = affiliate.daily_spend_with_commission(read_table).set_index(["date_day", "channel"])["spend"]
    kpi = read_table("kpi_channel_daily")
    kpi["date_day"] = pd.to_datetime(kpi["date_day"]).dt.date
    actual = kpi.groupby(["date_day", "channel"])["spend"].sum().astype(float)
    actual = actual[actual != 0]
    assert actual.round(2).to_dict() == expected.round(2).to_dict()


def test_daily_revenue_per_channel_matches_last_non_direct_click_in_pandas(read_table: ReadTable) -> None:
    expected = reference.revenue_by_channel(read_table).set_index(["date_day", "channel"])["revenue"]
    kpi = read_table("kpi_channel_daily")
    kpi["date_day"] = pd.to_datetime(kpi["date_day"]).dt.date
    actual = kpi.groupby(["date_day", "channel"])["revenue"].sum().astype(float)
    actual = actual[actual != 0]
    assert actual.round(2).to_dict() == expected[expected != 0].round(2).to_dict()


def test_budget_variance_matches_plan_minus_recomputed_actuals(read_table: ReadTable) -> None:
    # GIVEN the plan file (in the reporting currency at its month's first day) and the actuals recomputed with
    # pandas, per month and channel
    plan = read_table("raw.file_budget_plan")
    first_days = pd.to_datetime(plan["month"] + "-01")
    plan_currency = plan["currency"].fillna("EUR")
    plan["planned_spend"] = reference.to_reporting(read_table, plan["planned_spend"], plan_currency, first_days)
    plan["planned_revenue"] = reference.to_reporting(read_table, plan["planned_revenue"], plan_currency, first_days)
    spend = affiliate.daily_spend_with_commission(read_table)
    revenue = reference.revenue_by_channel(read_table)
    month = lambda frame: pd.to_datetime(frame["date_day"]).dt.to_period("M").dt.to_timestamp()  # noqa: E731
    actual_spend = spend.assign(month=month(spend)).groupby(["month", "channel"])["spend"].sum()
    actual_revenue = revenue.assign(month=month(revenue)).groupby(["month", "channel"])["revenue"].sum()
    mart = read_table("budget_vs_actual")
    mart["month"] = pd.to_datetime(mart["month"])
    mart = mart.set_index(["month", "channel"])
    # THEN each planned row's variances are actual - planned
    for row in plan.itertuples():
        key = (pd.Timestamp(f"{row.month}-01"), row.channel)
        spent = float(actual_spend.get(key, 0.0))
        earned = float(actual_revenue.get(key, 0.0))
        assert float(mart.loc[key, "spend_variance"]) == pytest.approx(spent - float(row.planned_spend), abs=0.01)
        assert float(mart.loc[key, "revenue_variance"]) == pytest.approx(earned - float(row.planned_revenue), abs=0.01)
        if float(row.planned_spend) > 0:
            assert mart.loc[key, "spend_variance_pct"] == pytest.approx(
                (spent - float(row.planned_spend)) / float(row.planned_spend), abs=1e-9)
    # AND unplanned actuals still appear, with planned 0
    unplanned = mart.loc[(pd.Timestamp("2026-03-01"), "marketplace")]
    assert float(unplanned["planned_spend"]) == 0 and float(unplanned["actual_revenue"]) > 0


def test_listing_feed_subtracts_open_orders_of_every_channel(read_table: ReadTable) -> None:
    feed = read_table("marketplace_listing_feed").set_index(["sku", "marketplace"])
    # MUG-01: 15 on hand (latest snapshot, two warehouses), 1 unfulfilled shop order + 1 eBay order not started.
    assert feed.loc[("MUG-01", "ebay"), "on_hand"] == 15
    assert feed.loc[("MUG-01", "ebay"), "open_order_quantity"] == 2
    assert feed.loc[("MUG-01", "ebay"), "quantity"] == 6  # floor(13 x 0.5)
    # TEA-02: 50 on hand - 2 (shop) - 2 (Amazon Unshipped) = 46 -> floor(46 x 0.6) = 27.
    assert feed.loc[("TEA-02", "amazon"), "quantity"] == 27
    assert feed.loc[("OLD-01", "ebay"), "status"] == "withdrawn"


def test_audience_members_exclude_opted_out_and_non_consenting_customers(read_table: ReadTable) -> None:
    members = read_table("audience_members")
    assert not set(members["customer_id"]) & {"4", "5"}  # 4: no consent, 5: opt-out request
    ads_only = members[members["customer_id"] == "3"]
    assert ads_only["email"].isna().all() and ads_only["email_sha256"].notna().all()
    assert {"rfm_champions_loyal", "abandoned_cart", "geo_de", "cross_sell_kitchen"} <= set(members["audience_id"])


def test_audience_phone_hashes_follow_each_platforms_normalisation(read_table: ReadTable) -> None:
    # GIVEN the normalised phones of int_customers, hashed here with hashlib
    phones = read_table("int_customers").set_index("customer_id")["phone_e164_digits"].dropna()
    members = read_table("audience_members")
    with_phone = members[members["customer_id"].isin(phones.index) & members["consent_ads"]]
    assert len(with_phone) > 0
    digits = with_phone["customer_id"].map(phones)

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    # THEN Meta's column hashes the bare digits and Google's the E.164 form with its '+'
    assert (with_phone["phone_sha256"] == digits.map(sha)).all()
    assert (with_phone["phone_e164_sha256"] == ("+" + digits).map(sha)).all()
    # AND a customer's value is their RFM monetary
    rfm = read_table("customer_rfm").set_index("customer_id")["monetary"]
    valued = members[members["customer_id"].isin(rfm.index)]
    assert len(valued) > 0
    assert (valued["customer_value"].astype(float) == valued["customer_id"].map(rfm).astype(float)).all()
