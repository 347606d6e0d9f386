"""The official ``apache-airflow-client`` against the running server: list DAGs, trigger a run, read its state."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.e2e

TRIGGERED_DAG = "extract_inbox"  # reads the inbox folder only: no sandbox API needed
WAREHOUSE_POOL = "narrowcast_warehouse"
RUN_FINISHED = {"success", "failed"}
# A task in one of these states means the run cannot succeed on its first try: stop waiting and report it.
TASK_FAILING = {"failed", "up_for_retry", "upstream_failed"}


def _state(value: object) -> str | None:
    """The client returns states as enums; compare them as the API's strings."""
    return None if value is None else str(getattr(value, "value", value))


@pytest.fixture(scope="module")
def api_client(airflow_standalone) -> Iterator:
    import airflow_client.client as client

    configuration = client.Configuration(host=airflow_standalone.base_url, access_token=airflow_standalone.token())
    with client.ApiClient(configuration) as api:
        yield api


def test_the_client_lists_the_project_dags_and_no_import_errors(api_client, parsed_dags, project_dag_ids):
    from airflow_client.client.api.dag_api import DAGApi
    from airflow_client.client.api.import_error_api import ImportErrorApi

    dags = DAGApi(api_client).get_dags(limit=100)
    errors = ImportErrorApi(api_client).get_import_errors()

    assert project_dag_ids, "no dag_id found in dags/"
    assert set(project_dag_ids) <= {dag.dag_id for dag in dags.dags}
    assert errors.total_entries == 0, [e.filename for e in errors.import_errors]


def test_a_run_triggered_through_the_api_succeeds(api_client, parsed_dags, project_dag_ids, test_output):
    assert TRIGGERED_DAG in project_dag_ids, f"{TRIGGERED_DAG} is not declared in dags/"
    from airflow_client.client.api.dag_api import DAGApi
    from airflow_client.client.api.dag_run_api import DagRunApi
    from airflow_client.client.api.pool_api import PoolApi
    from airflow_client.client.api.task_instance_api import TaskInstanceApi
    from airflow_client.client.exceptions import NotFoundException
    from airflow_client.client.models.dag_patch_body import DAGPatchBody
    from airflow_client.client.models.pool_body import PoolBody
    from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

    # GIVEN the one-slot warehouse pool a deployment creates, and the DAG unpaused
    try:
        PoolApi(api_client).get_pool(WAREHOUSE_POOL)
    except NotFoundException:
        PoolApi(api_client).post_pool(PoolBody(name=WAREHOUSE_POOL, slots=1, description="DuckDB: one writer"))
    DAGApi(api_client).patch_dag(TRIGGERED_DAG, DAGPatchBody(is_paused=False))

    # WHEN a run is triggered through the REST API
    window = {"start": "2026-10-30T00:00:00", "end": "2026-10-31T00:00:00"}  # a manual run's window comes from conf
    run = DagRunApi(api_client).trigger_dag_run(TRIGGERED_DAG, TriggerDAGRunPostBody(logical_date=None, conf=window))
    assert _state(run.state) in ("queued", "running")

    # THEN the scheduler runs it to success, every task included, and the API reports it
    deadline = time.monotonic() + 300
    while True:
        current = DagRunApi(api_client).get_dag_run(TRIGGERED_DAG, run.dag_run_id)
        instances = TaskInstanceApi(api_client).get_task_instances(TRIGGERED_DAG, run.dag_run_id)
        task_states = {ti.task_id: _state(ti.state) for ti in instances.task_instances}
        run_state = _state(current.state)
        if run_state in RUN_FINISHED or TASK_FAILING & set(task_states.values()) or time.monotonic() > deadline:
            break
        time.sleep(3)
    (test_output / "rest_api_triggered_run.json").write_text(
        json.dumps({"dag_id": TRIGGERED_DAG, "run_id": run.dag_run_id, "state": run_state, "tasks": task_states}, indent=2)
    )
    assert current.dag_run_id == run.dag_run_id
    assert run_state == "success", f"run {run.dag_run_id} is {run_state}; tasks: {task_states}"
    assert task_states and set(task_states.values()) == {"success"}, task_states


def test_the_dashboard_api_needs_a_token_and_then_returns_the_marts(airflow_standalone):
    import requests

    url = f"{airflow_standalone.base_url}/narrowcast/api/kpi"

    anonymous = requests.get(url, timeout=30)
    authorised = requests.get(url, headers={"Authorization": f"Bearer {airflow_standalone.token()}"}, timeout=30)

    assert anonymous.status_code == 401
    assert authorised.status_code == 200
    assert authorised.json()["status"] == "ok" and authorised.json()["series"]
