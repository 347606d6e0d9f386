"""The immutable landing zone: every extracted page or file lands as Parquet before any check or load.

Layout: ``landing/source=<s>/entity=<e>/date=<interval start date>/batch=<batch_id>/part-NNNNN.parquet``.
A batch directory is written once and never changed; a rerun of the same interval gets a new batch id. The one
exception is a person's erasure: ``narrowcast.privacy.erasure`` rewrites the files holding their data without it.

Batch ids are deterministic and readable: ``<source>.<entity>.<start>_<end>.r<NNN>`` where start/end are the
data interval (UTC, ``%Y%m%dT%H%M%S``) and ``rNNN`` is the run counter of that (source, entity, interval): one
more than the batches of the same interval already in the landing zone. The landing zone (not the warehouse) is
the counter's truth because a crashed run leaves its batch directory behind but may never reach ``meta.batches``.

Every part carries ``_batch_id``, ``_loaded_at``, ``_source`` (the contract's meta columns), ``_source_ref``
(file + line or API page, for quarantine records) and ``_row`` (row number within the batch, so the quality
gate can name failing rows and the loader can skip them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from narrowcast.contracts.timestamps import utc_naive
from narrowcast.contracts.windows import Window

if TYPE_CHECKING:
    # Only the GA4 reader's in-memory parser (a local file engine, not the warehouse) hands a query here.
    import duckdb

BOOKKEEPING_COLUMNS = ("_batch_id", "_loaded_at", "_source", "_source_ref", "_row")


def _stamp(moment: datetime) -> str:
    return utc_naive(moment).strftime("%Y%m%dT%H%M%S")


@dataclass
class Batch:
    """One landed batch: all pages of one entity of one source for one interval (or one inbox file)."""

    batch_id: str
    source: str
    entity: str
    window: Window
    path: Path
    loaded_at: datetime
    parts: list[Path] = field(default_factory=list)
    rows: int = 0

    def _next_part(self) -> Path:
        return self.path / f"part-{len(self.parts):05d}.parquet"

    def write_records(self, records: list[dict[str, Any]], source_ref: str) -> Path | None:
        """Land one page of flat records; an empty page lands nothing."""
        if not records:
            return None
        return self.write_table(records_to_table(records), source_ref)

    def write_table(self, table: pa.Table, source_ref: str) -> Path | None:
        """Land an Arrow table, adding the bookkeeping columns."""
        if table.num_rows == 0:
            return None
        n = table.num_rows
        for name in BOOKKEEPING_COLUMNS:
            if name in table.column_names and name != "_source_ref":
                table = table.drop_columns([name])
        extra = {
            "_batch_id": pa.array([self.batch_id] * n, pa.string()),
            "_loaded_at": pa.array([self.loaded_at] * n, pa.timestamp("us")),
            "_source": pa.array([self.source] * n, pa.string()),
            "_row": pa.array(range(self.rows, self.rows + n), pa.int64()),
        }
        if "_source_ref" not in table.column_names:
            extra["_source_ref"] = pa.array([source_ref] * n, pa.string())
        for name, values in extra.items():
            table = table.append_column(name, values)
        target = self._next_part()
        pq.write_table(table, target, compression="zstd")
        self.parts.append(target)
        self.rows += n
        return target

    def write_query(self, con: duckdb.DuckDBPyConnection, sql: str, source_ref: str) -> Path | None:
        """Land the result of a query of an in-memory DuckDB file parser (never the warehouse), streamed to
        Parquet without passing through Python objects.

        The query may provide its own ``_source_ref`` column (e.g. file name and line per row).
        """
        target = self._next_part()
        columns = [d[0] for d in con.execute(f"select * from ({sql}) limit 0").description]
        ref = "" if "_source_ref" in columns else ", $ref as _source_ref"
        params = {"batch": self.batch_id, "loaded": self.loaded_at, "source": self.source, "offset": self.rows}
        if ref:
            params["ref"] = source_ref
        con.execute(
            f"""copy (
                select q.*, $batch as _batch_id, $loaded::timestamp as _loaded_at, $source as _source{ref},
                       $offset + row_number() over () - 1 as _row
                from ({sql}) q
            ) to '{str(target).replace("'", "''")}' (format parquet, compression zstd)""",
            params,
        )
        n = pq.ParquetFile(target).metadata.num_rows
        if n == 0:
            target.unlink()
            return None
        self.parts.append(target)
        self.rows += n
        return target

    @property
    def glob(self) -> str:
        return str(self.path / "part-*.parquet")


@dataclass
class FileShare:
    """One file's part of a batch that several files land into (a source whose files load together).

    Writes go to ``batch``; ``parts``, ``rows`` and ``row_ranges`` (``_row`` start, count) are this file's own, so
    the gate can hold each file to the threshold and a file's rows can be split off into a batch of their own.
    """

    batch: Batch
    parts: list[Path] = field(default_factory=list)
    row_ranges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def batch_id(self) -> str:
        return self.batch.batch_id

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.row_ranges)

    def write_records(self, records: list[dict[str, Any]], source_ref: str) -> Path | None:
        return self._wrote(self.batch.rows, self.batch.write_records(records, source_ref))

    def write_table(self, table: pa.Table, source_ref: str) -> Path | None:
        return self._wrote(self.batch.rows, self.batch.write_table(table, source_ref))

    def write_query(self, con: duckdb.DuckDBPyConnection, sql: str, source_ref: str) -> Path | None:
        return self._wrote(self.batch.rows, self.batch.write_query(con, sql, source_ref))

    def _wrote(self, first_row: int, part: Path | None) -> Path | None:
        if part is not None:
            self.parts.append(part)
            self.row_ranges.append((first_row, self.batch.rows - first_row))
        return part


class LandingZone:
    """Creates batches under one landing root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def new_batch(self, source: str, entity: str, window: Window, *, loaded_at: datetime | None = None) -> Batch:
        start_date = utc_naive(window.start).date()
        prefix = f"{source}.{entity}.{_stamp(window.start)}_{_stamp(window.end)}"
        entity_dir = self.root / f"source={source}" / f"entity={entity}"
        pattern = re.compile(re.escape(f"batch={prefix}.r") + r"(\d+)$")
        runs = [
            int(m.group(1))
            for d in entity_dir.glob(f"date=*/batch={prefix}.r*")
            if (m := pattern.match(d.name))
        ]
        batch_id = f"{prefix}.r{max(runs, default=0) + 1:03d}"
        path = entity_dir / f"date={start_date.isoformat()}" / f"batch={batch_id}"
        path.mkdir(parents=True, exist_ok=False)  # immutable: never write into an existing batch
        moment = utc_naive(loaded_at or datetime.now(UTC))
        return Batch(batch_id, source, entity, window, path, moment)

    def split_off(self, share: FileShare, window: Window) -> Batch:
        """A new batch holding exactly ``share``'s rows (as landed, in order, with their ``_source_ref``)."""
        import duckdb

        from narrowcast.warehouse import sql_string

        batch = self.new_batch(share.batch.source, share.batch.entity, window)
        if share.parts:
            files = ", ".join(sql_string(p) for p in share.parts)
            restamped = ", ".join(c for c in BOOKKEEPING_COLUMNS if c != "_source_ref")
            con = duckdb.connect()
            try:
                batch.write_query(con, f"select * exclude ({restamped}) from read_parquet([{files}], "
                                       "union_by_name = true) order by _row", share.batch.batch_id)
            finally:
                con.close()
        return batch


def records_to_table(records: Iterable[dict[str, Any]]) -> pa.Table:
    """Flat dicts to Arrow, column by column; a column of mixed types lands as text (the gate types it later)."""
    rows = list(records)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    arrays = {}
    for name in names:
        values = [_normalise(row.get(name)) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays[name] = pa.array([None if v is None else _as_text(v) for v in values], pa.string())
        if pa.types.is_null(arrays[name].type):
            arrays[name] = arrays[name].cast(pa.string())
    return pa.table(arrays)


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_naive(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
