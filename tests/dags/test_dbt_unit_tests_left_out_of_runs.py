"""Scheduled dbt builds leave dbt's unit tests out (``DBT_EXCLUDE_RESOURCE_TYPES=unit_test``); the project's test
command builds them on the fixture warehouse, and ``NARROWCAST_DBT_UNIT_TESTS_IN_RUNS=true`` puts them back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from build_mode import parse_dags_in_build_mode

from narrowcast.settings import ConfigError
from narrowcast_airflow.defaults import dbt_env

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt_project"
PARSE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag("dags")
envs = {}
for dag_id, task_id in (("transform", "dbt_build"), ("activate_inventory", "refresh_listing_feed")):
    envs[task_id] = dict(bag.dags[dag_id].get_task(task_id).env or {})
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "envs": envs}))
"""


def test_the_dags_dbt_commands_leave_unit_tests_out_unless_asked(tmp_path, monkeypatch):
    parsed = parse_dags_in_build_mode(PARSE, tmp_path, drop_env=("NARROWCAST_DBT_UNIT_TESTS_IN_RUNS",))
    for task_id, task_env in parsed["envs"].items():
        assert task_env.get("DBT_EXCLUDE_RESOURCE_TYPES") == "unit_test", task_id

    monkeypatch.setenv("NARROWCAST_DBT_UNIT_TESTS_IN_RUNS", "true")
    assert "DBT_EXCLUDE_RESOURCE_TYPES" not in dbt_env()
    monkeypatch.setenv("NARROWCAST_DBT_UNIT_TESTS_IN_RUNS", "sometimes")
    with pytest.raises(ConfigError, match="NARROWCAST_DBT_UNIT_TESTS_IN_RUNS"):
        dbt_env()


def _listed(tmp_path: Path, extra_env: dict[str, str]) -> set[str]:
    env = {**os.environ, "NARROWCAST_WAREHOUSE": str(tmp_path / "warehouse.duckdb"), **extra_env}
    env.pop("DBT_EXCLUDE_RESOURCE_TYPES", None)
    env.update(extra_env)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "ls", "--project-dir", str(DBT_DIR), "--profiles-dir",
         str(DBT_DIR), "--target-path", str(tmp_path / "target"), "--select", "int_leads", "--output", "json",
         "--output-keys", "resource_type", "unique_id", "--quiet"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return {json.loads(line)["resource_type"] for line in proc.stdout.splitlines() if line.startswith("{")}


def test_dbt_honours_the_exclusion_the_dags_set(tmp_path, monkeypatch):
    monkeypatch.delenv("NARROWCAST_DBT_UNIT_TESTS_IN_RUNS", raising=False)
    # int_leads has unit tests and data tests: the DAGs' environment drops the first and keeps the second
    assert {"unit_test", "test", "model"} <= _listed(tmp_path, {})
    with_dag_env = _listed(tmp_path, dbt_env())
    assert "unit_test" not in with_dag_env and {"test", "model"} <= with_dag_env
