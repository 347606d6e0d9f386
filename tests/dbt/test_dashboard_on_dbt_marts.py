"""The dashboard, pointed read-only at the marts dbt built from the fixture warehouse, shows the KPIs, ratios
and funnel that the independent pandas recomputation gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dbt_kpi_reference as kpi
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from narrowcast.dashboard.app import create_app

pytestmark = pytest.mark.e2e  # reads the session's `dbt build` of the fixture warehouse

ReadTable = Callable[[str], pd.DataFrame]
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)


@pytest.fixture
def dashboard(built_warehouse: Path, tmp_path: Path) -> TestClient:
    warehouse_bytes = built_warehouse.read_bytes()
    yield TestClient(create_app(built_warehouse, tmp_path))
    assert built_warehouse.read_bytes() == warehouse_bytes, "the dashboard must only read the warehouse"


@pytest.fixture
def march(read_table: ReadTable) -> pd.DataFrame:
    """March's volumes per (date_day, channel), recomputed with pandas."""
    volumes = kpi.daily_volumes(read_table)
    days = pd.to_datetime(volumes["date_day"])
    return volumes[(days >= MARCH["start"]) & (days <= MARCH["end"])]


def test_daily_kpis_and_ratios_of_a_paid_channel_equal_pandas(
    dashboard: TestClient, march: pd.DataFrame, read_table: ReadTable
) -> None:
    # GIVEN March's paid social volumes recomputed with pandas; gross margin (ERP costs) is the one volume
    # taken from the mart
    expected = march[march["channel"] == "paid_social"].set_index("date_day")
    mart = read_table("kpi_channel_daily")
    margin = mart[mart["channel"] == "paid_social"].groupby("date_day")["gross_margin"].sum().astype(float)
    # WHEN the dashboard shows that channel day by day
    body = dashboard.get("/api/kpi", params={**MARCH, "channel": "paid_social"}).json()
    # THEN each day's figures and ratios are those of the recomputed volumes
    assert body["grain"] == "day"
    assert [p["period"] for p in body["series"]] == [d.isoformat() for d in sorted(expected.index)]
    for point in body["series"]:
        day = expected.loc[pd.Timestamp(point["period"]).date()]
        gross_margin = float(margin[pd.Timestamp(point["period"])])
        assert point["spend"] == pytest.approx(day["spend"])
        assert point["revenue"] == pytest.approx(day["revenue"])
        assert point["roas"] == _ratio(day["revenue"], day["spend"])
        assert point["roi"] == _ratio(gross_margin - day["spend"], day["spend"])
        assert point["cac"] == _ratio(day["spend"], day["new_customers"])
        assert point["aov"] == _ratio(day["revenue"], day["orders"])


def test_kpi_totals_over_every_channel_equal_pandas(dashboard: TestClient, march: pd.DataFrame) -> None:
    totals = dashboard.get("/api/kpi", params=MARCH).json()["totals"]

    paid = march[march["channel"].isin(march.loc[march["spend"] > 0, "channel"])]
    assert totals["spend"] == pytest.approx(march["spend"].sum())
    assert totals["revenue"] == pytest.approx(march["revenue"].sum())
    assert totals["orders"] == march["orders"].sum()
    # ROAS and CAC of the range are over the channels with spend only
    assert totals["roas"] == _ratio(paid["revenue"].sum(), paid["spend"].sum())
    assert totals["cac"] == _ratio(paid["spend"].sum(), paid["new_customers"].sum())
    assert totals["aov"] == _ratio(march["revenue"].sum(), march["orders"].sum())


def test_funnel_steps_and_rates_equal_pandas(dashboard: TestClient, read_table: ReadTable) -> None:
    funnel = kpi.funnel(read_table)
    expected = funnel[pd.to_datetime(funnel["month"]) == MARCH["start"]].set_index("channel")

    rows = dashboard.get("/api/funnel", params=MARCH).json()["channels"]

    assert sorted(r["channel"] for r in rows) == sorted(expected.index)
    for row in rows:
        step = expected.loc[row["channel"]]
        ads = None if pd.isna(step["ad_interactions"]) else int(step["ad_interactions"])
        assert (row["ad_interactions"], row["site_visits"], row["first_purchases"]) == (
            ads, int(step["site_visits"]), int(step["first_purchases"])), row["channel"]
        assert row["visit_rate"] == (None if ads is None else _ratio(step["site_visits"], ads))
        assert row["purchase_rate"] == _ratio(step["first_purchases"], step["site_visits"])
        assert row["overall_rate"] == (None if ads is None else _ratio(step["first_purchases"], ads))
