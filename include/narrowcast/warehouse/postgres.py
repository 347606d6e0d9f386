"""A warehouse session on PostgreSQL (15+), through psycopg2: the second engine behind the same seam.

What differs from DuckDB and how it is bridged here:
- parameters: the package writes ``?`` and ``$name``; psycopg2 wants ``%s`` and ``%(name)s`` (and ``%%``);
- Arrow in: a relation is a temp table filled by ``COPY … from stdin`` (CSV written by pyarrow), the bulk path;
- Parquet: PostgreSQL cannot scan it, so landed files are read by pyarrow and COPYed into a temp table;
- Arrow out: rows are typed by the result's column types; :meth:`PostgresWarehouse.stream` reads through a
  server-side cursor, so a large plan never sits in Python whole;
- TRY_CAST: a session function (``pg_temp.nc_try_cast``) returns NULL where a cast raises;
- locking: PostgreSQL takes concurrent writers itself (transactions), so no single-writer wait is needed.
"""

from __future__ import annotations

import contextlib
import functools
import glob as globbing
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from narrowcast.contracts.sql import quote_ident
from narrowcast.settings import PostgresSettings
from narrowcast.warehouse.dialect import PostgresDialect
from narrowcast.warehouse.warehouse import Params, UndefinedObject, Warehouse, WarehouseBusy, WarehouseError

# numpy scalars (pandas and pyarrow hand them out) bind as the Python values they hold.
for _numpy_type in (np.integer, np.floating, np.bool_):
    psycopg2.extensions.register_adapter(_numpy_type, lambda v: psycopg2.extensions.adapt(v.item()))
psycopg2.extensions.register_adapter(pd.Timestamp, lambda v: psycopg2.extensions.adapt(v.to_pydatetime()))

# Errors that mean "another session holds what this one needs": retry later, as with DuckDB's file lock.
BUSY_ERRORS = (psycopg2.errors.LockNotAvailable, psycopg2.errors.DeadlockDetected,
               psycopg2.errors.SerializationFailure, psycopg2.errors.TooManyConnections)

# Per session: a cast that returns NULL instead of failing (the INOUT argument's type picks the target type),
# and a to_date that does the same and refuses dates that roll over (20260231 is not 3 March).
_SESSION_FUNCTIONS = (
    """create or replace function pg_temp.nc_try_cast(value text, inout target anyelement) language plpgsql
       immutable as $$ begin target := value; exception when others then target := null; end $$""",
    """create or replace function pg_temp.nc_try_to_date(value text, pattern text) returns date language plpgsql
       immutable as $$ declare parsed date; begin parsed := to_date(value, pattern);
       if to_char(parsed, pattern) <> value then return null; end if; return parsed;
       exception when others then return null; end $$""",
)

# Result column type OID → (the contracts' type name, the Arrow type its values take).
_OID_TYPES: dict[int, tuple[str, pa.DataType]] = {
    16: ("BOOLEAN", pa.bool_()),
    20: ("BIGINT", pa.int64()),
    21: ("SMALLINT", pa.int16()),
    23: ("INTEGER", pa.int32()),
    25: ("VARCHAR", pa.string()),
    1042: ("VARCHAR", pa.string()),
    1043: ("VARCHAR", pa.string()),
    705: ("VARCHAR", pa.string()),
    19: ("VARCHAR", pa.string()),
    700: ("FLOAT", pa.float32()),
    701: ("DOUBLE", pa.float64()),
    1700: ("DECIMAL", pa.float64()),
    1082: ("DATE", pa.date32()),
    1114: ("TIMESTAMP", pa.timestamp("us")),
    1184: ("TIMESTAMP WITH TIME ZONE", pa.timestamp("us", tz="UTC")),
    114: ("JSON", pa.string()),
    3802: ("JSON", pa.string()),
    2950: ("UUID", pa.string()),
    1083: ("TIME", pa.time64("us")),
}


def _pg_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow column (temp tables of Arrow and Parquet data)."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type) or pa.types.is_uint64(arrow_type):
        return "bigint" if not pa.types.is_uint64(arrow_type) else "numeric"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_time(arrow_type):
        return "time"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type):
        return "text"
    if pa.types.is_dictionary(arrow_type):
        return _pg_type(arrow_type.value_type)
    # Lists, structs, maps: kept as their JSON text.
    return "text"


def _copyable(table: pa.Table) -> pa.Table:
    """``table`` with every column in a form the CSV writer spells as PostgreSQL reads it."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
        elif pa.types.is_null(kind):
            column = column.cast(pa.string())
        elif pa.types.is_nested(kind):
            column = pa.array([None if v is None else json.dumps(v, default=str) for v in column.to_pylist()],
                              pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)


_TOKENS = re.compile(r"""('(?:[^']|'')*')|("(?:[^"]|"")*")|(--[^\n]*)|(::)|(\?)|\$([A-Za-z_]\w*)|(%)""")


@functools.lru_cache(maxsize=512)
def translate(sql: str, named: bool) -> str:
    """``sql`` with ``?`` (positional) or ``$name`` (named) parameters in psycopg2's spelling.

    Quoted text and comments keep their ``?`` and ``$``; every ``%`` is doubled, as psycopg2 reads ``%``
    everywhere when parameters are given.
    """

    def swap(match: re.Match[str]) -> str:
        literal = match.group(1) or match.group(2) or match.group(3)
        if literal:
            return literal.replace("%", "%%")
        if match.group(4):
            return "::"
        if match.group(5):
            if named:
                raise WarehouseError("a statement with named parameters also has a '?' placeholder")
            return "%s"
        if match.group(6):
            if not named:
                raise WarehouseError(f"a statement with positional parameters names ${match.group(6)}")
            return f"%({match.group(6)})s"
        return "%%"

    return _TOKENS.sub(swap, sql)


def _arrow_schema(description: Any) -> pa.Schema:
    return pa.schema([pa.field(column.name, _OID_TYPES.get(column.type_code, ("", pa.string()))[1])
                      for column in description])


def _arrow_batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for index, field in enumerate(schema):
        values = [row[index] for row in rows]
        if pa.types.is_string(field.type):
            values = [v if v is None or isinstance(v, str) else json.dumps(v, default=str)
                      if isinstance(v, (dict, list)) else str(v) for v in values]
        elif pa.types.is_floating(field.type):
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class PostgresWarehouse(Warehouse):
    """A session on a PostgreSQL database (autocommit; :meth:`transaction` groups statements)."""

    dialect = PostgresDialect()

    def __init__(self, settings: PostgresSettings, *, read_only: bool = False,
                 on_close: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._read_only = read_only
        self._on_close = on_close
        self._landed: dict[str, tuple[tuple[tuple[str, int, int], ...], str]] = {}  # glob → (files, temp table)
        try:
            self._con = psycopg2.connect(
                **settings.connect_kwargs(), application_name="narrowcast",
                # Naive timestamps are UTC everywhere in the package; dbt's schema holds the marts.
                options=f"-c TimeZone=UTC -c search_path={settings.schema},public",
            )
        except psycopg2.OperationalError as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = f"{settings.user}@{settings.host}:{settings.port}/{settings.dbname}"
            if "too many" in message.lower():
                raise WarehouseBusy(f"PostgreSQL warehouse {where}: {message}") from exc
            raise WarehouseError(f"cannot connect to the PostgreSQL warehouse {where} (NARROWCAST_PG_*): "
                                 f"{message}") from exc
        self._con.autocommit = True
        with self._con.cursor() as cursor:
            for statement in _SESSION_FUNCTIONS:
                cursor.execute(statement)
            if read_only:
                cursor.execute("set session characteristics as transaction read only")

    @property
    def settings(self) -> PostgresSettings:
        return self._settings

    def _cursor(self, sql: str, params: Params) -> psycopg2.extensions.cursor:
        cursor = self._con.cursor()
        self._run(cursor, sql, params)
        return cursor

    def _run(self, cursor: Any, sql: str, params: Params) -> None:
        if params is not None:
            sql = translate(sql, isinstance(params, Mapping))
            params = dict(params) if isinstance(params, Mapping) else list(params)
        try:
            cursor.execute(sql, params)
        except self.dialect.undefined_object_errors as exc:
            raise UndefinedObject(str(exc).strip()) from exc
        except BUSY_ERRORS as exc:
            raise WarehouseBusy(str(exc).strip()) from exc

    def modified(self, sql: str, params: Params = None) -> int:
        return max(self._cursor(sql, params).rowcount, 0)

    def columns(self, query: str) -> list[tuple[str, str]]:
        cursor = self._cursor(f"select * from ({query}) as described limit 0", None)
        return [(c.name, _OID_TYPES.get(c.type_code, (f"OID {c.type_code}", None))[0]) for c in cursor.description]

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        cursor = self._cursor(sql, params)
        schema = _arrow_schema(cursor.description)
        return pa.Table.from_batches([_arrow_batch(cursor.fetchall(), schema)], schema=schema)

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        return self.arrow(sql, params).to_pandas()

    def stream(self, sql: str, params: Params, batch_size: int) -> pa.RecordBatchReader:
        # A named (server-side) cursor sends rows as they are fetched; WITH HOLD lets it outlive autocommit.
        cursor = self._con.cursor(name=f"nc_stream_{id(self)}_{next(_STREAMS)}", withhold=True)
        self._run(cursor, sql, params)
        first = cursor.fetchmany(batch_size)
        schema = _arrow_schema(cursor.description)

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                rows = first
                while rows:
                    yield _arrow_batch(rows, schema)
                    rows = cursor.fetchmany(batch_size)
            finally:
                cursor.close()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def _create_from_arrow(self, name: str, schema: pa.Schema) -> None:
        body = ", ".join(f"{quote_ident(field.name)} {_pg_type(field.type)}" for field in schema)
        self.execute(f"drop table if exists {name} cascade")
        self.execute(f"create temp table {name} ({body})")

    def copy_arrow(self, table_name: str, table: pa.Table) -> int:
        """Append ``table``'s rows to ``table_name`` with one ``COPY … from stdin`` (columns by name)."""
        if not table.num_rows:
            return 0
        table = _copyable(table)
        buffer = io.BytesIO()
        # Every present value quoted, nulls bare: PostgreSQL's CSV reads a bare empty field as NULL and a quoted
        # one as an empty string.
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
        buffer.seek(0)
        columns = ", ".join(quote_ident(name) for name in table.column_names)
        with self._con.cursor() as cursor:
            cursor.copy_expert(f"copy {table_name} ({columns}) from stdin with (format csv)", buffer)
        return table.num_rows

    @contextlib.contextmanager
    def arrow_relation(self, name: str, table: pa.Table) -> Iterator[None]:
        self._create_from_arrow(name, table.schema)
        try:
            self.copy_arrow(name, table)
            yield
        finally:
            self.execute(f"drop table if exists {name}")

    def parquet_source(self, glob: str) -> str:
        """A temp table holding the Parquet files matching ``glob`` (columns unioned by name), copied in once per
        session (again if a file changed since): PostgreSQL cannot read Parquet, so pyarrow reads each file and COPY
        moves it."""
        files = sorted(globbing.glob(glob))
        if not files:
            raise WarehouseError(f"no Parquet file matches {glob}")
        stats = [os.stat(path) for path in files]
        signature = tuple((path, s.st_size, s.st_mtime_ns) for path, s in zip(files, stats, strict=True))
        if glob in self._landed and self._landed[glob][0] == signature:
            return self._landed[glob][1]
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        name = "_nc_landed_" + hashlib.md5(glob.encode("utf-8")).hexdigest()[:16]
        self._create_from_arrow(name, schema)
        for path in files:
            part = pq.read_table(path)
            missing = [f for f in schema if f.name not in part.column_names]
            for field in missing:
                part = part.append_column(field, pa.nulls(part.num_rows, field.type))
            self.copy_arrow(name, part.select(schema.names))
        self.execute(f"analyze {name}")
        self._landed[glob] = (signature, name)
        return name

    @contextlib.contextmanager
    def unordered_inserts(self) -> Iterator[None]:
        yield  # PostgreSQL's heap has no insertion order to give up

    @contextlib.contextmanager
    def new_session(self) -> Iterator[Warehouse]:
        session = PostgresWarehouse(self._settings, read_only=self._read_only)
        try:
            yield session
        finally:
            session.close()

    def ensure_schema(self, schema: str) -> None:
        try:
            super().ensure_schema(schema)
        except psycopg2.errors.UniqueViolation:
            pass  # another session created it at the same moment: "if not exists" is not atomic in PostgreSQL

    def close(self) -> None:
        if not self._con.closed:
            self._con.close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


_STREAMS = iter(range(1, 1 << 62))
