"""Runs the real demo (``python -m narrowcast.demo``) once per test session in an isolated data dir,
Airflow home and sandbox port, so end-to-end tests exercise exactly what a user runs; then more DAG runs, either
several in one Airflow process (``narrowcast_airflow.runner``, as the demo runs them) or one per
``airflow dags test`` (the operator's command)."""

from __future__ import annotations

import json
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

    @property
    def demo_warehouse(self) -> Path:
        """A copy of the warehouse as the demo left it, before any other test ran more DAGs on it."""
        return self.data_dir.parent / "demo-warehouse.duckdb"


def isolated_env(base: Path, sandbox_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a pipeline run under ``base``; ``extra`` (e.g. the warehouse engine) is set before the
    runtime derives what follows from it."""
    sys.path.insert(0, str(ROOT / "include"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__", "NARROWCAST_"))}
    env.update(extra or {})
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


@dataclass
class DagRuns:
    """What one runner process reported: each finished run's step, DAG, state, seconds and log file."""

    proc: subprocess.CompletedProcess
    finished: list[dict]

    def failure(self) -> str:
        """Empty when every run succeeded; else which one did not, with its log's tail (or the runner's output)."""
        for run in self.finished:
            if run["state"] != "success":
                tail = "\n".join(Path(run["log"]).read_text(errors="replace").splitlines()[-60:])
                return f"{run['step']} ({run['dag_id']}) {run['state']}; {run['log']}:\n{tail}"
        if self.proc.returncode != 0:
            return f"runner exited {self.proc.returncode}:\n{self.proc.stdout[-3000:]}{self.proc.stderr[-3000:]}"
        return ""


def run_dags(env: dict[str, str], log_dir: Path, runs: list[tuple[str, str, dict]]) -> DagRuns:
    """``(dag_id, logical_date, conf)`` runs in order in one Airflow process, each as ``airflow dags test`` runs it.

    Each run's log goes to ``log_dir/<n>-<dag_id>.log``; the runner stops at the first run that fails.
    """
    plan = [{"step": f"{n}-{dag_id}", "dag_id": dag_id, "logical_date": logical_date, "conf": conf}
            for n, (dag_id, logical_date, conf) in enumerate(runs, start=1)]
    proc = subprocess.run(
        [sys.executable, "-m", "narrowcast_airflow.runner", "--log-dir", str(log_dir), "--plan", json.dumps(plan)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600 * len(runs),
    )
    finished = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return DagRuns(proc, finished)


def dags_test(env: dict[str, str], dag_id: str, logical_date: str, conf: str = "{}") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id, logical_date, "-c", conf],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
