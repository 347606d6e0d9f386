"""The dashboard's Sources panel lists connected and not-connected sources, and an empty chart names the sources
that would feed it when they are not connected."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from narrowcast.dashboard.app import create_app
from narrowcast.dashboard.sources_panel import CHART_SOURCES
from narrowcast.sources.registry import SOURCES


@pytest.fixture(autouse=True)
def shop_only_merchant(monkeypatch: pytest.MonkeyPatch) -> None:
    """A merchant who connected Shopify and nothing else, and uses no GA4 export."""
    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_SHOPIFY", '{"conn_type": "https", "host": "shop.example.com"}')
    monkeypatch.setenv("NARROWCAST_SOURCES", "shopify,inbox")


@pytest.fixture
def empty_marts(tmp_path: Path) -> Path:
    """A built warehouse whose marts exist but hold no row (what dbt builds for a source without data)."""
    warehouse = tmp_path / "narrowcast.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create table main.kpi_funnel (month date, channel varchar, ad_interactions bigint, "
                "site_visits bigint, first_purchases bigint)")
    con.execute("create table main.kpi_channel_daily (date_day date, channel varchar)")
    con.close()
    return warehouse


def test_the_sources_panel_lists_connected_and_not_connected_sources_with_the_fix(tmp_path: Path):
    body = TestClient(create_app(tmp_path / "absent.duckdb", tmp_path)).get("/api/sources").json()

    assert body["connected"] == ["inbox", "shopify"]
    not_connected = {s["source"]: s for s in body["not_connected"]}
    assert set(not_connected) == set(SOURCES) - {"inbox", "shopify"}
    assert not_connected["ebay"]["reason"].startswith("source ebay not selected")
    assert not_connected["ga4"]["status"] == "not selected"


def test_a_listed_source_without_its_connection_is_shown_as_not_connected_with_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("NARROWCAST_SOURCES", "shopify,inbox,amazon")
    body = TestClient(create_app(tmp_path / "absent.duckdb", tmp_path)).get("/api/sources").json()

    (amazon,) = [s for s in body["not_connected"] if s["source"] == "amazon"]
    assert amazon["status"] == "not connected"
    assert "AIRFLOW_CONN_NARROWCAST_AMAZON" in amazon["reason"]


def test_an_empty_chart_says_which_of_its_sources_are_not_connected(empty_marts: Path, tmp_path: Path):
    body = TestClient(create_app(empty_marts, tmp_path)).get("/api/funnel").json()

    assert body["status"] == "empty"
    assert body["message"] == "no data: ga4, meta_ads, google_ads not connected"


def test_an_empty_chart_whose_sources_are_all_connected_keeps_the_pipeline_hint(empty_marts, tmp_path, monkeypatch):
    monkeypatch.setenv("NARROWCAST_SOURCES", "ga4,meta_ads,google_ads")
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_META", '{"host": "https://graph.facebook.com"}')
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_GOOGLE_ADS", '{"host": "https://googleads.googleapis.com"}')
    body = TestClient(create_app(empty_marts, tmp_path)).get("/api/funnel").json()

    assert body["message"] == "No data yet: run the pipeline (make demo)"


def test_every_chart_of_the_dashboard_declares_the_sources_it_shows():
    from narrowcast.dashboard.app import CHARTS

    assert set(CHART_SOURCES) == set(CHARTS)
    assert {name for names in CHART_SOURCES.values() for name in names} <= set(SOURCES)
