"""Load a checked, landed batch into ``raw.<entity>``: quarantine, merge or replace, and book-keep, atomically.

One transaction per batch: the quarantine rows, the delete of what the batch replaces, the insert of its valid
rows and its ``meta.batches`` row either all happen or none does (``Warehouse.transaction``). Rows are moved
by the warehouse straight from the landed Parquet (never row by row through Python).

- ``merge``: rows whose key is in the batch are deleted, then the batch inserted (keys are unique within a
  batch, the gate quarantines duplicates). With a ``partition_column`` (files: ``_file_name``) every row of the
  partitions in the batch is deleted first, so a new version of a file replaces the old one entirely.
- ``replace_partition``: every row of the dates present in the batch, and of the window's dates when a window
  is given (a windowed API source: a day it no longer reports is emptied), is deleted, then the batch
  inserted, so a restated day is replaced whole and a rerun never duplicates. A batch per file passes no
  window: it replaces only the days it holds, so a missing file never deletes a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pyarrow as pa

from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.timestamps import utc_naive
from narrowcast.contracts.windows import Window
from narrowcast.loading.ddl import META_TABLES, ensure_meta_tables, ensure_raw_table
from narrowcast.loading.staging import StagedBatch
from narrowcast.privacy.erasure import erase_reloaded
from narrowcast.warehouse import Warehouse


@dataclass(frozen=True)
class LoadResult:
    batch_id: str
    entity: str
    received: int
    loaded: int
    quarantined: int
    status: str


def window_dates(window: Window) -> list[date]:
    """The dates a half-open window touches: every day d with midnight(d) < end and d >= start's date."""
    start, end = utc_naive(window.start), utc_naive(window.end)
    day, days = start.date(), []
    while datetime.combine(day, datetime.min.time()) < end:
        days.append(day)
        day += timedelta(days=1)
    return days


def load_batch(
    wh: Warehouse,
    staged: StagedBatch,
    failures: pa.Table,
    *,
    replace_window: Window | None = None,
    started_at: datetime | None = None,
    status: str = "loaded",
    error: str | None = None,
) -> LoadResult:
    """Write quarantine rows and (unless ``status`` is ``failed``) the valid rows of ``staged``.

    ``failures`` has columns ``_row`` (BIGINT), ``rule``, ``column_name`` — one row per quarantined row.
    ``replace_window`` is the (widened) extraction window whose dates a ``replace_partition`` load replaces
    besides the dates in the batch (None for a batch per file: only its own dates).
    A ``failed`` batch writes its quarantine rows and its ``meta.batches`` row but loads nothing.
    """
    spec, batch = staged.spec, staged.batch
    ensure_meta_tables(wh)
    ensure_raw_table(wh, spec)
    now = utc_naive(datetime.now().astimezone())
    with wh.arrow_relation("_nc_failures", failures), wh.transaction():
        if failures.num_rows:
            _quarantine(wh, staged, now)
        quarantined = len(failures)
        loaded = 0
        if status != "failed":
            loaded = _replace_rows(wh, staged, replace_window, has_failures=failures.num_rows > 0)
        erase_reloaded(wh, spec, batch.batch_id, batch.path)
        _record_batch(
            wh,
            [
                batch.batch_id,
                batch.source,
                spec.name,
                utc_naive(batch.window.start),
                utc_naive(batch.window.end),
                batch.rows,
                loaded,
                quarantined,
                status,
                str(batch.path),
                utc_naive(started_at) if started_at else batch.loaded_at,
                now,
                error,
            ],
        )
    return LoadResult(batch.batch_id, spec.name, batch.rows, loaded, quarantined, status)


def _record_batch(wh: Warehouse, values: list) -> None:
    """The batch's ``meta.batches`` row (``values`` in the table's column order), replacing an earlier load's.

    A batch loaded again (a retried task) keeps its id, so the row is an upsert then. A new batch is a plain
    insert: DuckDB's ``on conflict do update`` costs ~4 ms of CPU a row against ~1 ms for asking and inserting.
    """
    columns = list(META_TABLES["meta.batches"])
    if wh.fetchone("select 1 from meta.batches where batch_id = ?", [values[0]]) is not None:
        wh.execute(wh.dialect.upsert("meta.batches", columns, ["batch_id"]), values)
        return
    wh.execute(f"insert into meta.batches ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})", values)


def _quarantine(wh: Warehouse, staged: StagedBatch, now: datetime) -> None:
    """The failing rows as landed (untyped), each with its rule, from ``_nc_failures``."""
    spec, batch = staged.spec, staged.batch
    wh.execute(
        f"""insert into meta.quarantine
            select $batch, $source, $entity, f.rule, f.column_name, r._source_ref, {wh.dialect.row_to_json('r')}, $now
            from {staged.raw_source} r join _nc_failures f on f._row = r._row
            order by r._row""",
        {"batch": batch.batch_id, "source": batch.source, "entity": spec.name, "now": now},
    )


def _replace_rows(
    wh: Warehouse,
    staged: StagedBatch,
    replace_window: Window | None,
    *,
    has_failures: bool,
) -> int:
    spec, batch = staged.spec, staged.batch
    col_list = ", ".join(quote_ident(c) for c in spec.columns)
    # A subquery, not a temp table: DuckDB streams it from the landed Parquet, so memory stays flat. Without
    # failures there is nothing to skip and the batch goes straight from Parquet through the typed view.
    valid = (
        f"(select * from {staged.view} s where not exists (select 1 from _nc_failures f where f._row = s._row))"
        if has_failures
        else staged.view
    )
    if spec.partition_column:
        part = quote_ident(spec.partition_column)
        # Partitions come from every row of the batch: a file whose rows were all quarantined still
        # withdraws its previous version.
        values = {
            row[0]
            for row in wh.fetchall(staged.distinct_typed(spec.partition_column))
            if row[0] is not None
        }
        if spec.load_mode == "replace_partition" and replace_window is not None:
            values |= set(window_dates(replace_window))
        if values:
            # One DELETE with constants: DuckDB prunes row groups by their min/max instead of joining.
            ordered = sorted(values)
            marks = ", ".join("?" for _ in ordered)
            wh.execute(f"delete from {spec.table} where {part} in ({marks})", ordered)
    kept = [quote_ident(c) for c in spec.keep_stored] if spec.load_mode == "merge" else []
    if spec.load_mode == "merge":
        match = " and ".join(f"t.{quote_ident(k)} = v.{quote_ident(k)}" for k in spec.key)
        if kept:
            keys = ", ".join(f"t.{quote_ident(k)}" for k in spec.key)
            wh.execute("drop table if exists _nc_kept")
            wh.execute(f"""create temp table _nc_kept as
                           select {keys}, {", ".join(f"t.{c}" for c in kept)} from {spec.table} t
                           where exists (select 1 from {valid} v where {match})""")
        wh.execute(f"delete from {spec.table} t where exists (select 1 from {valid} v where {match})")
    with wh.unordered_inserts():
        inserted = wh.modified(
            f"""insert into {spec.table} ({col_list}, _batch_id, _loaded_at, _source)
                select {col_list}, $batch, $loaded::timestamp, $source from {valid} v""",
            {"batch": batch.batch_id, "loaded": batch.loaded_at, "source": batch.source},
        )
    if kept:
        # A NULL in the batch never erases a value the table already held for that key.
        on_key = " and ".join(f"{spec.table}.{quote_ident(k)} = k.{quote_ident(k)}" for k in spec.key)
        wh.execute(f"""update {spec.table} set {", ".join(f"{c} = coalesce({spec.table}.{c}, k.{c})" for c in kept)}
                       from _nc_kept k where {on_key} and {spec.table}._batch_id = ?""", [batch.batch_id])
        wh.execute("drop table _nc_kept")
    return inserted
