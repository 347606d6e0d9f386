"""The profile snapshot: what the profile read API serves, exported from the marts after each transform.

One Arrow IPC file (``<data dir>/snapshots/profiles.arrow``), one row per customer, sorted by a 64-bit hash of
the customer key: the API memory-maps it and finds a customer with one binary search over the hash column, so
loading a million customers takes milliseconds and the warehouse is never opened while serving (the DuckDB
file stays free for its single writer). Each row holds the profile already rendered as JSON (RFM, segments, top
recommendations), the sources the customer is known to (``customer_identity_links.source``: what an API key may
be restricted to) and the customer's unexpired discount codes, from which the API picks the one active at request
time. A new snapshot is written under a temporary name and renamed over the old one; the API notices the new
file and swaps it in, while requests already running finish on the old mapping.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from narrowcast import settings
from narrowcast.contracts.sql import quote_ident

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


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _render(value: Any) -> bytes:
    return json.dumps(value, default=_json_value, separators=(",", ":")).encode()


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
    customers: dict[str, dict[str, Any]] = {}

    def customer(key: str) -> dict[str, Any]:
        found = customers.get(key)
        if found is None:
            found = customers[key] = {"rfm": None, "segments": [], "recommendations": [], "sources": [],
                                      "discounts": []}
        return found

    marts = quote_ident(marts_schema)
    for row in _rows(wh, f"""
            select customer_id, rfm_segment, rfm_score, r_score, f_score, m_score, recency_days, frequency,
                   monetary, avg_order_value, last_order_at
            from {marts}.customer_rfm"""):
        key = row.pop("customer_id")
        customer(key)["rfm"] = {**row, "currency": reporting_currency}
    for row in _rows(wh, f"select customer_id, segment from {marts}.customer_segments order by customer_id, segment"):
        customer(row["customer_id"])["segments"].append(row["segment"])
    for row in _rows(wh, f"""
            select customer_id, rank, sku, product_title, category, kind, score
            from {marts}.customer_recommendations order by customer_id, rank"""):
        customer(row.pop("customer_id"))["recommendations"].append(row)
    if wh.table_exists(marts_schema, "customer_identity_links"):
        for row in _rows(wh, f"""
                select distinct customer_id, source from {marts}.customer_identity_links
                order by customer_id, source"""):
            if row["customer_id"] in customers:
                customers[row["customer_id"]]["sources"].append(row["source"])
    if wh.table_exists("activation", "discount_codes"):
        for row in _rows(wh, """
                select customer_key, code, campaign, value_type, value, currency, starts_at, expires_at
                from activation.discount_codes
                where customer_key is not null and expires_at > ?
                order by customer_key, starts_at desc, code""", [now.astimezone(UTC).replace(tzinfo=None)]):
            if row["customer_key"] in customers:
                customers[row.pop("customer_key")]["discounts"].append(row)
    return write_snapshot((_customer(key, parts) for key, parts in customers.items()), path or snapshot_path())


def export_from_warehouse(output: Path | None = None, *, reporting_currency: str = "EUR") -> int:
    """Open the warehouse read-only and export the snapshot (what a task after the transform calls)."""
    from narrowcast.warehouse import read_only

    with read_only() as wh:
        if wh is None:
            raise settings.ConfigError(f"warehouse {settings.paths().warehouse} does not exist: run `make demo` first")
        return export_profile_snapshot(wh, output, reporting_currency=reporting_currency)


def _customer(key: str, parts: dict[str, Any]) -> Customer:
    sources, discounts = parts.pop("sources"), parts.pop("discounts")
    return Customer(key, tuple(sources), parts, discounts)


def _rows(wh: Warehouse, sql: str, params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
    for batch in wh.stream(sql, params, _BATCH_ROWS):
        yield from batch.to_pylist()


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
