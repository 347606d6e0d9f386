"""Runs a script that loads the DAG folder with the transform in build mode, in a subprocess with its own
AIRFLOW_HOME and warehouse, and returns the JSON object the script prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def parse_dags_in_build_mode(script: str, tmp_path: Path, drop_env: tuple[str, ...] = ()) -> dict:
    env = {**os.environ, "NARROWCAST_DBT_EXECUTION_MODE": "build", "PYTHONPATH": str(ROOT / "include"),
           "NARROWCAST_WAREHOUSE": str(tmp_path / "warehouse.duckdb"), "AIRFLOW_HOME": str(tmp_path)}
    for name in drop_env:
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    return parsed
