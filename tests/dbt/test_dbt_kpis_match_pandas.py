"""kpi_channel_daily's volumes and every ratio, and each step and rate of kpi_funnel, agree row by row with an
independent pandas recomputation (ratios null exactly where their denominator is 0)."""

from __future__ import annotations

from collections.abc import Callable

import dbt_kpi_reference as kpi
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e  # reads the session's `dbt build` of the fixture warehouse

ReadTable = Callable[[str], pd.DataFrame]
VOLUMES = ["spend", "impressions", "clicks", "sessions", "orders", "new_customers", "revenue"]
FUNNEL_COLUMNS = ["ad_interactions", "site_visits", "first_purchases", "visit_rate", "purchase_rate", "overall_rate"]


def _values(series: pd.Series) -> list[float | None]:
    """Floats rounded for comparison, None for null, so a null and a 0 never compare equal."""
    return [None if pd.isna(v) else round(float(v), 6) for v in series]


@pytest.mark.parametrize("volume", VOLUMES)
def test_kpi_volume_per_day_and_channel_matches_pandas(read_table: ReadTable, volume: str) -> None:
    expected = kpi.daily_volumes(read_table).set_index(["date_day", "channel"])[volume].astype(float)
    mart = read_table("kpi_channel_daily")
    mart["date_day"] = pd.to_datetime(mart["date_day"]).dt.date
    actual = mart.groupby(["date_day", "channel"])[volume].sum().astype(float)
    assert actual[actual != 0].round(2).to_dict() == expected[expected != 0].round(2).to_dict()


@pytest.mark.parametrize("ratio", list(kpi.RATIOS))
def test_kpi_ratio_matches_its_documented_formula_row_by_row(read_table: ReadTable, ratio: str) -> None:
    # GIVEN each row of the mart and the ratio recomputed from that row's volumes by the yml's formula
    mart = read_table("kpi_channel_daily").sort_values("kpi_key").reset_index(drop=True)
    expected = kpi.ratios(mart)[ratio]
    numerator, denominator = kpi.RATIOS[ratio]
    # THEN they agree on every row, null exactly where the denominator is 0
    assert _values(mart[ratio]) == _values(expected), ratio
    zero = mart[denominator].astype(float) == 0
    assert zero.any() and (~zero).any(), f"the fixture needs rows with and without a zero {denominator}"
    assert mart.loc[zero, ratio].isna().all()


def test_kpi_ratios_of_a_paid_day_equal_the_ratios_of_the_recomputed_volumes(read_table: ReadTable) -> None:
    # Meta's Spring Sale campaign on 29 March is the only paid_social row that day: its ratios are those of
    # the independently recomputed volumes (gross margin 0: nothing was credited that day).
    volumes = kpi.daily_volumes(read_table).set_index(["date_day", "channel"])
    day = volumes.loc[[(pd.Timestamp("2026-03-29").date(), "paid_social")]].assign(gross_margin=0.0)
    mart = read_table("kpi_channel_daily")
    row = mart[(pd.to_datetime(mart["date_day"]) == "2026-03-29") & (mart["channel"] == "paid_social")]
    assert len(row) == 1
    expected = kpi.ratios(day.reset_index(drop=True))
    for ratio in kpi.RATIOS:
        assert _values(row[ratio]) == _values(expected[ratio]), ratio


@pytest.mark.parametrize("column", FUNNEL_COLUMNS)
def test_funnel_step_or_rate_matches_pandas_per_month_and_channel(read_table: ReadTable, column: str) -> None:
    expected = kpi.funnel(read_table)
    expected["month"] = pd.to_datetime(expected["month"])
    mart = read_table("kpi_funnel")
    mart["month"] = pd.to_datetime(mart["month"])
    joined = expected.merge(mart, on=["month", "channel"], how="outer", suffixes=("_pandas", "_mart"),
                            indicator=True).sort_values(["month", "channel"])
    assert (joined["_merge"] == "both").all(), joined.loc[joined["_merge"] != "both", ["month", "channel"]]
    assert _values(joined[f"{column}_mart"]) == _values(joined[f"{column}_pandas"]), column


def test_funnel_has_no_ad_step_for_channels_without_an_ad_platform(read_table: ReadTable) -> None:
    funnel = read_table("kpi_funnel")
    unpaid = funnel[~funnel["channel"].isin(["paid_social", "paid_search"])]
    assert len(unpaid) > 0 and unpaid["ad_interactions"].isna().all() and unpaid["visit_rate"].isna().all()
    assert np.isnan(unpaid["overall_rate"].astype(float)).all()
