"""The dashboard only ever reads the warehouse: the file never changes and a writer can connect after each request.

DuckDB refuses a read-only open while another process holds the write lock, so the proof is the other way
round: after every request the connection is closed (a read-write open in this process succeeds, which DuckDB
refuses while a read-only handle to the same file is still open here) and the file's bytes are unchanged.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from mart_tables import build_mart_warehouse

from narrowcast.dashboard.app import CHARTS, create_app

PATHS = ["/api/overview", *(f"/api/{name}" for name in CHARTS)]


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def private_warehouse(tmp_path: Path) -> Path:
    return build_mart_warehouse(tmp_path / "narrowcast.duckdb")


def test_requests_leave_the_file_untouched_and_release_it_for_a_writer(private_warehouse: Path):
    client = TestClient(create_app(private_warehouse, private_warehouse.parent))
    before = fingerprint(private_warehouse)

    for path in PATHS:
        assert client.get(path).status_code == 200, path
        assert fingerprint(private_warehouse) == before, f"{path} changed the warehouse file"
        # A leaked read-only handle would make this fail ("different configuration").
        writer = duckdb.connect(str(private_warehouse))
        writer.close()


def test_a_writer_in_another_process_can_write_right_after_the_requests(private_warehouse: Path):
    client = TestClient(create_app(private_warehouse, private_warehouse.parent))
    for path in PATHS:
        client.get(path)

    code = f"import duckdb; c = duckdb.connect({str(private_warehouse)!r}); c.execute('create table main.probe (x int)'); c.close()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert proc.returncode == 0, proc.stderr


def test_while_a_pipeline_task_writes_the_dashboard_answers_busy_not_an_error(private_warehouse: Path):
    # GIVEN another process holding the write lock
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys
            con = duckdb.connect({str(private_warehouse)!r})
            print("locked", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        client = TestClient(create_app(private_warehouse, private_warehouse.parent))

        # WHEN the dashboard asks for a chart
        response = client.get("/api/kpi")

        # THEN it says the warehouse is busy and when to retry
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "being written by a pipeline task" in response.json()["detail"]
    finally:
        holder.communicate("", timeout=30)
