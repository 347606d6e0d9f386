"""A merchant without a source or a destination: its extract task and its syncs are skipped with the fix in the
reason (a skipped task, not a failure and not a silent success), loaded in-process through the DAGs' callables."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dag_of(name: str):
    spec = importlib.util.spec_from_file_location(f"dag_{name}", ROOT / "dags" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


@pytest.fixture(autouse=True)
def merchant_without_connections(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("NARROWCAST_SOURCES", raising=False)
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _skip_reason(call) -> str:
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException) as skipped:
        result = call()
        if hasattr(result, "__next__"):  # the extract task is a generator of asset metadata
            list(result)
    return str(skipped.value)


@pytest.mark.parametrize("dag_id, task_id, source, connection", [
    pytest.param("extract_shop", "extract_shopify", "shopify", "narrowcast_shopify", id="the shop without Shopify"),
    pytest.param("extract_marketplace_orders", "extract_ebay", "ebay", "narrowcast_ebay", id="no eBay account"),
    pytest.param("extract_ad_costs", "extract_meta", "meta_ads", "narrowcast_meta", id="no Meta ads"),
    pytest.param("extract_shop", "extract_klaviyo", "klaviyo", "narrowcast_klaviyo", id="no Klaviyo account"),
])
def test_an_extract_task_whose_connection_is_not_set_is_skipped_naming_the_connection(dag_id, task_id, source,
                                                                                       connection,
                                                                                       merchant_without_connections):
    task = dag_of(dag_id).get_task(task_id)
    reason = _skip_reason(lambda: task.python_callable())
    assert reason == (f"source {source} not connected: set connection {connection} "
                      f"(AIRFLOW_CONN_{connection.upper()} or the Airflow UI)")
    # nothing was opened: the warehouse was not even created
    assert not (merchant_without_connections / "warehouse").exists()


def test_a_file_source_the_settings_list_leaves_out_is_skipped(monkeypatch):
    monkeypatch.setenv("NARROWCAST_SOURCES", "inbox")
    task = dag_of("extract_web_events").get_task("extract_ga4")
    assert _skip_reason(lambda: task.python_callable()) == (
        "source ga4 not selected: NARROWCAST_SOURCES=inbox does not list it")


def test_a_sync_whose_destination_is_not_connected_is_skipped_and_sends_nothing(monkeypatch):
    sent = []
    monkeypatch.setattr("narrowcast.activation.run_sync",
                        lambda spec, **kw: sent.append(spec.id) or SimpleNamespace(as_dict=lambda: {}))
    sync = dag_of("activate_audiences").get_task("sync").python_callable
    reason = _skip_reason(lambda: sync("rfm_at_risk_klaviyo"))
    assert reason == ("sync rfm_at_risk_klaviyo: destination klaviyo not connected: set connection "
                      "narrowcast_klaviyo (AIRFLOW_CONN_NARROWCAST_KLAVIYO or the Airflow UI)")
    assert sent == []


def test_a_dry_run_of_a_sync_without_its_connection_still_plans(monkeypatch):
    planned = []
    monkeypatch.setattr("narrowcast.activation.run_sync",
                        lambda spec, **kw: planned.append((spec.id, kw["dry_run"])) or SimpleNamespace(as_dict=dict))
    sync = dag_of("activate_inventory").get_task("sync").python_callable
    sync("stock_amazon", dag_run=SimpleNamespace(conf={"dry_run": True}))
    assert planned == [("stock_amazon", True)]


def test_a_connected_sync_runs(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_EBAY", '{"conn_type": "https", "host": "api.ebay.com"}')
    sent = []
    monkeypatch.setattr("narrowcast.activation.run_sync",
                        lambda spec, **kw: sent.append(spec.id) or SimpleNamespace(as_dict=dict))
    dag_of("activate_inventory").get_task("sync").python_callable("stock_ebay")
    assert sent == ["stock_ebay"]
