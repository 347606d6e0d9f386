"""``make ui``'s Airflow (``airflow standalone``, LocalExecutor) runs each task in a process that inherits the
task modules its executor worker pre-imported (``narrowcast_airflow.worker_preload``).

A probe DAG of its own (no demo data needed) records, as its task starts, which modules the task process already
holds and which process forked it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from narrowcast.local_ports import free_port
from narrowcast.runtime import airflow_env, stop_session, ui_env

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 900

PROBE_DAG = '''
import json, os, sys
from datetime import datetime
from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def worker_preload_probe():
    @task
    def probe():
        found = {n: n in sys.modules for n in ("great_expectations", "pandas", "pyarrow", "duckdb", "narrowcast.extract")}
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            found["forked_by"] = f.read().replace(b"\\0", b" ").decode().strip()
        with open(os.environ["PROBE_OUTPUT"], "w") as f:
            json.dump(found, f)
    probe()

worker_preload_probe()
'''


def test_a_task_process_of_the_local_executor_finds_the_task_modules_already_imported(tmp_path: Path):
    dags, output = tmp_path / "dags", tmp_path / "probe.json"
    dags.mkdir()
    (dags / "worker_preload_probe.py").write_text(PROBE_DAG)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__", "NARROWCAST_"))}
    env = ui_env(airflow_env(clean, airflow_home=tmp_path / "airflow", data_dir=tmp_path / "data"), free_port())
    env.update({
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # SQLite metadata on a busy machine answers slowly; the 5 s default made task start-up time out.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        "NO_PROXY": "*",
        "PROBE_OUTPUT": str(output),
    })
    airflow = str(Path(sys.executable).parent / "airflow")
    with (tmp_path / "standalone.log").open("w") as log:
        proc = subprocess.Popen([airflow, "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=tmp_path)
    try:
        deadline, triggered = time.monotonic() + DEADLINE_SECONDS, False
        while not output.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(5)
            if not triggered:  # refused until the dag-processor has parsed the probe
                triggered = subprocess.run([airflow, "dags", "trigger", "worker_preload_probe"], env=env,
                                           capture_output=True).returncode == 0
    finally:
        stop_session(proc.pid)
    log_tail = (tmp_path / "standalone.log").read_text()[-3000:]
    assert output.exists(), f"the probe task never ran; standalone log tail:\n{log_tail}"
    found = json.loads(output.read_text())
    assert found.pop("forked_by").startswith("airflow worker -- LocalExecutor")
    assert found == {"great_expectations": True, "pandas": True, "pyarrow": True, "duckdb": True,
                     "narrowcast.extract": True}
