"""Open the warehouse the configuration selects (``NARROWCAST_WAREHOUSE_ENGINE``: DuckDB by default, or PostgreSQL).

DuckDB: one writer process at a time, any number of read-only readers; writers go through one Airflow pool with a
single slot, readers (dashboard, checks) use :func:`read_only`. PostgreSQL: the same calls, over the database the
``NARROWCAST_PG_*`` variables name (as dbt's ``postgres`` target); concurrent writers are its transactions' business,
so :func:`connect` never waits for a lock. The DuckDB file path arguments mean nothing to PostgreSQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg2
from psycopg2 import sql as pgsql

from narrowcast import settings
from narrowcast.warehouse.warehouse import DuckDBWarehouse, Warehouse, WarehouseBusy

SCHEMAS = ("raw", "meta", "activation")
LOCK_WAIT_VARIABLE = "NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS"
DEFAULT_LOCK_WAIT_SECONDS = 60.0


def _path(path: str | Path | None) -> Path:
    return Path(path) if path is not None else settings.paths().warehouse


def _is_lock_error(exc: duckdb.IOException) -> bool:
    return "lock" in str(exc).lower()


@contextlib.contextmanager
def connect(path: str | Path | None = None, *, lock_wait_seconds: float | None = None) -> Iterator[Warehouse]:
    """A read-write session; waits up to ``lock_wait_seconds`` (default ``NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS``,
    else 60) for another writer to finish."""
    wh: Warehouse
    if settings.warehouse_engine() == "postgres":
        wh = _postgres()
    else:
        target = _path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if lock_wait_seconds is None:
            lock_wait_seconds = configured_lock_wait()
        wh = DuckDBWarehouse(_open_duckdb(target, read_only=False, lock_wait_seconds=lock_wait_seconds))
    try:
        for schema in SCHEMAS:
            wh.ensure_schema(schema)
        yield wh
    finally:
        wh.close()


def configured_lock_wait() -> float:
    """Seconds a session waits for another process's hold on the DuckDB file (``NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS``,
    else 60)."""
    return settings.env_float(LOCK_WAIT_VARIABLE, DEFAULT_LOCK_WAIT_SECONDS)


def _open_duckdb(target: Path, *, read_only: bool, lock_wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """Connect, retrying every half second while another process holds the file, for up to ``lock_wait_seconds``."""
    deadline = time.monotonic() + lock_wait_seconds
    while True:
        try:
            return duckdb.connect(str(target), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(str(exc)) from exc
            time.sleep(0.5)


@contextlib.contextmanager
def read_only(path: str | Path | None = None, *, lock_wait_seconds: float = 0.0) -> Iterator[Warehouse | None]:
    """A read-only session, or ``None`` when the warehouse file does not exist yet.

    Raises :class:`WarehouseBusy` while a writer holds the file, at once by default (a page asked for now), or
    after waiting up to ``lock_wait_seconds`` for it (a task, which would otherwise fail and wait for its retry).
    On PostgreSQL the session refuses writes to tables (``transaction read only``) and is never ``None``: a mart
    not built yet is an :class:`UndefinedObject`.
    """
    if settings.warehouse_engine() == "postgres":
        wh = _postgres(read_only=True)
        try:
            yield wh
        finally:
            wh.close()
        return
    target = _path(path)
    if not target.exists():
        yield None
        return
    wh = DuckDBWarehouse(_open_duckdb(target, read_only=True, lock_wait_seconds=lock_wait_seconds))
    try:
        yield wh
    finally:
        wh.close()


def in_memory() -> Warehouse:
    """A private, empty warehouse (tests, and scratch work that must not touch the real one).

    DuckDB: in memory. PostgreSQL: a new database on the configured server, dropped when the session closes
    (the role needs CREATEDB).
    """
    if settings.warehouse_engine() == "postgres":
        return _scratch_postgres()
    return DuckDBWarehouse(duckdb.connect(":memory:"))


def _postgres(*, read_only: bool = False) -> Warehouse:
    from narrowcast.warehouse.postgres import PostgresWarehouse

    return PostgresWarehouse(settings.postgres(), read_only=read_only)


def _scratch_postgres() -> Warehouse:
    from narrowcast.warehouse.postgres import PostgresWarehouse

    configured = settings.postgres()
    name = f"narrowcast_scratch_{uuid.uuid4().hex[:12]}"

    def admin(statement: pgsql.Composable) -> None:
        con = psycopg2.connect(**configured.connect_kwargs())
        try:
            con.autocommit = True
            with con.cursor() as cursor:
                cursor.execute(statement)
        finally:
            con.close()

    admin(pgsql.SQL("create database {}").format(pgsql.Identifier(name)))
    scratch = dataclasses.replace(configured, dbname=name)
    return PostgresWarehouse(scratch, on_close=lambda: admin(
        pgsql.SQL("drop database if exists {} with (force)").format(pgsql.Identifier(name))))
