"""E2E fixtures: a data directory with a warehouse, and one ``airflow standalone`` per test session.

Airflow runs with an isolated ``AIRFLOW_HOME`` (tmp dir, SQLite metadata), the repo's ``dags/`` and
``plugins/``, no examples, and the simple auth manager's generated admin password. Starting it takes about a
minute, so the server is session-scoped and shared by the browser and REST API tests. The scheduler creates
no cron runs (``use_job_schedule=False``): only the runs a test triggers happen.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from pipeline_run import PipelineRun, isolated_env, run_demo

from narrowcast.local_ports import free_port
from narrowcast.runtime import LOCAL_EXECUTOR_PRELOAD

REPO = Path(__file__).resolve().parents[2]
TEST_OUTPUT = REPO / "test-output"
STARTUP_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """The real demo command, run once per session on a small shop in an isolated data dir and Airflow home."""
    base = tmp_path_factory.mktemp("pipeline")
    env = isolated_env(base, free_port())
    proc = run_demo(env)
    output = proc.stdout + proc.stderr
    (TEST_OUTPUT).mkdir(exist_ok=True)
    (TEST_OUTPUT / "demo_output.txt").write_text(output)
    run = PipelineRun(base / "data", env, output, proc.returncode)
    if run.warehouse.exists():
        shutil.copyfile(run.warehouse, run.demo_warehouse)
    return run


@pytest.fixture(scope="session")
def sandbox(pipeline: PipelineRun) -> Iterator:
    """The sandbox on the port the pipeline's connections point at, serving the same world."""
    from narrowcast.sandbox.server import SandboxServer

    with SandboxServer(pipeline.data_dir / "world", port=int(pipeline.env["NARROWCAST_SANDBOX_PORT"])) as server:
        yield server


@pytest.fixture(scope="session")
def demo_data_dir(pipeline: PipelineRun) -> Path:
    """A data dir after a real demo run: the warehouse holds every mart and the activation run log."""
    assert pipeline.returncode == 0, pipeline.stdout[-3000:]
    return pipeline.data_dir


@dataclass(frozen=True)
class AirflowServer:
    """A running ``airflow standalone``: where it listens and how to log in."""

    base_url: str
    username: str
    password: str
    home: Path
    data_dir: Path

    def token(self) -> str:
        """A JWT for the REST API (``POST /auth/token``)."""
        response = requests.post(
            f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password}, timeout=30
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def api(self, path: str, **params: object) -> dict:
        response = requests.get(
            f"{self.base_url}/api/v2/{path.lstrip('/')}", params=params,
            headers={"Authorization": f"Bearer {self.token()}"}, timeout=30,
        )
        response.raise_for_status()
        return response.json()


def _airflow_executable() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def _wait_healthy(base_url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited with {proc.returncode}; log tail:\n{log_path.read_text()[-3000:]}")
        try:
            response = requests.get(f"{base_url}/api/v2/monitor/health", timeout=5)
            if response.ok and response.json().get("scheduler", {}).get("status") == "healthy":
                return
        except (requests.ConnectionError, requests.Timeout, ValueError):
            pass
        time.sleep(2)
    raise TimeoutError(f"airflow standalone not healthy after {STARTUP_TIMEOUT_SECONDS}s; log tail:\n{log_path.read_text()[-3000:]}")


def _admin_password(home: Path, log_path: Path) -> str:
    # Standalone asks the simple auth manager to generate the admin password into AIRFLOW_HOME.
    password_file = home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if password_file.exists() and password_file.read_text().strip():
            return json.loads(password_file.read_text())["admin"]
        time.sleep(1)
    raise RuntimeError(f"{password_file} was not generated; log tail:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def airflow_standalone(demo_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowServer]:
    home = tmp_path_factory.mktemp("airflow_home")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # Only runs the tests trigger: no cron runs appearing when a test unpauses a DAG.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        # SQLite metadata on a busy machine answers slowly; the 5 s default made task start-up time out.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        "PYTHONPATH": os.pathsep.join([str(REPO / "include"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "NARROWCAST_DATA_DIR": str(demo_data_dir),
        # standalone starts its components as `airflow ...` found on PATH: use this interpreter's.
        "PATH": os.pathsep.join([str(Path(_airflow_executable()).parent), os.environ.get("PATH", "")]),
        "NO_PROXY": "*",
        "SCARF_NO_ANALYTICS": "true",
        "DO_NOT_TRACK": "1",
        **LOCAL_EXECUTOR_PRELOAD,
    }
    log_path = home / "standalone.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [_airflow_executable(), "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=home,
        )
    try:
        _wait_healthy(base_url, proc, log_path)
        yield AirflowServer(base_url, "admin", _admin_password(home, log_path), home, demo_data_dir)
    finally:
        # standalone runs scheduler, dag-processor, api-server and triggerer in its own session: stop them all.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


@pytest.fixture(scope="session")
def project_dag_ids() -> list[str]:
    """DAG ids declared in ``dags/`` (``dag_id="..."``), empty while the folder is."""
    ids = []
    for path in sorted((REPO / "dags").glob("*.py")):
        text = path.read_text()
        for marker in ('dag_id="', "dag_id='"):
            start = text.find(marker)
            if start != -1:
                ids.append(text[start + len(marker):text.index(marker[-1], start + len(marker))])
                break
    return ids


@pytest.fixture(scope="session")
def parsed_dags(airflow_standalone: AirflowServer, project_dag_ids: list[str]) -> dict:
    """The DAGs the server lists once the dag-processor has parsed every file in ``dags/`` (or given up)."""
    deadline = time.monotonic() + 180
    while True:
        listed = airflow_standalone.api("dags", limit=100)
        errors = airflow_standalone.api("importErrors", limit=100)
        found = {dag["dag_id"] for dag in listed["dags"]}
        if set(project_dag_ids) <= found or errors["total_entries"] or time.monotonic() > deadline:
            return {"dags": listed["dags"], "import_errors": errors["import_errors"]}
        time.sleep(3)


@pytest.fixture(scope="session")
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT
