"""Airflow's executor workers import the task modules before they fork task processes; the scheduler does not.

Each case runs ``worker_preload_probe.py`` in a fresh interpreter with the project's settings for that executor:
``make ui``'s LocalExecutor (:func:`narrowcast.runtime.ui_env`) and the Celery deployment's
(``celery_deployment.airflow_settings``, which ``docker-compose.yml`` matches).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import celery_deployment as deployment

from narrowcast.runtime import airflow_env, ui_env

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("worker_preload_probe.py")
EVERYTHING = {"great_expectations": True, "pandas": True, "pyarrow": True, "duckdb": True,
              "narrowcast.extract": True, "gate_context_built": True}
NOTHING = dict.fromkeys(EVERYTHING, False)


def _probe(mode: str, env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, str(PROBE), mode], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_local_executor_task_process_inherits_what_its_worker_preloaded_and_the_scheduler_never_imports(tmp_path):
    env = ui_env(airflow_env(airflow_home=tmp_path / "airflow", data_dir=tmp_path / "data"), port=18080)
    seen = _probe("local", env)
    assert seen["task"] == EVERYTHING
    assert seen["worker"] == EVERYTHING
    assert seen["scheduler"] == NOTHING
    assert seen["executor_forks_workers"] is False  # workers come from the forkserver that preloaded
    # Only the scheduler (which runs the LocalExecutor) changes its start method; the others keep Python's default.
    assert seen["start_method"] == {"scheduler": "forkserver", "dag_processor": None, "triggerer": None}


def test_a_celery_worker_imports_the_task_modules_before_its_pool_forks_and_the_scheduler_does_not(tmp_path):
    env = airflow_env(airflow_home=tmp_path / "airflow", data_dir=tmp_path / "data")
    env.update(deployment.airflow_settings(deployment.Endpoints("127.0.0.1", 1, "127.0.0.1", 1)))
    seen = _probe("celery", env)
    assert seen["scheduler"] == NOTHING
    assert seen["worker"] == EVERYTHING
    assert seen["pool_started"] is False  # imported before any pool process exists to fork
