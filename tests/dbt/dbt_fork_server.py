"""A process that has imported dbt once and forks a child for each dbt command it is asked to run.

``python dbt_fork_server.py`` reads one JSON request per line on stdin — ``{"args": [...], "env": {...}, "cwd":
..., "log": ...}`` — and answers each with one JSON line on stdout, ``{"returncode": n}``: 0 when dbt succeeded,
1 when a node failed, 2 when dbt stopped on an error (the codes of the ``dbt`` command). The child runs
``dbtRunner().invoke(args)`` in ``cwd`` with exactly ``env`` as its environment, its output (fd 1 and 2) in the
file ``log``, closes the database dbt-duckdb keeps open and exits: whatever else dbt keeps (its caches, its
flags) ends with it, as with a ``dbt`` process of its own.

What it saves is the start of that process: Python, dbt's imports and the adapters' (about 4 s of CPU a command
on a 2-core machine, out of 5 for a command that reuses a saved parse).
"""

from __future__ import annotations

import json
import os
import sys


def _child(request: dict) -> int:
    from dbt.cli.main import dbtRunner

    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    os.environ.clear()
    os.environ.update(request["env"])
    if request.get("cwd"):
        os.chdir(request["cwd"])
    try:
        result = dbtRunner().invoke(request["args"])
    except BaseException as error:  # what the dbt command would print before exiting 2
        print(f"dbt stopped: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    finally:
        _close_duckdb()
    if result.exception is not None:
        print(f"dbt stopped: {type(result.exception).__name__}: {result.exception}", file=sys.stderr)
        return 2
    return 0 if result.success else 1


def _close_duckdb() -> None:
    """Close the database dbt-duckdb keeps open, as a ``dbt`` process's exit does: DuckDB then writes what its
    write-ahead log holds into the file (a child that only exited would leave it in the ``.wal`` beside it)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()


def serve(requests: object, answers: object) -> None:
    import dbt.adapters.duckdb  # noqa: F401 - imported once, before any fork
    import dbt.adapters.postgres  # noqa: F401
    import dbt.cli.main  # noqa: F401

    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 2
            try:
                code = _child(request)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        answers.write(json.dumps({"returncode": code}) + "\n")
        answers.flush()


if __name__ == "__main__":
    # dbt imports every module on sys.path whose name starts with ``dbt_`` as a plugin: this folder's helpers too.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    serve(sys.stdin, sys.stdout)
