"""World tables for the source emulators: read once, sorted, paged by key with bisect (no scan per request).

Shared by the Shopify, Meta, Google Ads, eBay and Amazon source emulators; holds no ``EMULATOR``.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def read_world_arrow(world_dir: Path | None, name: str, columns: list[str] | None = None) -> pa.Table | None:
    """``world_dir/{name}.parquet`` as an Arrow table (columnar: a few bytes a value, not a dict a row); None
    when there is no such file."""
    if world_dir is None:
        return None
    path = Path(world_dir) / f"{name}.parquet"
    return pq.read_table(path, columns=columns) if path.is_file() else None


def epoch_seconds_us(column: pa.ChunkedArray) -> np.ndarray:
    """A naive-UTC timestamp column as epoch microseconds floored to the second (what a second-precision ISO
    timestamp like ``2026-08-01T10:00:00Z`` sorts by); nulls sort first."""
    micros = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64()).fill_null(0).to_numpy()
    return micros - micros % 1_000_000


def group_offsets(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``keys`` sorted ascending, the ``[start, stop)`` of each wanted key's run (empty when absent)."""
    return np.searchsorted(keys, wanted, side="left"), np.searchsorted(keys, wanted, side="right")


def take_ranges(table: pa.Table, starts: np.ndarray, stops: np.ndarray) -> list[list[dict[str, Any]]]:
    """The rows ``table[start:stop]`` for each range, as plain Python values, with one ``take`` for them all."""
    lengths = stops - starts
    if not lengths.sum():
        return [[] for _ in starts]
    positions = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True) if b > a])
    rows = table.take(pa.array(positions)).to_pylist()
    out, at = [], 0
    for n in lengths.tolist():
        out.append(rows[at:at + n])
        at += n
    return out


def read_world_table(world_dir: Path | None, name: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of ``world_dir/{name}.parquet`` as plain Python values; no file (or no world) gives no rows.

    ``columns`` reads only those columns (all when None).
    """
    if world_dir is None:
        return []
    path = Path(world_dir) / f"{name}.parquet"
    if not path.is_file():
        return []
    return pq.read_table(path, columns=columns).to_pylist()


def money_text(value: Any) -> str:
    """Money the way the APIs send it: a string with two decimals."""
    return f"{Decimal(str(value)):.2f}"


def epoch_us(moment: datetime) -> int:
    """Naive-UTC (or aware) datetime as integer microseconds, the sort key of every index."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def iso_z(moment: datetime | None, *, millis: bool = False) -> str | None:
    if moment is None:
        return None
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class KeyIndex:
    """Items sorted by ``(sort_value, id)``; range lookups are two bisects, pages are slices.

    ``sort_value`` is an int (epoch µs or a day ordinal); ``payloads`` hold whatever the emulator serves
    (pre-rendered JSON text, dicts).
    """

    def __init__(self, entries: Sequence[tuple[int, Any, Any]]) -> None:
        ordered = sorted(entries, key=lambda e: (e[0], e[1]))
        self.keys: list[tuple[int, Any]] = [(e[0], e[1]) for e in ordered]
        self.sort_values: list[int] = [e[0] for e in ordered]
        self.payloads: list[Any] = [e[2] for e in ordered]

    def __len__(self) -> int:
        return len(self.keys)

    def bounds(self, low: int | None, high: int | None, *, high_inclusive: bool = True) -> tuple[int, int]:
        """Index range of items with ``low <= sort_value <= high`` (or ``< high``); ``None`` = unbounded."""
        lo = 0 if low is None else bisect_left(self.sort_values, low)
        if high is None:
            hi = len(self.keys)
        else:
            hi = bisect_right(self.sort_values, high) if high_inclusive else bisect_left(self.sort_values, high)
        return lo, max(lo, hi)

    def after(self, key: tuple[int, Any]) -> int:
        """Index of the first item strictly after ``key`` (keyset pagination)."""
        return bisect_right(self.keys, (key[0], key[1]))


def encode_cursor(state: dict[str, Any]) -> str:
    """An opaque cursor carrying the query and the position (like the real APIs' tokens)."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> dict[str, Any]:
    """The state inside a cursor; ``ValueError`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid cursor {token[:40]!r}") from exc
    if not isinstance(state, dict):
        raise ValueError(f"invalid cursor {token[:40]!r}")
    return state


def json_array(blobs: Sequence[str]) -> str:
    """Pre-rendered JSON objects joined into an array (no re-serialisation per request)."""
    return "[" + ",".join(blobs) + "]"


class ColumnIndex:
    """:class:`KeyIndex` for large world tables: sort values and integer ids are numpy arrays, and a payload is
    built only when a page (or a bulk query's chunk) asks for it, from its row's position in the world table.

    A million customers held as built objects are ~10 GB of Python dicts; here they are the Arrow table and
    three int64 arrays. ``build(rows)`` turns an array of row positions into payloads, in that order.
    """

    def __init__(self, sort_values: np.ndarray, ids: np.ndarray,
                 build: Callable[[np.ndarray], list[Any]]) -> None:
        order = np.lexsort((ids, sort_values))
        self.sort_values = np.ascontiguousarray(sort_values[order], dtype=np.int64)
        self.ids = np.ascontiguousarray(ids[order], dtype=np.int64)
        self._rows = order
        self._build = build

    def __len__(self) -> int:
        return len(self.ids)

    def bounds(self, low: int | None, high: int | None, *, high_inclusive: bool = True) -> tuple[int, int]:
        """Index range of items with ``low <= sort_value <= high`` (or ``< high``); ``None`` = unbounded."""
        lo = 0 if low is None else int(np.searchsorted(self.sort_values, low, side="left"))
        if high is None:
            hi = len(self)
        else:
            hi = int(np.searchsorted(self.sort_values, high, side="right" if high_inclusive else "left"))
        return lo, max(lo, hi)

    def after(self, key: tuple[int, int]) -> int:
        """Index of the first item strictly after ``key`` = (sort value, id) (keyset pagination)."""
        lo = int(np.searchsorted(self.sort_values, key[0], side="left"))
        hi = int(np.searchsorted(self.sort_values, key[0], side="right"))
        return lo + int(np.searchsorted(self.ids[lo:hi], key[1], side="right"))

    def key(self, position: int) -> tuple[int, int]:
        return int(self.sort_values[position]), int(self.ids[position])

    def payloads(self, start: int, stop: int) -> list[Any]:
        return self._build(self._rows[start:stop]) if stop > start else []

    def iter_payloads(self, start: int, stop: int, chunk: int = 2_000) -> Iterator[Any]:
        """The payloads of ``[start, stop)`` built ``chunk`` at a time (a bulk query over a whole table)."""
        for at in range(start, stop, chunk):
            yield from self.payloads(at, min(stop, at + chunk))
