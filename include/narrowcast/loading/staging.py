"""A typed view over a landed batch: registry types applied with TRY_CAST, plus one flag per failed cast.

Both the quality gate and the loader read the batch through this view, so what is checked is exactly what
loads. Text timestamps with an offset (``...+02:00``, ``...Z``) are converted to UTC; without one they are
taken as UTC already.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import EntitySpec
from narrowcast.landing.zone import Batch

_OFFSET_PATTERN = r"([+-]\d\d(:?\d\d)?|Z)$"


@dataclass(frozen=True)
class StagedBatch:
    """A landed batch as the typed temp view ``view``; ``present`` are the registry columns the batch carries."""

    batch: Batch
    spec: EntitySpec
    view: str
    present: tuple[str, ...]
    landed_columns: tuple[str, ...]
    landed_types: dict[str, str] = field(default_factory=dict)  # landed column → its Parquet (DuckDB) type

    @property
    def missing_required(self) -> tuple[str, ...]:
        if not self.batch.parts:  # an empty batch has no schema to check
            return ()
        return tuple(c for c in self.spec.required_columns if c not in self.present)

    @property
    def raw_source(self) -> str:
        """The landed Parquet as a table expression (untyped, as extracted)."""
        return landed_source(self.batch)

    def type_flag(self, column: str) -> str:
        return f"__type_{column}"

    def distinct_typed(self, column: str) -> str:
        """A query for the distinct typed values of ``column``: the distinct landed values first, then the cast,
        so a batch of millions of rows with one date casts one value, not millions."""
        if column not in self.present:
            return f"select null::{self.spec.columns[column]} as {quote_ident(column)} where false"
        typed = _cast(quote_ident(column), self.landed_types[column], self.spec.columns[column])
        return f"select distinct {typed} as {quote_ident(column)} from (select distinct {quote_ident(column)} from {self.raw_source})"


def landed_source(batch: Batch) -> str:
    if not batch.parts:
        return "(select null::bigint as _row, null::varchar as _source_ref where false)"
    # The landing layout's key=value directories are bookkeeping, not columns of the data.
    return f"read_parquet({sql_string(batch.glob)}, union_by_name = true, hive_partitioning = false)"


def sql_string(text: str) -> str:
    """A SQL string literal (paths are interpolated into DuckDB table functions, which take no parameters)."""
    return "'" + str(text).replace("'", "''") + "'"


def _cast(expr: str, landed_type: str, target: str) -> str:
    landed_type = landed_type.upper()
    if target == "TIMESTAMP":
        if landed_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"timezone('UTC', {expr})"
        if landed_type == "VARCHAR":
            return (
                f"case when regexp_matches(trim({expr}), '{_OFFSET_PATTERN}') "
                f"then timezone('UTC', try_cast(trim({expr}) as timestamptz)) "
                f"else try_cast(trim({expr}) as timestamp) end"
            )
    if target == "DATE" and landed_type == "VARCHAR":
        # GA4 writes dates as YYYYMMDD (millions of rows: tried first); everything else is ISO. No ISO text
        # parses as %Y%m%d, so the order changes nothing but the cost.
        return f"coalesce(try_strptime(trim({expr}), '%Y%m%d')::date, try_cast(trim({expr}) as date))"
    if landed_type == "VARCHAR" and target != "VARCHAR":
        return f"try_cast(nullif(trim({expr}), '') as {target})"
    return f"try_cast({expr} as {target})"


def stage_batch(con: duckdb.DuckDBPyConnection, batch: Batch, spec: EntitySpec) -> StagedBatch:
    """Create the temp view ``stage_<entity>`` over ``batch`` and describe what it carries."""
    view = f"stage_{spec.name}"
    source = landed_source(batch)
    landed = {row[0]: row[1] for row in con.execute(f"describe select * from {source}").fetchall()}
    selects = ["_row", "_source_ref"]
    present = []
    for name, target in spec.columns.items():
        if name in landed:
            present.append(name)
            typed = _cast(quote_ident(name), landed[name], target)
            selects.append(f"{typed} as {quote_ident(name)}")
            blank = f" and trim({quote_ident(name)}) <> ''" if landed[name].upper() == "VARCHAR" else ""
            selects.append(f"({quote_ident(name)} is not null{blank} and {typed} is null) as {quote_ident('__type_' + name)}")
        else:
            selects.append(f"null::{target} as {quote_ident(name)}")
            selects.append(f"false as {quote_ident('__type_' + name)}")
    con.execute(f"create or replace temp view {view} as select {', '.join(selects)} from {source}")
    return StagedBatch(batch, spec, view, tuple(present), tuple(landed), landed)
