"""Run the Narrowcast dbt project against a given DuckDB warehouse (tests and benches).

dbt runs in a process of its own: dbt-duckdb keeps its database handle open for the life of the process, which
would lock the warehouse against the test's own read-only connections. That process is forked from one that has
imported dbt already (``dbt_fork_server``, one per test process), which saves Python's and dbt's start-up, about
4 of the 5 s a command that reuses a saved parse took as a ``dbt`` process; ``NARROWCAST_TESTS_DBT_FORK=0`` runs
the ``dbt`` command instead.

A full parse of the project costs about 14 s, a saved one about 5. dbt reuses its saved parse only for the same
vars, target and connection details, and the DuckDB path is one of them: every test's own warehouse path made
every invocation parse in full. So dbt runs in the warehouse's folder and opens it by its file name (tests name
theirs ``warehouse.duckdb``, each in a folder of its own; the catalog, which dbt's views name, stays the file's
name), and the saved parse of each set of vars, target and file name is kept in ``test-output/dbt-parse-cache``
and put into a target folder before an invocation with the same ones. dbt still checks a saved parse against the
project's files and parses again if anything changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
SAVED_PARSE = "partial_parse.msgpack"
PARSE_CACHE = PROJECT_DIR.parent / "test-output" / "dbt-parse-cache"


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
    target_path = Path(target_path).resolve()  # dbt runs in the warehouse's folder
    cwd = None
    if warehouse is not None:
        cwd = Path(warehouse).resolve().parent
        cwd.mkdir(parents=True, exist_ok=True)
        environment["NARROWCAST_WAREHOUSE"] = Path(warehouse).name
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
    saved = _saved_parse(dbt_vars, target, environment)
    if saved.exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, target_path / SAVED_PARSE)
    returncode, output = _run(args, environment, cwd, target_path)
    if (target_path / SAVED_PARSE).exists():
        saved.parent.mkdir(parents=True, exist_ok=True)
        partial = saved.with_suffix(f".{os.getpid()}")  # the two test workers may save the same one at once
        shutil.copyfile(target_path / SAVED_PARSE, partial)
        partial.replace(saved)
    results = json.loads(run_results.read_text())["results"] if run_results.exists() else []
    if returncode != 0:
        failures = [f"{r['unique_id']}: {r['status']}: {r['message']}" for r in results
                    if r["status"] in {"error", "fail", "runtime error"}]
        detail = "\n".join(failures) or output[-6000:]
        raise DbtRunFailed(f"dbt {' '.join(command)} failed (target {target}, warehouse {warehouse}):\n{detail}")
    return results


def _run(args: list[str], environment: dict[str, str], cwd: Path | None, target_path: Path) -> tuple[int, str]:
    """``args`` (the ``dbt`` command first) run by the fork server, or as a process when that is turned off:
    the exit code and the output."""
    if os.environ.get("NARROWCAST_TESTS_DBT_FORK", "1") == "0":
        completed = subprocess.run(args, env=environment, capture_output=True, text=True, check=False, cwd=cwd)
        return completed.returncode, completed.stdout + completed.stderr
    target_path.mkdir(parents=True, exist_ok=True)
    log = target_path / "dbt-output.log"
    returncode = _ForkServer.shared().run(args[1:], environment, cwd, log)
    return returncode, log.read_text(errors="replace") if log.exists() else ""


class _ForkServer:
    """This test process's ``dbt_fork_server`` (started on first use, again if it died)."""

    _shared: _ForkServer | None = None

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("dbt_fork_server.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"})

    @classmethod
    def shared(cls) -> _ForkServer:
        if cls._shared is None or cls._shared.proc.poll() is not None:
            cls._shared = cls()
        return cls._shared

    def run(self, args: list[str], environment: dict[str, str], cwd: Path | None, log: Path) -> int:
        request = {"args": args, "env": environment, "cwd": str(cwd) if cwd else None, "log": str(log)}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise DbtRunFailed(f"the dbt fork server stopped (exit {self.proc.wait()}) running dbt {' '.join(args)}")
        return int(json.loads(answer)["returncode"])


def _saved_parse(dbt_vars: dict[str, object], target: str, environment: dict[str, str]) -> Path:
    """Where the saved parse for these vars, this target, these connection settings and run dates is kept."""
    connection = {k: v for k, v in environment.items() if k.startswith(("NARROWCAST_PG_", "NARROWCAST_WAREHOUSE"))}
    # The run dates a DAG passes in the environment (narrowcast_airflow.defaults.dbt_dates_env): dbt records them.
    from narrowcast_airflow.defaults import DBT_DATE_VARIABLES

    dates = {k: v for k, v in environment.items() if k in DBT_DATE_VARIABLES}
    key = json.dumps({"vars": dbt_vars, "target": target, "connection": connection, **({"dates": dates} if dates else {})},
                     sort_keys=True, default=str)
    return PARSE_CACHE / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.msgpack"
