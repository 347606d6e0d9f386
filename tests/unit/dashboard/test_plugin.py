"""The Airflow plugin mounts the dashboard app and links both of its pages inside the Airflow UI."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from fastapi import FastAPI
from fastapi.testclient import TestClient

PLUGIN_FILE = Path(__file__).resolve().parents[3] / "plugins" / "narrowcast_dashboard.py"


def load_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("narrowcast_dashboard_plugin", PLUGIN_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_both_views_render_inside_the_ui_and_need_the_ui_login():
    plugin = load_plugin().NarrowcastDashboardPlugin

    (app_entry,) = plugin.fastapi_apps
    views = {view["url_route"]: view for view in plugin.external_views}
    assert set(views) == {"narrowcast-dashboard", "narrowcast-dbt-docs"}
    assert views["narrowcast-dbt-docs"]["category"] == "docs"
    assert all(view["destination"] == "nav" and view["href"].startswith(app_entry["url_prefix"]) for view in views.values())

    # Airflow mounts the app under url_prefix; each view's href is served there, to logged-in users only.
    outer = FastAPI()
    outer.mount(app_entry["url_prefix"], app_entry["app"])
    client = TestClient(outer)
    for href in [*(view["href"] for view in views.values()), "/narrowcast/api/kpi"]:
        response = client.get(href)
        assert response.status_code == 401, href
        assert response.json()["detail"] == "Not authenticated"


def test_inside_airflow_a_source_counts_as_connected_wherever_airflow_keeps_its_connection(monkeypatch):
    # GIVEN the plugin's lookup, which asks Airflow's secrets backends (environment, secrets manager, metadata DB)
    connected = load_plugin()._connection_defined
    monkeypatch.delenv("AIRFLOW_CONN_NARROWCAST_SHOPIFY", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_EBAY", "http://:token@127.0.0.1:9/")
    # THEN a connection Airflow resolves is connected and one it does not know is not
    assert connected("narrowcast_ebay") is True
    assert connected("narrowcast_shopify") is False
