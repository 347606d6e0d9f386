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
               keep_greatest: Sequence[str] = ()) -> str:
        """Insert one row of ``?`` values; on a key conflict overwrite the other columns, except that each of
        ``keep_greatest`` keeps the larger of its stored and its new value (a watermark never moves back)."""
        marks = ", ".join("?" for _ in columns)
        updates = ", ".join(
            f"{c} = {self.greatest(f'{table}.{c}', f'excluded.{c}')}" if c in keep_greatest else f"{c} = excluded.{c}"
            for c in columns if c not in key
        )
        return (f"insert into {table} ({', '.join(columns)}) values ({marks}) "
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
