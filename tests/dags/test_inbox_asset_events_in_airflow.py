"""`airflow dags test extract_inbox` against a fresh metadata DB: the asset events Airflow records per run."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")
pytestmark = pytest.mark.e2e  # migrates an Airflow metadata DB and runs the DAG twice


def test_an_empty_inbox_records_no_asset_event_and_a_stock_file_records_only_its_table(tmp_path: Path) -> None:
    from narrowcast.runtime import airflow_env

    env = airflow_env({k: v for k, v in os.environ.items()
                       if not k.startswith(("AIRFLOW", "NARROWCAST_"))},
                      airflow_home=tmp_path / "airflow", data_dir=tmp_path / "data")
    env["NARROWCAST_INBOX_SETTLE_SECONDS"] = "0"

    def airflow(*args: str) -> None:
        proc = subprocess.run([str(AIRFLOW), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    def events() -> list[tuple[str, dict]]:
        (db,) = (tmp_path / "airflow").glob("*.db")
        with sqlite3.connect(db) as con:
            rows = con.execute("select a.uri, e.extra from asset_event e join asset a on a.id = e.asset_id").fetchall()
        return [(uri.rsplit("/", 1)[1], json.loads(extra)) for uri, extra in rows]

    airflow("db", "migrate")
    airflow("pools", "set", "narrowcast_warehouse", "1", "DuckDB writers")
    # GIVEN an empty inbox, WHEN the 12:00-12:15 run loads it, THEN no asset event (transform stays idle)
    airflow("dags", "test", "extract_inbox", "2026-10-01T12:15:00+00:00")
    assert events() == []
    # GIVEN an ERP stock file, WHEN the next run loads it, THEN only raw.file_erp_stock gets an event, with its counts
    inbox = tmp_path / "data" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "erp_stock_20261001.csv").write_text("sku,on_hand,cost,warehouse,snapshot_at\n"
                                                  "MUG-01,12,4.00,A,2026-10-01 06:00:00\n")
    airflow("dags", "test", "extract_inbox", "2026-10-01T12:30:00+00:00")
    assert [(table, extra["received"], extra["loaded"]) for table, extra in events()] == [("file_erp_stock", 1, 1)]
