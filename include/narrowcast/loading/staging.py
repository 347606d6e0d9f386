"""A typed view over a landed batch: registry types applied with TRY_CAST, plus one flag per failed cast.

Both the quality gate and the loader read the batch through this view, so what is checked is exactly what
loads. Text timestamps with an offset (``...+02:00``, ``...Z``) are converted to UTC; without one they are
taken as UTC already.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import EntitySpec
from narrowcast.landing.zone import Batch
from narrowcast.warehouse import Dialect, Warehouse, sql_string

_OFFSET_PATTERN = r"([+-]\d\d(:?\d\d)?|Z)$"

__all__ = ["StagedBatch", "landed_source", "sql_string", "stage_batch"]  # sql_string: the GA4 reader's import


@dataclass(frozen=True)
class StagedBatch:
    """A landed batch as the typed temp view ``view``; ``present`` are the registry columns the batch carries."""

    batch: Batch
    spec: EntitySpec
    view: str
    present: tuple[str, ...]
    landed_columns: tuple[str, ...]
    dialect: Dialect  # how the warehouse that staged it spells its casts
    source: str  # the landed Parquet as a table expression of the warehouse that staged it
    landed_types: dict[str, str] = field(default_factory=dict)  # landed column → its Parquet (warehouse) type

    @property
    def missing_required(self) -> tuple[str, ...]:
        if not self.batch.parts:  # an empty batch has no schema to check
            return ()
        return tuple(c for c in self.spec.required_columns if c not in self.present)

    @property
    def raw_source(self) -> str:
        """The landed Parquet as a table expression (untyped, as extracted)."""
        return self.source

    def distinct_typed(self, column: str) -> str:
        """A query for the distinct typed values of ``column``: the distinct landed values first, then the cast,
        so a batch of millions of rows with one date casts one value, not millions."""
        if column not in self.present:
            return f"select null::{self.dialect.type_name(self.spec.columns[column])} as {quote_ident(column)} where false"
        typed = _cast(self.dialect, quote_ident(column), self.landed_types[column], self.spec.columns[column])
        return f"select distinct {typed} as {quote_ident(column)} from (select distinct {quote_ident(column)} from {self.raw_source} src) landed"


def landed_source(wh: Warehouse, batch: Batch) -> str:
    """The batch's landed rows as a table expression (callers give it an alias: PostgreSQL needs one)."""
    if not batch.parts:
        return "(select null::bigint as _row, null::varchar as _source_ref where false)"
    return wh.parquet_source(batch.glob)


def _cast(dialect: Dialect, expr: str, landed_type: str, target: str) -> str:
    landed_type = landed_type.upper()
    if target == "TIMESTAMP":
        if landed_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return dialect.timestamptz_to_utc(expr)
        if landed_type == "VARCHAR":
            return (
                f"case when {dialect.regex_search(f'trim({expr})', _OFFSET_PATTERN)} "
                f"then {dialect.timestamptz_to_utc(dialect.try_cast(f'trim({expr})', 'timestamptz'))} "
                f"else {dialect.try_cast(f'trim({expr})', 'timestamp')} end"
            )
    if target == "DATE" and landed_type == "VARCHAR":
        # GA4 writes dates as YYYYMMDD (millions of rows: tried first); everything else is ISO. No ISO text
        # parses as %Y%m%d, so the order changes nothing but the cost.
        return f"coalesce({dialect.try_parse_date(f'trim({expr})', '%Y%m%d')}, {dialect.try_cast(f'trim({expr})', 'date')})"
    if landed_type == "VARCHAR" and target != "VARCHAR":
        return dialect.try_cast(f"nullif(trim({expr}), '')", target)
    return dialect.try_cast(expr, target)


def stage_batch(wh: Warehouse, batch: Batch, spec: EntitySpec) -> StagedBatch:
    """Create the temp view ``stage_<entity>`` over ``batch`` and describe what it carries."""
    view = f"stage_{spec.name}"
    dialect = wh.dialect
    source = landed_source(wh, batch)
    landed = dict(wh.columns(f"select * from {source} src"))
    selects = ["_row", "_source_ref"]
    present = []
    for name, target in spec.columns.items():
        if name in landed:
            present.append(name)
            typed = _cast(dialect, quote_ident(name), landed[name], target)
            selects.append(f"{typed} as {quote_ident(name)}")
            blank = f" and trim({quote_ident(name)}) <> ''" if landed[name].upper() == "VARCHAR" else ""
            selects.append(f"({quote_ident(name)} is not null{blank} and {typed} is null) as {quote_ident('__type_' + name)}")
        else:
            selects.append(f"null::{dialect.type_name(target)} as {quote_ident(name)}")
            selects.append(f"false as {quote_ident('__type_' + name)}")
    # Dropped, not replaced: PostgreSQL replaces a view only when its columns stay the same.
    wh.execute(f"drop view if exists {view}")
    wh.execute(f"create temp view {view} as select {', '.join(selects)} from {source} src")
    return StagedBatch(batch, spec, view, tuple(present), tuple(landed), dialect, source, landed)
