"""What one warehouse engine spells differently: types, upserts, casts, regex, JSON, hashing, Parquet scans.

The package writes its SQL in the portable subset both DuckDB and PostgreSQL understand (``coalesce``,
``count(*) filter (where …)``, ``distinct on``, ``on conflict … do update``, ``information_schema``) and asks
the :class:`Dialect` for everything else, so a second engine is one more subclass, not an edit of every module.
Parameters are written ``?`` (positional) or ``$name`` (named) everywhere; an engine whose driver spells them
otherwise translates them in its :class:`~narrowcast.warehouse.warehouse.Warehouse`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import duckdb
import psycopg2.errors


def sql_string(text: object) -> str:
    """A SQL string literal (for the places that take no parameters: table functions, DDL defaults)."""
    return "'" + str(text).replace("'", "''") + "'"


class Dialect(ABC):
    """The SQL one engine needs where engines differ; every method returns SQL text, none runs anything."""

    name: str
    # The driver's errors for "this table, view or column does not exist" (a model not built yet).
    undefined_object_errors: tuple[type[BaseException], ...] = ()

    def type_name(self, declared: str) -> str:
        """The engine's name for a type declared in the contracts' spelling (VARCHAR, BIGINT, DOUBLE, …)."""
        return declared

    def create_schema(self, schema: str) -> str:
        return f"create schema if not exists {schema}"

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str],
               keep_greatest: Sequence[str] = (), rows: int = 1) -> str:
        """Insert ``rows`` rows of ``?`` values (the parameters row after row; no two with the same key); on a key
        conflict overwrite the other columns, except that each of ``keep_greatest`` keeps the larger of its stored
        and its new value (a watermark never moves back). One statement: its rows change together."""
        marks = ", ".join(["(" + ", ".join("?" for _ in columns) + ")"] * rows)
        updates = ", ".join(
            f"{c} = {self.greatest(f'{table}.{c}', f'excluded.{c}')}" if c in keep_greatest else f"{c} = excluded.{c}"
            for c in columns if c not in key
        )
        return (f"insert into {table} ({', '.join(columns)}) values {marks} "
                f"on conflict ({', '.join(key)}) do update set {updates}")

    def greatest(self, *expressions: str) -> str:
        """The largest non-NULL value (both engines skip NULLs; others may not)."""
        return f"greatest({', '.join(expressions)})"

    @abstractmethod
    def try_cast(self, expression: str, sql_type: str) -> str:
        """``expression`` as ``sql_type``, or NULL where it does not convert (never an error)."""

    @abstractmethod
    def timestamptz_to_utc(self, expression: str) -> str:
        """A timestamp-with-time-zone as a naive UTC timestamp."""

    @abstractmethod
    def try_parse_date(self, expression: str, strftime_format: str) -> str:
        """Text in ``strftime_format`` as a date, or NULL where it does not parse."""

    @abstractmethod
    def regex_search(self, expression: str, pattern: str) -> str:
        """True where ``pattern`` (a Python-style regex, no quotes inside) matches part of ``expression``."""

    @abstractmethod
    def regex_full_match(self, expression: str, pattern: str) -> str:
        """True where ``pattern`` matches the whole of ``expression``."""

    @abstractmethod
    def json_object(self, pairs: Sequence[tuple[str, str]]) -> str:
        """A JSON object as text from (key, value expression) pairs, keys in the given order."""

    @abstractmethod
    def row_to_json(self, alias: str) -> str:
        """Every column of the row ``alias`` as one JSON object text."""

    @abstractmethod
    def hash_bucket(self, expression: str, buckets: int) -> str:
        """A deterministic, well-spread bucket in [0, buckets) of an integer ``expression`` (for sampling)."""

    @abstractmethod
    def seconds_before_now(self, seconds: str) -> str:
        """The naive timestamp ``seconds`` (an expression) before now."""

    @abstractmethod
    def scan_parquet(self, glob: str) -> str:
        """A table expression over the Parquet files matching ``glob``, columns unioned by name."""


class DuckDBDialect(Dialect):
    name = "duckdb"
    undefined_object_errors = (duckdb.CatalogException, duckdb.BinderException)

    def try_cast(self, expression: str, sql_type: str) -> str:
        return f"try_cast({expression} as {sql_type})"

    def timestamptz_to_utc(self, expression: str) -> str:
        return f"timezone('UTC', {expression})"

    def try_parse_date(self, expression: str, strftime_format: str) -> str:
        return f"try_strptime({expression}, {sql_string(strftime_format)})::date"

    def regex_search(self, expression: str, pattern: str) -> str:
        return f"regexp_matches({expression}, {sql_string(pattern)})"

    def regex_full_match(self, expression: str, pattern: str) -> str:
        return f"regexp_full_match({expression}, {sql_string(pattern)})"

    def json_object(self, pairs: Sequence[tuple[str, str]]) -> str:
        return "json_object(" + ", ".join(f"{sql_string(k)}, {v}" for k, v in pairs) + ")::varchar"

    def row_to_json(self, alias: str) -> str:
        return f"to_json({alias})::varchar"

    def hash_bucket(self, expression: str, buckets: int) -> str:
        return f"hash({expression}) % {int(buckets)}"

    def seconds_before_now(self, seconds: str) -> str:
        return f"now()::timestamp - to_microseconds(cast({seconds} * 1e6 as bigint))"

    def scan_parquet(self, glob: str) -> str:
        # The landing layout's key=value directories are bookkeeping, not columns of the data.
        return f"read_parquet({sql_string(glob)}, union_by_name = true, hive_partitioning = false)"


# strftime directives the PostgreSQL date parser understands, as (to_date pattern, regex of the text).
_PG_DATE_DIRECTIVES = {"%Y": ("YYYY", r"\d{4}"), "%m": ("MM", r"\d{2}"), "%d": ("DD", r"\d{2}")}


class PostgresDialect(Dialect):
    """PostgreSQL 15: no TRY_CAST, so a failed cast is caught by a session function (``pg_temp.nc_try_cast``,
    created by :class:`~narrowcast.warehouse.postgres.PostgresWarehouse` on connect)."""

    name = "postgres"

    undefined_object_errors = (psycopg2.errors.UndefinedTable, psycopg2.errors.UndefinedColumn,
                               psycopg2.errors.UndefinedObject, psycopg2.errors.InvalidSchemaName)
    _TYPES = {"DOUBLE": "double precision", "VARCHAR": "text", "JSON": "text"}

    def type_name(self, declared: str) -> str:
        return self._TYPES.get(declared.upper(), declared)

    def try_cast(self, expression: str, sql_type: str) -> str:
        # The INOUT argument's type picks the cast; text in, so every input goes through the type's parser.
        return f"pg_temp.nc_try_cast(({expression})::text, null::{self.type_name(sql_type)})"

    def timestamptz_to_utc(self, expression: str) -> str:
        return f"(({expression}) at time zone 'UTC')"

    def try_parse_date(self, expression: str, strftime_format: str) -> str:
        pattern, regex, rest = "", "", strftime_format
        while rest:
            directive = rest[:2]
            if directive in _PG_DATE_DIRECTIVES:
                pattern += _PG_DATE_DIRECTIVES[directive][0]
                regex += _PG_DATE_DIRECTIVES[directive][1]
                rest = rest[2:]
            elif rest[0] == "%":
                raise ValueError(f"date format {strftime_format!r}: {directive} has no PostgreSQL equivalent here")
            else:
                pattern += rest[0]
                regex += "\\" + rest[0] if not rest[0].isalnum() else rest[0]
                rest = rest[1:]
        # to_date accepts text of the wrong length and rolls out-of-range days over: check the shape first and
        # that the date prints back as the same text.
        return (f"case when ({expression}) ~ {sql_string('^' + regex + '$')} then "
                f"pg_temp.nc_try_to_date({expression}, {sql_string(pattern)}) end")

    def regex_search(self, expression: str, pattern: str) -> str:
        return f"(({expression}) ~ {sql_string(pattern)})"

    def regex_full_match(self, expression: str, pattern: str) -> str:
        return f"(({expression}) ~ {sql_string('^(?:' + pattern + ')$')})"

    def json_object(self, pairs: Sequence[tuple[str, str]]) -> str:
        if len(pairs) > 50:  # a function call takes at most 100 arguments
            return "(" + " || ".join(
                f"({self.json_object(pairs[i:i + 50])})::jsonb" for i in range(0, len(pairs), 50)) + ")::text"
        return "json_build_object(" + ", ".join(f"{sql_string(k)}, {v}" for k, v in pairs) + ")::text"

    def row_to_json(self, alias: str) -> str:
        return f"row_to_json({alias})::text"

    def hash_bucket(self, expression: str, buckets: int) -> str:
        n = int(buckets)
        return f"((hashint8(({expression})::bigint)::bigint % {n} + {n}) % {n})"

    def seconds_before_now(self, seconds: str) -> str:
        return f"(now()::timestamp - make_interval(secs => ({seconds})::double precision))"

    def scan_parquet(self, glob: str) -> str:
        raise NotImplementedError(
            "PostgreSQL cannot scan Parquet: read landed files through Warehouse.parquet_source, which copies them in"
        )
