"""The one interface every package module runs its SQL through: statements, rows, Arrow in and out, transactions.

:class:`Warehouse` is an open session. What any engine does the same way lives here; what a driver does its own
way (opening, Arrow transfer, a query's column types, bulk-insert tuning) is a method each engine's subclass
implements, and SQL spelling differences are its :class:`~narrowcast.warehouse.dialect.Dialect`'s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb
import psycopg2
import pyarrow as pa

from narrowcast.contracts.sql import quote_ident
from narrowcast.warehouse.dialect import Dialect, DuckDBDialect

if TYPE_CHECKING:
    import pandas as pd  # a frame is asked for only by the quality gate, for a batch that has rows

Params = Sequence[Any] | Mapping[str, Any] | None


class WarehouseError(RuntimeError):
    """A warehouse failure the package handles by meaning rather than by driver."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse's write lock."""


class UndefinedObject(WarehouseError):
    """A statement named a table, view or column the warehouse does not have (yet)."""


# What a caller catches to report any failed statement, whichever engine raised it (the drivers' own bases).
STATEMENT_ERRORS: tuple[type[BaseException], ...] = (WarehouseError, duckdb.Error, psycopg2.Error)


class Warehouse(ABC):
    """An open warehouse session; ``dialect`` spells the SQL that differs between engines."""

    dialect: Dialect

    # ---- what each engine implements ------------------------------------------------------------------

    @abstractmethod
    def _cursor(self, sql: str, params: Params) -> Any:
        """Run ``sql``; a DB-API-like cursor (``description``, ``fetchone``, ``fetchall``) over its result."""

    @abstractmethod
    def modified(self, sql: str, params: Params = None) -> int:
        """Run an insert, update or delete; how many rows it wrote."""

    @abstractmethod
    def columns(self, query: str) -> list[tuple[str, str]]:
        """(name, type) of every column ``query`` returns, without running it over the data.

        Types come in the contracts' spelling (``VARCHAR``, ``BIGINT``, ``TIMESTAMP WITH TIME ZONE``, …): staging
        picks each column's cast by them.
        """

    @abstractmethod
    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        """The result as a pandas frame (the quality gate's input to Great Expectations)."""

    @abstractmethod
    def stream(self, sql: str, params: Params, batch_size: int) -> pa.RecordBatchReader:
        """The result as Arrow record batches of about ``batch_size`` rows, read as they are consumed.

        A statement run on this session while the stream is open may end it: write through
        :meth:`new_session`.
        """

    @abstractmethod
    def arrow_relation(self, name: str, table: pa.Table) -> contextlib.AbstractContextManager[None]:
        """``table`` readable by SQL as relation ``name`` inside the ``with`` block (Arrow in)."""

    @abstractmethod
    def unordered_inserts(self) -> contextlib.AbstractContextManager[None]:
        """Inside the block, inserts may store rows in any order (a bulk-load speed-up where the engine has one)."""

    @abstractmethod
    def new_session(self) -> contextlib.AbstractContextManager[Warehouse]:
        """A second session on the same database, closed at the end of the block."""

    @abstractmethod
    def close(self) -> None: ...

    # ---- the same on every engine ---------------------------------------------------------------------

    def execute(self, sql: str, params: Params = None) -> None:
        self._cursor(sql, params)

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self._cursor(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        return self._cursor(sql, params).fetchone()

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row, or ``None`` without rows."""
        row = self.fetchone(sql, params)
        return row[0] if row else None

    def rows(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Every row as a JSON-ready dict (decimals as floats, dates and timestamps as ISO text)."""
        cursor = self._cursor(sql, params)
        names = [column[0] for column in cursor.description]
        return [{n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """Every statement in the block commits together or, on any exception (interrupts too), not at all."""
        self.execute("begin transaction")
        try:
            yield self
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")

    def ensure_schema(self, schema: str) -> None:
        self.execute(self.dialect.create_schema(schema))

    def parquet_source(self, glob: str) -> str:
        """A table expression over the Parquet files matching ``glob``, columns unioned by name (landed batches).

        An engine that scans Parquet answers with its dialect's scan; one that cannot copies the files in.
        """
        return self.dialect.scan_parquet(glob)

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(self.scalar(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ))

    def column_names(self, schema: str, table: str) -> set[str]:
        return {row[0] for row in self.fetchall(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        )}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class DuckDBWarehouse(Warehouse):
    """A session on a DuckDB database (the embedded default)."""

    dialect = DuckDBDialect()

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._con = connection

    def _cursor(self, sql: str, params: Params) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(sql, params)
        except self.dialect.undefined_object_errors as exc:
            raise UndefinedObject(str(exc)) from exc

    def modified(self, sql: str, params: Params = None) -> int:
        row = self._cursor(sql, params).fetchone()  # DuckDB answers a write with its row count
        return int(row[0]) if row else 0

    def columns(self, query: str) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in self.fetchall(f"describe {query}")]

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        return self._cursor(sql, params).df()

    def stream(self, sql: str, params: Params, batch_size: int) -> pa.RecordBatchReader:
        return self._cursor(sql, params).fetch_record_batch(batch_size)

    @contextlib.contextmanager
    def arrow_relation(self, name: str, table: pa.Table) -> Iterator[None]:
        self._con.register(name, table)
        try:
            yield
        finally:
            self._con.unregister(name)

    @contextlib.contextmanager
    def unordered_inserts(self) -> Iterator[None]:
        """Let DuckDB insert in any row order (raw tables have no meaningful order).

        Keeping the landed order makes DuckDB write one row group per landed Parquet row group. Those rarely hold
        exactly DuckDB's 122,880 rows, so each leaves a partial row group that the next checkpoint merges by
        rewriting the whole batch: the load is paid twice. Without an order to keep, every thread fills whole
        row groups and the checkpoint has nothing to rewrite.
        """
        before = self.scalar("select current_setting('preserve_insertion_order')")
        self.execute("set preserve_insertion_order = false")
        try:
            yield
        finally:
            self.execute(f"set preserve_insertion_order = {'true' if before else 'false'}")

    @contextlib.contextmanager
    def new_session(self) -> Iterator[Warehouse]:
        with self._con.cursor() as cursor:
            yield DuckDBWarehouse(cursor)

    # DuckDB's information_schema views read the whole catalog: 4-5 ms of CPU a question on the demo's warehouse,
    # against ~0.8 ms for ``describe`` of the one table (~0.2 ms when it is missing, which leaves a transaction
    # usable). A loaded batch asks for its raw table's columns; a small extract's seven batches asked ~35 ms.

    def table_exists(self, schema: str, table: str) -> bool:
        return self._described(schema, table) is not None

    def column_names(self, schema: str, table: str) -> set[str]:
        return {row[0] for row in self._described(schema, table) or []}

    def _described(self, schema: str, table: str) -> list[tuple[Any, ...]] | None:
        """``describe`` of a table or view (a row per column), None if there is none."""
        try:
            return self._con.execute(f"describe {quote_ident(schema)}.{quote_ident(table)}").fetchall()
        except duckdb.CatalogException:
            return None

    def close(self) -> None:
        self._con.close()
