"""Open the warehouse (DuckDB by default): one writer process at a time, any number of read-only readers.

Writers go through one Airflow pool with a single slot; readers (dashboard, checks) use :func:`read_only`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from narrowcast import settings
from narrowcast.warehouse.warehouse import DuckDBWarehouse, Warehouse, WarehouseBusy

SCHEMAS = ("raw", "meta", "activation")


def _path(path: str | Path | None) -> Path:
    return Path(path) if path is not None else settings.paths().warehouse


def _is_lock_error(exc: duckdb.IOException) -> bool:
    return "lock" in str(exc).lower()


@contextlib.contextmanager
def connect(path: str | Path | None = None, *, lock_wait_seconds: float = 60.0) -> Iterator[Warehouse]:
    """A read-write session; waits up to ``lock_wait_seconds`` for another writer to finish."""
    target = _path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_seconds
    while True:
        try:
            con = duckdb.connect(str(target))
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() > deadline:
                raise WarehouseBusy(str(exc)) from exc
            time.sleep(0.5)
    wh = DuckDBWarehouse(con)
    try:
        for schema in SCHEMAS:
            wh.ensure_schema(schema)
        yield wh
    finally:
        wh.close()


@contextlib.contextmanager
def read_only(path: str | Path | None = None) -> Iterator[Warehouse | None]:
    """A read-only session, or ``None`` when the warehouse file does not exist yet.

    Raises :class:`WarehouseBusy` while a writer holds the file.
    """
    target = _path(path)
    if not target.exists():
        yield None
        return
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.IOException as exc:
        if not _is_lock_error(exc):
            raise
        raise WarehouseBusy(str(exc)) from exc
    wh = DuckDBWarehouse(con)
    try:
        yield wh
    finally:
        wh.close()


def in_memory() -> Warehouse:
    """A private, empty warehouse in memory (tests, and scratch work that must not touch the real one)."""
    return DuckDBWarehouse(duckdb.connect(":memory:"))
