"""The profile snapshot: what the profile read API serves, exported from the marts after each transform.

One Arrow IPC file (``<data dir>/snapshots/profiles.arrow``), one row per customer, sorted by a 64-bit hash of
the customer key: the API memory-maps it and finds a customer with one binary search over the hash column, so
loading a million customers takes milliseconds and the warehouse is never opened while serving (the DuckDB
file stays free for its single writer). Each row holds the profile already rendered as JSON (RFM, segments, top
recommendations), the sources the customer is known to (``customer_identity_links.source``: what an API key may
be restricted to) and the customer's unexpired discount codes, from which the API picks the one active at request
time. A new snapshot is written under a temporary name and renamed over the old one; the API notices the new
file and swaps it in, while requests already running finish on the old mapping.

On DuckDB the export holds the warehouse only while it copies the columns it reads to Parquet beside the snapshot
(~2 s at a million customers); it renders the profiles from those copies after letting the file go. Held for the
whole export (~35 s), it kept the audience syncs that start with it from planning: DuckDB lets no writer in
beside a reader of another process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast import settings
from narrowcast.contracts.sql import quote_ident
from narrowcast.processes import process_gone, this_process

if TYPE_CHECKING:
    from narrowcast.warehouse import Warehouse

SNAPSHOT_FILE = ("snapshots", "profiles.arrow")
# Where dbt builds the marts on the embedded warehouse (docs/data-contracts.md §3).
MARTS_SCHEMA = "main"
SCHEMA = pa.schema([
    ("key_hash", pa.uint64()),
    ("customer_key", pa.string()),
    ("sources", pa.string()),
    ("profile", pa.binary()),
    ("discounts", pa.binary()),
])
_BATCH_ROWS = 100_000


class Rfm(msgspec.Struct):
    """A profile's RFM scores (``customer_rfm``) and the currency its money is in."""

    rfm_segment: Any
    rfm_score: Any
    r_score: Any
    f_score: Any
    m_score: Any
    recency_days: Any
    frequency: Any
    monetary: Any
    avg_order_value: Any
    last_order_at: Any
    currency: str


class Discount(msgspec.Struct):
    """One unexpired discount code of a customer (``activation.discount_codes``)."""

    code: Any
    campaign: Any
    value_type: Any
    value: Any
    currency: Any
    starts_at: Any
    expires_at: Any


class Recommendation(msgspec.Struct):
    """One recommendation of a profile, rendered as a JSON object with these keys in this order (a struct is
    built and encoded several times faster than a dict: a million customers hold ~5 million of them)."""

    rank: int
    sku: str
    product_title: str | None
    category: str | None
    kind: str
    score: float | None


# The columns of customer_rfm a profile holds (its currency is the reporting currency, not a column).
RFM_COLUMNS = tuple(f for f in Rfm.__struct_fields__ if f != "currency")


def snapshot_path(data_dir: Path | None = None) -> Path:
    return (data_dir or settings.data_dir()).joinpath(*SNAPSHOT_FILE)


def key_hash(customer_key: str) -> int:
    """The 64-bit key the snapshot is sorted by (stable across processes and Python versions)."""
    return int.from_bytes(hashlib.blake2b(customer_key.encode(), digest_size=8).digest(), "little")


def utc_text(moment: datetime) -> str:
    """A timestamp as the snapshot spells it (ISO, UTC, ``Z``): such strings sort as the moments they name."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Customer:
    """One customer's row before rendering."""

    customer_key: str
    sources: tuple[str, ...]
    profile: dict[str, Any]
    discounts: list[dict[str, Any]]


# msgspec (Airflow's own JSON library) renders a million profiles several times faster than json.dumps.
# Decimals become strings ("812.40") and dates ISO dates; timestamps reach it as utc_text already (the export
# formats them column by column), because msgspec would write a datetime its own way.
_ENCODER = msgspec.json.Encoder(decimal_format="string")


def _render(value: Any) -> bytes:
    return _ENCODER.encode(value)


def write_snapshot(customers: Iterator[Customer] | list[Customer], path: Path) -> int:
    """Write the snapshot of ``customers`` to ``path`` atomically; returns the number of customers."""
    keys, sources, profiles, discounts = [], [], [], []
    for customer in customers:
        keys.append(customer.customer_key)
        sources.append("," + ",".join(customer.sources) + ",")
        profiles.append(_render({"customer_key": customer.customer_key, **customer.profile}))
        discounts.append(_render(customer.discounts) if customer.discounts else None)
    return write_columns(keys, sources, profiles, discounts, path)


def write_columns(keys: list[str], sources: list[str], profiles: list[bytes], discounts: list[bytes | None],
                  path: Path) -> int:
    """Write already-rendered columns (the benchmark builds a million rows this way without the marts)."""
    hashes = np.fromiter((key_hash(k) for k in keys), dtype=np.uint64, count=len(keys))
    order = np.argsort(hashes, kind="stable")
    table = pa.table([pa.array(hashes[order]), pa.array(keys, pa.string()).take(order),
                      pa.array(sources, pa.string()).take(order), pa.array(profiles, pa.binary()).take(order),
                      pa.array(discounts, pa.binary()).take(order)], schema=SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
            # One record batch, so every column is one contiguous, memory-mappable array.
            writer.write_table(table.combine_chunks(), max_chunksize=max(len(keys), 1))
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return len(keys)


def export_profile_snapshot(wh: Warehouse, path: Path | None = None, *, reporting_currency: str = "EUR",
                            marts_schema: str = MARTS_SCHEMA, now: datetime | None = None) -> int:
    """Export every customer of ``customer_rfm``, ``customer_segments`` and ``customer_recommendations`` (with
    their sources and unexpired codes of ``activation.discount_codes``, a missing table meaning none)."""
    now = now or datetime.now(UTC)
    # customer key → [rfm, segments, recommendations, sources, discounts]
    customers: dict[str, list[Any]] = {}

    def customer(key: str) -> list[Any]:
        found = customers.get(key)
        if found is None:
            found = customers[key] = [None, [], [], [], []]
        return found

    marts = quote_ident(marts_schema)
    rfm_fields = ", ".join(RFM_COLUMNS)
    for key, rows in _runs(wh, f"select customer_id, {rfm_fields} from {marts}.customer_rfm order by customer_id",
                           lambda *values: Rfm(*values, currency=reporting_currency)):
        customer(key)[0] = rows[-1]
    for key, rows in _runs(wh, f"select customer_id, segment from {marts}.customer_segments "
                               "order by customer_id, segment"):
        customer(key)[1].extend(rows)
    for key, rows in _runs(wh, f"select customer_id, {', '.join(Recommendation.__struct_fields__)} "
                               f"from {marts}.customer_recommendations order by customer_id, rank", Recommendation):
        customer(key)[2].extend(rows)
    if wh.table_exists(marts_schema, "customer_identity_links"):
        for key, rows in _runs(wh, f"select distinct customer_id, source from {marts}.customer_identity_links "
                                   "order by customer_id, source"):
            if key in customers:
                customers[key][3].extend(rows)
    if wh.table_exists("activation", "discount_codes"):
        for key, rows in _runs(wh, f"""
                select customer_key, {', '.join(Discount.__struct_fields__)}
                from activation.discount_codes
                where customer_key is not null and expires_at > ?
                order by customer_key, starts_at desc, code""", Discount,
                               [now.astimezone(UTC).replace(tzinfo=None)]):
            if key in customers:
                customers[key][4].extend(rows)
    keys, sources, profiles, discounts = [], [], [], []
    for key, (rfm_values, segments, recommendations, known_to, codes) in customers.items():
        keys.append(key)
        sources.append("," + ",".join(known_to) + ",")
        profiles.append(_render({"customer_key": key, "rfm": rfm_values, "segments": segments,
                                 "recommendations": recommendations}))
        discounts.append(_render(codes) if codes else None)
    return write_columns(keys, sources, profiles, discounts, path or snapshot_path())


def export_from_warehouse(output: Path | None = None, *, reporting_currency: str = "EUR",
                          now: datetime | None = None) -> int:
    """Open the warehouse read-only and export the snapshot (what a task after the transform calls). It waits for
    another process's hold on the DuckDB file as a writer does (the audience syncs the same marts start beside it).

    On DuckDB the file is held only while the inputs are copied (:func:`staged_inputs`); on PostgreSQL, whose
    readers never keep a writer out, the export reads the marts directly."""
    from narrowcast.warehouse import read_only
    from narrowcast.warehouse.connection import configured_lock_wait

    output = output or snapshot_path()
    with contextlib.ExitStack() as stack:
        with read_only(lock_wait_seconds=configured_lock_wait()) as wh:
            if wh is None:
                raise settings.ConfigError(f"warehouse {settings.paths().warehouse} does not exist: run `make demo` first")
            if settings.warehouse_engine() == "postgres":
                return export_profile_snapshot(wh, output, reporting_currency=reporting_currency, now=now)
            local = stack.enter_context(staged_inputs(wh, output.parent))
        return export_profile_snapshot(local, output, reporting_currency=reporting_currency, now=now)


# A staging folder records the process that made it (``owner.json``), so the copies of an export killed before it
# could remove them (hundreds of MB at a million customers) are removed by the next export on this machine.
_INPUTS_PREFIX = ".profiles-inputs-"
_OWNER_FILE = "owner.json"


def _remove_abandoned_inputs(folder: Path) -> None:
    for staging in folder.glob(f"{_INPUTS_PREFIX}*"):
        try:
            owner = json.loads((staging / _OWNER_FILE).read_text())
            gone = process_gone(owner["host"], owner["pid_scope"], int(owner["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours to judge: one being made, or written by something else
        if gone:
            shutil.rmtree(staging, ignore_errors=True)


def snapshot_inputs(marts_schema: str = MARTS_SCHEMA) -> list[tuple[str, str, tuple[str, ...]]]:
    """The relations :func:`export_profile_snapshot` reads, each ``(schema, table, the columns it reads)``."""
    return [
        (marts_schema, "customer_rfm", ("customer_id", *RFM_COLUMNS)),
        (marts_schema, "customer_segments", ("customer_id", "segment")),
        (marts_schema, "customer_recommendations", ("customer_id", *Recommendation.__struct_fields__)),
        (marts_schema, "customer_identity_links", ("customer_id", "source")),
        ("activation", "discount_codes", ("customer_key", *Discount.__struct_fields__)),
    ]


@contextlib.contextmanager
def staged_inputs(wh: Warehouse, folder: Path, marts_schema: str = MARTS_SCHEMA) -> Iterator[Warehouse]:
    """Copy the columns the export reads out of DuckDB warehouse ``wh`` to Parquet files in a temporary folder
    under ``folder``, then yield an in-memory DuckDB session whose views of the same names read those files:
    ``wh`` may be closed as soon as this is entered. A relation missing from ``wh`` is missing from the copy
    (the optional ones then mean none; a missing mart fails the export, as it fails reading the warehouse).
    The folder is removed on exit."""
    from narrowcast.warehouse import local_duckdb, sql_string

    folder.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_inputs(folder)
    staging = Path(tempfile.mkdtemp(prefix=_INPUTS_PREFIX, dir=folder))
    try:
        (staging / _OWNER_FILE).write_text(json.dumps(this_process()))
        copied: list[tuple[str, str, Path]] = []
        for schema, table, columns in snapshot_inputs(marts_schema):
            if not wh.table_exists(schema, table):
                continue
            file = staging / f"{schema}.{table}.parquet"
            wh.execute(f"copy (select {', '.join(quote_ident(c) for c in columns)} "
                       f"from {quote_ident(schema)}.{quote_ident(table)}) "
                       f"to {sql_string(str(file))} (format parquet, compression uncompressed)")
            copied.append((schema, table, file))
        local = local_duckdb(spill_folder=staging)
        try:
            for schema, table, file in copied:
                local.execute(f"create schema if not exists {quote_ident(schema)}")
                local.execute(f"create view {quote_ident(schema)}.{quote_ident(table)} as "
                              f"select * from read_parquet({sql_string(str(file))})")
            yield local
        finally:
            local.close()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _runs(wh: Warehouse, sql: str, make: Callable[..., Any] | None = None,
          params: list[Any] | None = None) -> Iterator[tuple[str, list[Any]]]:
    """For a query ordered by its first column (a customer key): each run of one key with its rows, each row
    ``make(*other columns)`` (the second column's value when ``make`` is None). Timestamps arrive as
    :func:`utc_text` and decimals as their text, formatted a column at a time by Arrow; rows are made by ``map``
    over the columns and runs found by comparing the key column with itself shifted by one, so the only
    per-row Python is ``make``. A run split by a batch boundary comes as two runs of the same key."""
    for batch in wh.stream(sql, params, _BATCH_ROWS):
        size = batch.num_rows
        if not size:
            continue
        columns = [_plain(column).to_pylist() for column in batch.columns[1:]]
        rows = columns[0] if make is None else list(map(make, *columns))
        keys = batch.column(0)
        changed = pc.not_equal(keys.slice(1), keys.slice(0, size - 1)).fill_null(True)
        starts = [0, *(np.flatnonzero(changed.to_numpy(zero_copy_only=False)) + 1).tolist()]
        stops = [*starts[1:], size]
        run_keys = keys.take(pa.array(starts)).to_pylist()
        for key, start, stop in zip(run_keys, starts, stops, strict=True):
            yield key, rows[start:stop]


def _plain(column: pa.Array) -> pa.Array:
    kind = column.type
    if pa.types.is_timestamp(kind):
        utc = pc.cast(column, pa.timestamp(kind.unit, "UTC")) if kind.tz else column
        whole_seconds = pc.cast(utc, pa.timestamp("s", "UTC" if kind.tz else None), safe=False)
        return pc.strftime(whole_seconds, "%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_decimal(kind):
        return pc.cast(column, pa.string())
    return column


@dataclass(frozen=True)
class Found:
    """A customer found in the snapshot."""

    profile: bytes
    sources: str
    discounts: bytes | None

    def known_to(self, source: str) -> bool:
        return f",{source}," in self.sources


class ProfileSnapshot:
    """A memory-mapped snapshot file, looked up by customer key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loaded_at = time.time()
        # Taken before mapping: a file renamed over this one meanwhile differs, so the next check loads it.
        self.identity = _identity(path)
        self._file = pa.memory_map(str(path), "r")
        table = pa.ipc.open_file(self._file).read_all()
        self.rows = table.num_rows
        self._hashes = _single_chunk(table, "key_hash").to_numpy(zero_copy_only=True) if self.rows else \
            np.empty(0, dtype=np.uint64)
        self._keys = _single_chunk(table, "customer_key")
        self._sources = _single_chunk(table, "sources")
        self._profiles = _single_chunk(table, "profile")
        self._discounts = _single_chunk(table, "discounts")

    def lookup(self, customer_key: str) -> Found | None:
        wanted = np.uint64(key_hash(customer_key))
        index = int(np.searchsorted(self._hashes, wanted))
        # Two keys may share a hash: every row with this hash is compared by its key.
        while index < self.rows and self._hashes[index] == wanted:
            if self._keys[index].as_py() == customer_key:
                discounts = self._discounts[index]
                return Found(self._profiles[index].as_py(), self._sources[index].as_py(),
                             discounts.as_py() if discounts.is_valid else None)
            index += 1
        return None


def _single_chunk(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


class SnapshotHolder:
    """The snapshot being served: checks the file at most every ``check_seconds`` and swaps in a new one.

    The swap is one attribute assignment, so a request sees either the old or the new snapshot, never a mix; the
    old mapping stays valid for a request still using it (the renamed-over file lives on while mapped).
    """

    def __init__(self, path: Path, check_seconds: float = 1.0) -> None:
        self.path = path
        self.check_seconds = check_seconds
        self._snapshot: ProfileSnapshot | None = None
        self._checked = float("-inf")

    def current(self) -> ProfileSnapshot | None:
        now = time.monotonic()
        if now - self._checked >= self.check_seconds:
            self._checked = now
            self.refresh()
        return self._snapshot

    def refresh(self) -> None:
        try:
            identity = _identity(self.path)
        except FileNotFoundError:
            return
        if self._snapshot is None or self._snapshot.identity != identity:
            self._snapshot = ProfileSnapshot(self.path)
