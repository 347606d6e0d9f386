"""World tables for the source emulators: read once, sorted, paged by key with bisect (no scan per request).

Shared by the Shopify, Meta, Google Ads, eBay and Amazon source emulators; holds no ``EMULATOR``.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


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
