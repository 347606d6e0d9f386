"""Open the DuckDB warehouse: one writer process at a time, any number of read-only readers.

Writers go through one Airflow pool with a single slot; readers (dashboard, checks) use :func:`read_only`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from narrowcast import settings

SCHEMAS = ("raw", "meta", "activation")


def _path(path: str | Path | None) -> Path:
    return Path(path) if path is not None else settings.paths().warehouse


@contextlib.contextmanager
def connect(path: str | Path | None = None, *, lock_wait_seconds: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection; waits up to ``lock_wait_seconds`` for another writer to finish."""
    target = _path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_seconds
    while True:
        try:
            con = duckdb.connect(str(target))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def read_only(path: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection, or ``None`` when the warehouse file does not exist yet."""
    target = _path(path)
    if not target.exists():
        yield None
        return
    con = duckdb.connect(str(target), read_only=True)
    try:
        yield con
    finally:
        con.close()
