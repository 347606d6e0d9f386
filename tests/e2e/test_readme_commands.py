"""Every command the README lists beyond the demo, run the way a user runs it.

``narrowcast sync`` against the sandbox and a built warehouse; the servers behind ``make ui``, ``make docs`` and
``make sandbox`` through the Makefile's own entry (``python -m narrowcast.cli``), each on a free port, then
stopped with SIGTERM as Ctrl-C or a service manager would: nothing they started may be left running.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psutil
import pytest
import requests
from pipeline_run import PipelineRun

from narrowcast.local_credentials import LOCAL_API_TOKEN, LOCAL_UI_PASSWORD, LOCAL_UI_USER
from narrowcast.local_ports import free_port, wait_until_up

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = Path(sys.executable).parent
# `make setup` installs the `narrowcast` command the README uses; `python -m narrowcast.cli` is the same entry.
NARROWCAST = [str(SCRIPTS / "narrowcast")] if (SCRIPTS / "narrowcast").exists() else [
    sys.executable, "-m", "narrowcast.cli"]
MAKE_ENTRY = [sys.executable, "-m", "narrowcast.cli"]
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PLANNED = re.compile(r"planned \+(\d+) ~(\d+) -(\d+)")


# --- narrowcast sync ---------------------------------------------------------------------------------------------

@pytest.fixture
def warehouse(demo_data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the demo's warehouse, so runs here leave the shared one as the other tests expect it."""
    copy = tmp_path / "narrowcast.duckdb"
    shutil.copyfile(demo_data_dir / "warehouse" / "narrowcast.duckdb", copy)
    return copy


def _forget_confirmed_state(warehouse: Path, sync_id: str) -> None:
    """As if the destination had never confirmed anything: the next plan adds every row again."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("delete from activation.sync_state where sync_id = ?", [sync_id])
    finally:
        con.close()


def _sync(pipeline: PipelineRun, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NARROWCAST, "sync", *args], env=pipeline.env, cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def _assert_no_secret_or_pii(output: str) -> None:
    assert LOCAL_API_TOKEN not in output
    assert EMAIL.findall(output) == []


def test_narrowcast_sync_list_names_every_declared_sync():
    proc = subprocess.run([*NARROWCAST, "sync", "list"], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO / "include")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = {line.split()[0] for line in proc.stdout.splitlines()[1:] if line.strip()}
    assert listed == {path.stem for path in (REPO / "include" / "syncs").glob("*.yml")}


def test_narrowcast_sync_dry_run_plans_from_the_warehouse_and_sends_nothing(pipeline, sandbox, warehouse):
    # GIVEN an audience whose confirmed state is gone, so the plan holds every member
    _forget_confirmed_state(warehouse, "rfm_champions_loyal_meta")
    before = sandbox.stats("meta")["requests"]
    # WHEN it is dry-run
    proc = _sync(pipeline, "run", "rfm_champions_loyal_meta", "--dry-run", "--warehouse", str(warehouse))
    # THEN it reports the adds, calls no API and prints no identifier or token
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rfm_champions_loyal_meta (dry run): planned;" in proc.stdout
    adds = int(PLANNED.search(proc.stdout).group(1))
    assert adds > 0
    assert sandbox.stats("meta")["requests"] == before
    _assert_no_secret_or_pii(proc.stdout + proc.stderr)


def test_narrowcast_sync_run_sends_the_plan_to_the_sandbox_and_then_has_nothing_left_to_send(pipeline, sandbox,
                                                                                             warehouse):
    _forget_confirmed_state(warehouse, "stock_ebay")
    before = sandbox.stats("ebay")["requests"]

    proc = _sync(pipeline, "run", "stock_ebay", "--warehouse", str(warehouse))

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stock_ebay: success;" in proc.stdout
    adds = int(PLANNED.search(proc.stdout).group(1))
    assert adds > 0 and f"accepted {adds}," in proc.stdout, proc.stdout
    assert sandbox.stats("ebay")["requests"] > before
    _assert_no_secret_or_pii(proc.stdout + proc.stderr)
    again = _sync(pipeline, "run", "stock_ebay", "--dry-run", "--warehouse", str(warehouse))
    assert "planned +0 ~0 -0" in again.stdout, again.stdout + again.stderr


# --- make ui / make docs / make sandbox ------------------------------------------------------------------------------

def _local_env(tmp_path: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    """A user's shell: no Airflow or Narrowcast settings, and no virtualenv on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NARROWCAST_", "DBT_"))}
    env.update({"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path / "airflow"),
                "NARROWCAST_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO / "include"), **extra})
    return env


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator:
    """Starts a command in its own session, as a terminal runs `make ...`; kills whatever a failed test left."""
    started: list[subprocess.Popen] = []

    def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log_path = tmp_path / f"server-{len(started)}.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        proc.log_path = log_path
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            for leftover in [*_tree(proc.pid), *_session_members({os.getsid(p.pid) for p in _tree(proc.pid)})]:
                leftover.kill()
            proc.wait(timeout=30)


def _log(proc: subprocess.Popen) -> str:
    return proc.log_path.read_text()[-4000:]


def _wait_answering(url: str, server: subprocess.Popen, timeout: float) -> None:
    try:
        wait_until_up(url, timeout=timeout, server=server)
    except (RuntimeError, TimeoutError) as exc:
        raise AssertionError(f"{exc}; server log:\n{_log(server)}") from exc


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _session_members(sessions: set[int]) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) in sessions and _running(proc):
                members.append(proc)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def _stop_and_assert_nothing_left(proc: subprocess.Popen, timeout: float) -> list[str]:
    """SIGTERM the command; it must exit 0 and take every process it started with it. Returns their command lines."""
    tree = _tree(proc.pid)
    sessions = {os.getsid(p.pid) for p in tree}
    command_lines = [" ".join(p.cmdline()) for p in tree]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=timeout) == 0, _log(proc)
    left = {p.pid: p for p in [*tree, *_session_members(sessions)] if _running(p)}
    assert list(left) == [], [" ".join(p.cmdline()) for p in left.values()]
    return command_lines


def _after_make_demo(pipeline: PipelineRun, airflow_home: Path) -> None:
    """The Airflow home `make demo` leaves behind (metadata migrated, pool created), as the README's order has it.

    Copying it skips a migration the demo has already exercised, which takes most of a minute on a busy machine.
    """
    demo_home = Path(pipeline.env["AIRFLOW_HOME"])
    airflow_home.mkdir()
    for marker in ["airflow.db", *(p.name for p in demo_home.glob(".narrowcast-initialised-*"))]:
        shutil.copyfile(demo_home / marker, airflow_home / marker)


def test_make_ui_accepts_the_readme_login_and_stopping_it_stops_every_airflow_process(pipeline, demo_data_dir,
                                                                                     tmp_path, start_server):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    _after_make_demo(pipeline, tmp_path / "airflow")
    ui = start_server([*MAKE_ENTRY, "ui", "--port", str(port)], _local_env(tmp_path, demo_data_dir))

    _wait_answering(f"{base_url}/api/v2/monitor/health", ui, timeout=240)

    login = requests.post(f"{base_url}/auth/token", json={"username": LOCAL_UI_USER, "password": LOCAL_UI_PASSWORD},
                          timeout=30)
    assert login.status_code in (200, 201), login.text
    assert login.json()["access_token"]
    wrong = requests.post(f"{base_url}/auth/token", json={"username": LOCAL_UI_USER, "password": "not-it"},
                          timeout=30)
    assert wrong.status_code == 401
    started = _stop_and_assert_nothing_left(ui, timeout=90)
    assert any("airflow scheduler" in line for line in started), started


def test_make_docs_serves_the_dbt_docs_of_the_built_warehouse_and_stops_clean(demo_data_dir, tmp_path, start_server,
                                                                              warehouse):
    port = free_port()
    env = _local_env(tmp_path, demo_data_dir, NARROWCAST_WAREHOUSE=str(warehouse),
                     # The shared dbt_project/target holds the manifest Cosmos renders from: leave it alone.
                     DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "dbt-logs"))
    docs = start_server([*MAKE_ENTRY, "docs", "--port", str(port)], env)

    _wait_answering(f"http://127.0.0.1:{port}/index.html", docs, timeout=240)

    index = requests.get(f"http://127.0.0.1:{port}/", timeout=30)
    assert index.ok and "dbt" in index.text
    catalog = requests.get(f"http://127.0.0.1:{port}/catalog.json", timeout=30).json()
    assert any(node.endswith(".customer_rfm") for node in catalog["nodes"]), sorted(catalog["nodes"])[:20]
    _stop_and_assert_nothing_left(docs, timeout=30)


def test_make_sandbox_serves_the_emulators_and_stops_clean(demo_data_dir, tmp_path, start_server):
    port = free_port()
    sandbox = start_server([*MAKE_ENTRY, "sandbox", "--port", str(port)], _local_env(tmp_path, demo_data_dir))

    _wait_answering(f"http://127.0.0.1:{port}/_sandbox/health", sandbox, timeout=60)

    products = requests.post(f"http://127.0.0.1:{port}/shopify/admin/api/2026-10/graphql.json",
                             headers={"X-Shopify-Access-Token": LOCAL_API_TOKEN},
                             json={"query": "{ products(first: 5) { edges { node { id } } } }"}, timeout=30)
    assert products.ok and products.json()["data"]["products"]["edges"], products.text[:500]
    _stop_and_assert_nothing_left(sandbox, timeout=30)
