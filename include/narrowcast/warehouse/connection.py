"""Open the warehouse the configuration selects (``NARROWCAST_WAREHOUSE_ENGINE``: DuckDB by default, or PostgreSQL).

DuckDB: one writer process at a time, any number of read-only readers; writers go through one Airflow pool with a
single slot, readers (dashboard, checks) use :func:`read_only`. PostgreSQL: the same calls, over the database the
``NARROWCAST_PG_*`` variables name (as dbt's ``postgres`` target); concurrent writers are its transactions' business,
so :func:`connect` never waits for a lock. The DuckDB file path arguments mean nothing to PostgreSQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import threading
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
    with contextlib.ExitStack() as turn:
        if settings.warehouse_engine() == "postgres":
            wh = _postgres()
        else:
            target = _path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if lock_wait_seconds is None:
                lock_wait_seconds = configured_lock_wait()
            deadline = turn.enter_context(_turn(target, exclusive=True, lock_wait_seconds=lock_wait_seconds))
            wh = DuckDBWarehouse(_open_duckdb(target, read_only=False, lock_wait_seconds=deadline - time.monotonic()))
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


# The package's own sessions queue for the DuckDB file on a lock file beside it (``<file>.turn``: an exclusive
# ``flock`` for a writer, a shared one for a reader, as DuckDB itself allows one writer or many readers). A waiter
# there costs nothing and takes the file within a poll of its release. Waiting on DuckDB's own lock instead means
# trying to open the file: each failed open costs ~4 ms of CPU (measured on the demo's warehouse), so waiters retry
# only every half second, and the file sits idle until one of them next tries. 21 processes × 4 short sessions on
# a copy of the demo's warehouse: 10.6-10.8 s on DuckDB's lock alone, 7.1-7.4 s taking turns, ~5.9 s of sessions
# (bench/bench_warehouse_turns.py). Processes that do not take the turn (dbt) are still waited for on DuckDB's
# lock, as before.
TURN_SUFFIX = ".turn"
_TURN_POLL_SECONDS = 0.02
_turns: dict[str, list] = {}  # path -> [fd, sessions of this process on it]
_turns_lock = threading.Lock()


def _forget_turns_in_child() -> None:
    # A forked child shares the parent's lock-file descriptions: the parent's turn is not the child's.
    global _turns_lock
    _turns.clear()
    _turns_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_turns_in_child)


@contextlib.contextmanager
def _turn(target: Path, *, exclusive: bool, lock_wait_seconds: float) -> Iterator[float]:
    """Hold this process's turn on ``target`` (waiting up to ``lock_wait_seconds``); yields the deadline left for
    DuckDB's own lock. Sessions of one process share its turn, as they share DuckDB's database instance (a second
    ``flock`` by the same process would wait for itself)."""
    deadline = time.monotonic() + max(lock_wait_seconds, 0.0)
    key = str(target.absolute())
    fd = None
    try:
        while True:
            with _turns_lock:
                held = _turns.get(key)
                if held is not None:
                    held[1] += 1
                    break
                if fd is None:
                    fd = _open_turn_file(target)
                    if fd is None:  # cannot be made here (a read-only folder): DuckDB's lock alone
                        _turns[key] = held = [None, 1]
                        break
                try:
                    fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass
                else:
                    _turns[key] = held = [fd, 1]
                    fd = None
                    break
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse {target} is in use by another process (waited {lock_wait_seconds:.0f} s for its "
                    f"turn on {target.name}{TURN_SUFFIX})")
            time.sleep(_TURN_POLL_SECONDS)
    finally:
        if fd is not None:
            os.close(fd)
    try:
        yield deadline
    finally:
        with _turns_lock:
            held[1] -= 1
            if held[1] == 0 and _turns.get(key) is held:
                del _turns[key]
                if held[0] is not None:
                    os.close(held[0])  # releases the flock


def signals_folder(path: str | Path | None = None) -> Path | None:
    """A folder beside the DuckDB warehouse (``<file>.signals``) where this machine's processes leave each other
    signals about it (a lease freed, say), so a waiter wakes within milliseconds instead of opening the file every
    second to look. None on PostgreSQL, whose clients may run on other machines: they look in the database."""
    if settings.warehouse_engine() == "postgres":
        return None
    target = _path(path)
    return target.with_name(target.name + ".signals")


@contextlib.contextmanager
def writer_turn(path: str | Path | None = None, *, lock_wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the writer's turn on the DuckDB warehouse without opening it, for a program that opens the file itself.

    dbt opens the file on its own and retries DuckDB's lock with waits that double (dbt-duckdb: 1, 2, 4 … s): a
    ``dbt docs generate`` started beside the audience syncs waited 15-31 s for a catalog read of ~1 s. Run under
    this turn, the package's sessions queue behind it instead and it finds the file free (other programs, such as
    another dbt, still hold it on DuckDB's lock alone). Nothing to hold on PostgreSQL.
    """
    if settings.warehouse_engine() == "postgres":
        yield
        return
    target = _path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    wait = configured_lock_wait() if lock_wait_seconds is None else lock_wait_seconds
    with _turn(target, exclusive=True, lock_wait_seconds=wait):
        yield


def _open_turn_file(target: Path) -> int | None:
    try:
        return os.open(f"{target}{TURN_SUFFIX}", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:
            return os.open(f"{target}{TURN_SUFFIX}", os.O_RDONLY)
        except OSError:
            return None


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
    with _turn(target, exclusive=False, lock_wait_seconds=lock_wait_seconds) as deadline:
        wh = DuckDBWarehouse(_open_duckdb(target, read_only=True, lock_wait_seconds=deadline - time.monotonic()))
        try:
            yield wh
        finally:
            wh.close()


def warm_up_frames() -> None:
    """Turn a first result with a bound parameter into a pandas frame, in a scratch session of the engine.

    DuckDB builds its pandas conversion on a process's first such result (~35 ms more than the next). A
    long-lived process that forks runs later calls this once (``narrowcast.extract.prepare``). PostgreSQL's
    sessions need no warming and no scratch database is made for it.
    """
    if settings.warehouse_engine() == "postgres":
        return
    with contextlib.closing(duckdb.connect(":memory:")) as con:
        DuckDBWarehouse(con).frame(
            "select ?::bigint as n, 'a' as s, timestamp '2024-01-01' as t, 1.5::decimal(18, 2) as d", [1]
        )


def local_duckdb(spill_folder: Path | None = None) -> Warehouse:
    """A private in-memory DuckDB session whatever the configured engine: scratch work on files (Parquet) this
    process reads, spilling to ``spill_folder`` when it outgrows memory."""
    config = {"temp_directory": str(spill_folder)} if spill_folder is not None else {}
    return DuckDBWarehouse(duckdb.connect(":memory:", config=config))


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
