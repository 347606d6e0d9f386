"""The real-time abandoned-checkout DAG parses fast, runs every 2 minutes alone in the warehouse pool, and skips
its task while Shopify or Klaviyo is not connected."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_dag():
    spec = importlib.util.spec_from_file_location("dag_realtime_abandoned_checkouts",
                                                  ROOT / "dags" / "realtime_abandoned_checkouts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.realtime_abandoned_checkouts()


def test_the_dag_parses_and_is_a_short_interval_single_writer():
    from narrowcast_airflow.defaults import WAREHOUSE_POOL

    dag = load_dag()
    assert dag.max_active_runs == 1
    assert dag.timetable.expression == "*/2 * * * *"
    task = dag.get_task("send_abandoned_checkouts")
    assert task.pool == WAREHOUSE_POOL
    assert task.retries >= 2
    assert not task.outlets  # never starts the daily build


def test_without_a_klaviyo_connection_the_task_skips(monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_SHOPIFY", '{"conn_type": "https", "host": "shop.example.com"}')
    monkeypatch.delenv("AIRFLOW_CONN_NARROWCAST_KLAVIYO", raising=False)
    dag = load_dag()
    with pytest.raises(AirflowSkipException, match="narrowcast_klaviyo"):
        dag.get_task("send_abandoned_checkouts").python_callable()
