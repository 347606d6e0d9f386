"""The distributed deployment (docker-compose.yml: CeleryExecutor, Redis, PostgreSQL metadata) runs the pipeline.

GIVEN the shop the session's demo generated and ran embedded (every DAG in one process, as ``airflow dags test``
runs it), run again on the deployment started as processes on loopback (``celery_cluster``: scheduler,
dag-processor, api-server, triggerer and two Celery workers), WHEN the extract DAGs are triggered through the
REST API with the demo's run conf, the ad platform refusing the first attempt of one task, then transform with
the demo's ``as_of_date``, THEN the failed task succeeds on its retry, the activation DAGs follow on the mart
assets, both workers run tasks, no two warehouse writers overlap in time (the one-slot pool holds across workers)
and the marts equal the embedded run's.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from celery_cluster import CeleryCluster, celery_cluster
from celery_deployment import WAREHOUSE_POOL
from pipeline_run import PipelineRun

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PIPELINE_TIMEOUT_SECONDS = 1200
ACTIVATE_DAGS = ("activate_audiences", "activate_inventory")
# activate_inventory rebuilds the listing feed as of the day its asset-triggered run runs (the embedded run:
# its logical date), so that mart is compared by its listings (sku, marketplace) only.
AS_OF_RUN_DATE = {"marketplace_listing_feed"}
# The task the ad platform refuses once (a 401 is fatal to the client: the task fails, Airflow retries it).
FLAKY = ("extract_ad_costs", "extract_meta", "meta")


@dataclass
class DistributedRun:
    warehouse: Path
    runs: list[tuple]  # (dag_id, run_type, state)
    writers: list[tuple]  # (dag_id, task_id, map_index, start_date, end_date, try_number) in the one-slot pool
    flaky_tries: list[tuple]  # (try_number, state) of the refused task, from the task instance history
    tasks_per_worker: dict[str, int]
    seconds: float


def _wait(cluster: CeleryCluster, what: str, done, timeout: float = PIPELINE_TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        result = done()
        if result:
            return result
        if cluster.exited():
            pytest.fail(f"{cluster.exited()} stopped while waiting for {what}:\n{cluster.tails()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not done after {timeout:.0f}s:\n{cluster.tails()}")
        time.sleep(2)


def _runs(cluster: CeleryCluster, dag_ids: tuple[str, ...]) -> list[tuple]:
    return cluster.query("select dag_id, run_type, state from dag_run where dag_id = any(%s) order by id",
                         (list(dag_ids),))


def _finished(cluster: CeleryCluster, dag_ids: tuple[str, ...], run_type: str) -> bool:
    """True once every DAG has a successful run of ``run_type`` and none of their runs is still going (an
    unpaused DAG also gets the cron run of its latest interval); fails the test on a failed run."""
    runs = _runs(cluster, dag_ids)
    failed = [r for r in runs if r[2] == "failed"]
    if failed:
        pytest.fail(f"runs failed: {failed}\n{_failed_task_logs(cluster)}")
    succeeded = {r[0] for r in runs if r[1] == run_type and r[2] == "success"}
    return succeeded == set(dag_ids) and all(r[2] == "success" for r in runs)


def _failed_task_logs(cluster: CeleryCluster) -> str:
    rows = cluster.query("select dag_id, task_id, try_number from task_instance where state = 'failed'")
    logs = sorted(Path(cluster.env["AIRFLOW_HOME"], "logs").rglob("*.log"))
    tails = [f"--- {p}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:])
             for p in logs if any(f"dag_id={d}/" in str(p) and f"task_id={t}" in str(p) for d, t, _ in rows)]
    return f"failed task instances: {rows}\n" + "\n".join(tails)


def _tasks_per_worker(cluster: CeleryCluster) -> dict[str, int]:
    """How many task instances each worker received (the Celery task ids it logged, matched to the metadata)."""
    executor_ids = {row[0] for row in cluster.query(
        "select external_executor_id from task_instance where external_executor_id is not null "
        "union select external_executor_id from task_instance_history where external_executor_id is not null")}
    counts = {}
    for n, hostname in enumerate(cluster.workers, start=1):
        received = set(re.findall(r"\[([0-9a-f-]{36})\] received", cluster.log(f"airflow-worker-{n}").read_text()))
        counts[hostname] = len(received & executor_ids)
    return counts


@pytest.fixture(scope="module")
def embedded(pipeline: PipelineRun) -> Path:
    """The session's demo run (every DAG in one process): its generated shop and its warehouse are the reference."""
    assert pipeline.returncode == 0, pipeline.stdout[-3000:]
    return pipeline.data_dir


@pytest.fixture(scope="module")
def distributed(embedded: Path, tmp_path_factory: pytest.TempPathFactory) -> DistributedRun:
    from narrowcast.demo import WorldArgs, pipeline_plan
    from narrowcast.sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("distributed") / "data"
    for generated in ("world", "inbox", "exports"):
        shutil.copytree(embedded / generated, data / generated)
    args = json.loads((embedded / "world" / "demo-args.json").read_text())
    plan = {run["dag_id"]: run for run in pipeline_plan(WorldArgs(**args))}
    logical_date = datetime.fromisoformat(plan["transform"]["logical_date"]).replace(tzinfo=UTC).isoformat()
    extracts = tuple(dag_id for dag_id in plan if dag_id.startswith("extract_"))
    started = time.monotonic()
    with SandboxServer(data / "world") as sandbox, celery_cluster(data, sandbox.url) as cluster:
        token = cluster.token()
        _wait(cluster, "the dag-processor parsing dags/", lambda: set(plan) <= {
            dag["dag_id"] for dag in cluster.api("GET", "dags", token, params={"limit": 100})["dags"]})
        # GIVEN the ad platform refuses the first attempt of one extract task
        sandbox.faults(FLAKY[2], auth_failure=True)
        # WHEN the extract DAGs are triggered through the REST API, with the demo's run conf
        for dag_id in extracts:
            cluster.api("PATCH", f"dags/{dag_id}", token, json={"is_paused": False})
            cluster.api("POST", f"dags/{dag_id}/dagRuns", token,
                        json={"logical_date": logical_date, "conf": plan[dag_id]["conf"]})

        def refused_once() -> bool:
            return bool(cluster.query(
                "select 1 from task_instance_history where dag_id = %s and task_id = %s and state = 'failed'",
                FLAKY[:2]) or cluster.query(
                "select 1 from task_instance where dag_id = %s and task_id = %s and state = 'up_for_retry'",
                FLAKY[:2]))

        _wait(cluster, "the refused task's first attempt failing", refused_once)
        sandbox.faults(FLAKY[2])
        _wait(cluster, "the extract DAG runs", lambda: _finished(cluster, extracts, "manual"))
        # Paused again, so no cron run's asset events trigger a transform at another as_of_date.
        for dag_id in extracts:
            cluster.api("PATCH", f"dags/{dag_id}", token, json={"is_paused": True})
        # THEN (once transform has run with the demo's as_of_date) activation follows on the mart assets
        for dag_id in ("transform", *ACTIVATE_DAGS):
            cluster.api("PATCH", f"dags/{dag_id}", token, json={"is_paused": False})
        cluster.api("POST", "dags/transform/dagRuns", token,
                    json={"logical_date": logical_date, "conf": plan["transform"]["conf"]})
        _wait(cluster, "transform", lambda: _finished(cluster, ("transform",), "manual"))
        _wait(cluster, "the asset-triggered activation runs",
              lambda: _finished(cluster, ACTIVATE_DAGS, "asset_triggered"))
        return DistributedRun(
            warehouse=data / "warehouse" / "narrowcast.duckdb",
            runs=_runs(cluster, tuple(plan)),
            writers=cluster.query(
                "select dag_id, task_id, map_index, start_date, end_date, try_number from task_instance "
                "where pool = %s and end_date is not null union all "
                "select dag_id, task_id, map_index, start_date, end_date, try_number from task_instance_history "
                "where pool = %s and end_date is not null order by 4", (WAREHOUSE_POOL, WAREHOUSE_POOL)),
            flaky_tries=cluster.query(
                "select try_number, state from task_instance_history where dag_id = %s and task_id = %s union all "
                "select try_number, state from task_instance where dag_id = %s and task_id = %s order by 1",
                FLAKY[:2] * 2),
            tasks_per_worker=_tasks_per_worker(cluster),
            seconds=time.monotonic() - started,
        )


def test_every_dag_run_succeeds_and_activation_follows_the_mart_assets(distributed):
    print(f"distributed run: {distributed.seconds:.0f}s, tasks per worker {distributed.tasks_per_worker}")
    assert all(state == "success" for _, _, state in distributed.runs), distributed.runs
    triggered = {(dag_id, run_type) for dag_id, run_type, _ in distributed.runs}
    assert {("activate_audiences", "asset_triggered"), ("activate_inventory", "asset_triggered"),
            ("transform", "manual")} <= triggered, triggered


def test_a_task_refused_once_succeeds_on_its_retry(distributed):
    assert distributed.flaky_tries[0] == (1, "failed") and distributed.flaky_tries[-1][1] == "success", (
        distributed.flaky_tries)


def test_both_celery_workers_run_tasks(distributed):
    assert len(distributed.tasks_per_worker) == 2 and all(distributed.tasks_per_worker.values()), (
        distributed.tasks_per_worker)


def test_warehouse_writers_never_overlap_across_the_workers(distributed):
    writers = distributed.writers
    assert len(writers) > 10, writers
    overlapping = [(a, b) for a, b in zip(writers, writers[1:], strict=False) if a[4] is None or b[3] < a[4]]
    assert overlapping == [], overlapping


def _rows(warehouse: Path, mart: str, columns: str = "*") -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return sorted(con.execute(f"select {columns} from main.{mart}").fetchall(), key=repr)


def test_the_marts_equal_the_embedded_runs(distributed, embedded):
    from narrowcast_airflow.assets import MARTS

    for mart in MARTS:
        columns = "sku, marketplace" if mart in AS_OF_RUN_DATE else "*"
        expected = _rows(embedded / "warehouse" / "narrowcast.duckdb", mart, columns)
        assert expected, f"the embedded run built no {mart}"
        assert _rows(distributed.warehouse, mart, columns) == expected, mart
