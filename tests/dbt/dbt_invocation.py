"""Run the Narrowcast dbt project against a given DuckDB warehouse (tests and benches).

dbt runs in a subprocess: dbt-duckdb keeps its database handle open for the life of the process, which would
lock the warehouse against the test's own read-only connections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")


class DbtRunFailed(AssertionError):
    """A dbt command failed; the message lists every failing node and its message."""


def run_dbt(
    command: Sequence[str],
    *,
    warehouse: Path | None,
    target_path: Path,
    as_of_date: str | None = None,
    extra_vars: dict[str, object] | None = None,
    target: str = "duckdb",
    env: dict[str, str] | None = None,
) -> list[dict[str, object]]:
    """Run ``dbt <command>`` with artifacts under ``target_path``; return run_results' results.

    Raises DbtRunFailed naming every failing node (or dbt's own output when it failed before running any).
    """
    environment = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1",
                   "NARROWCAST_DBT_TARGET": target, **(env or {})}
    if warehouse is not None:
        environment["NARROWCAST_WAREHOUSE"] = str(warehouse)
    dbt_vars: dict[str, object] = dict(extra_vars or {})
    if as_of_date is not None:
        dbt_vars["as_of_date"] = as_of_date
    args = [
        str(DBT), *command,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(target_path),
        "--log-path", str(target_path / "logs"),
    ]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    run_results = target_path / "run_results.json"
    run_results.unlink(missing_ok=True)
    completed = subprocess.run(args, env=environment, capture_output=True, text=True, check=False)
    results = json.loads(run_results.read_text())["results"] if run_results.exists() else []
    if completed.returncode != 0:
        failures = [f"{r['unique_id']}: {r['status']}: {r['message']}" for r in results
                    if r["status"] in {"error", "fail", "runtime error"}]
        detail = "\n".join(failures) or completed.stdout[-4000:] + completed.stderr[-2000:]
        raise DbtRunFailed(f"dbt {' '.join(command)} failed (target {target}, warehouse {warehouse}):\n{detail}")
    return results
