"""Runs the real demo (``python -m narrowcast.demo``) once per test session in an isolated data dir,
Airflow home and sandbox port, so end-to-end tests exercise exactly what a user runs."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_CUSTOMERS = int(os.environ.get("NARROWCAST_E2E_CUSTOMERS", "400"))
DEMO_DAYS = 35


@dataclass
class PipelineRun:
    data_dir: Path
    env: dict[str, str]
    stdout: str
    returncode: int

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse" / "narrowcast.duckdb"


def isolated_env(base: Path, sandbox_port: int) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "include"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__", "NARROWCAST_"))}
    env.update({
        "NARROWCAST_DATA_DIR": str(base / "data"),
        "NARROWCAST_SANDBOX_PORT": str(sandbox_port),
        "AIRFLOW_HOME": str(base / "airflow"),
        "PYTHONPATH": str(ROOT / "include"),
    })
    from narrowcast.runtime import airflow_env

    return airflow_env(env, airflow_home=base / "airflow", data_dir=base / "data",
                       sandbox=f"http://127.0.0.1:{sandbox_port}")


def run_demo(env: dict[str, str], *extra: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "narrowcast.demo", "--customers", str(DEMO_CUSTOMERS), "--days", str(DEMO_DAYS),
         *extra],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )


def dags_test(env: dict[str, str], dag_id: str, logical_date: str, conf: str = "{}") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id, logical_date, "-c", conf],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
