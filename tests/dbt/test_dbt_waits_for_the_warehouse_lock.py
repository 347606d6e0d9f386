"""dbt waits for another process's hold on the DuckDB warehouse instead of failing the build.

GIVEN another process holding the warehouse file (a sync writing its outcomes, a loader, the dashboard reading),
WHEN dbt starts, THEN it connects once the holder lets go (the profile's ``retries.connect_attempts``); with a
single attempt it fails at once, naming the lock.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from dbt_invocation import DBT, PROJECT_DIR
from warehouse_holder import hold_the_file

HOLD_SECONDS = 4


def dbt_debug(warehouse: Path, **env: str) -> subprocess.CompletedProcess:
    """``dbt debug``: parses nothing, opens a connection to the warehouse and runs a query."""
    return subprocess.run([str(DBT), "debug", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
                           "--target", "duckdb"], env={**os.environ, "NARROWCAST_WAREHOUSE": str(warehouse), **env},
                          capture_output=True, text=True, timeout=600)


def test_dbt_connects_once_another_process_lets_go_of_the_warehouse(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    holder = hold_the_file(warehouse, then=f"time.sleep({HOLD_SECONDS}); c.close()")
    try:
        assert holder.stdout.readline().strip() == "held"
        # told not to retry, dbt fails at once and names the lock
        refused = dbt_debug(warehouse, NARROWCAST_DBT_CONNECT_ATTEMPTS="1")
        assert refused.returncode != 0 and "Could not set lock" in refused.stdout, refused.stdout[-2000:]
        holder.stdin.write("\n")
        holder.stdin.flush()
        released_after = time.monotonic() + HOLD_SECONDS
        # with the profile's default retries it waits and connects
        waited = dbt_debug(warehouse)
        assert waited.returncode == 0 and "OK connection ok" in waited.stdout, waited.stdout[-2000:]
        assert time.monotonic() >= released_after
    finally:
        holder.communicate(timeout=30)
