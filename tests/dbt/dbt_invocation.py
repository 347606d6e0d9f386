"""Run the Narrowcast dbt project in-process against a given DuckDB warehouse (tests and benches)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dbt.cli.main import dbtRunner

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


class DbtRunFailed(AssertionError):
    """A dbt command failed; the message lists every failing node and its message."""


def run_dbt(
    command: Sequence[str],
    *,
    warehouse: Path,
    target_path: Path,
    as_of_date: str | None = None,
    extra_vars: dict[str, object] | None = None,
    target: str = "duckdb",
    env: dict[str, str] | None = None,
) -> object:
    """Run ``dbt <command>`` on ``warehouse`` with artifacts under ``target_path``; raise DbtRunFailed on failure."""
    os.environ.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"})
    os.environ["NARROWCAST_WAREHOUSE"] = str(warehouse)
    os.environ["NARROWCAST_DBT_TARGET"] = target
    os.environ.update(env or {})
    dbt_vars: dict[str, object] = dict(extra_vars or {})
    if as_of_date is not None:
        dbt_vars["as_of_date"] = as_of_date
    args = [
        *command,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(target_path),
        "--log-path", str(target_path / "logs"),
        "--quiet",
    ]
    if dbt_vars:
        args += ["--vars", repr(dbt_vars).replace("'", '"')]
    result = dbtRunner().invoke(args)
    if not result.success:
        failures = []
        for node in getattr(result.result, "results", None) or []:
            if str(node.status) in {"error", "fail", "runtime error"}:
                failures.append(f"{node.node.unique_id}: {node.status}: {node.message}")
        detail = "\n".join(failures) or repr(result.exception)
        raise DbtRunFailed(f"dbt {' '.join(command)} failed on {warehouse}:\n{detail}")
    return result.result
