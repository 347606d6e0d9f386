"""The DAG runner creates the pools its runs need (``--pool``), as ``airflow pools set`` does, before it parses the
DAG folder: the demo no longer starts an Airflow CLI process for the warehouse pool."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from narrowcast_airflow.runner import PoolSpec

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")


def test_a_pool_argument_reads_name_slots_and_a_description_that_may_hold_colons() -> None:
    assert PoolSpec.parse("narrowcast_warehouse:1:DuckDB: one writer") == PoolSpec("narrowcast_warehouse", 1,
                                                                                   "DuckDB: one writer")
    assert PoolSpec.parse("other:3") == PoolSpec("other", 3, "")


@pytest.mark.parametrize("text", ["narrowcast_warehouse", "narrowcast_warehouse:one", ":1:no name"])
def test_a_malformed_pool_argument_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match=f"--pool '{text}': expected NAME:SLOTS"):
        PoolSpec.parse(text)


@pytest.mark.e2e  # migrates an Airflow metadata DB and parses the DAG folder
def test_the_runner_creates_the_pool_before_parsing_the_dags(tmp_path: Path) -> None:
    from narrowcast import demo
    from narrowcast.runtime import airflow_env

    env = airflow_env({k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NARROWCAST_"))},
                      airflow_home=tmp_path / "airflow", data_dir=tmp_path / "data")
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    proc = subprocess.run([sys.executable, "-m", "narrowcast_airflow.runner", "--log-dir", str(tmp_path / "logs"),
                           "--plan", "[]", "--pool", demo.POOL], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert [json.loads(line)["state"] for line in proc.stdout.splitlines()] == ["success"]  # the DAG-folder parse
    (db,) = (tmp_path / "airflow").glob("*.db")
    with sqlite3.connect(db) as con:
        pools = con.execute("select pool, slots, description from slot_pool where pool = ?",
                            [demo.WAREHOUSE_POOL]).fetchall()
    assert pools == [(demo.WAREHOUSE_POOL, 1, "DuckDB takes one writer: every warehouse writer runs here")]
