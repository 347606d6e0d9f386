"""Shared types of every source: the half-open extraction window and the pages a source yields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from narrowcast.connections import Connection


@dataclass(frozen=True)
class Window:
    """A half-open interval ``[start, end)`` in UTC, taken from the Airflow data interval."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end.isoformat()} must be after start {self.start.isoformat()}")

    def widened(self, lookback: timedelta) -> Window:
        """The same window re-reading ``lookback`` before its start (late events, ad-cost restatements)."""
        return Window(self.start - lookback, self.end)


@dataclass
class Page:
    """One unit of extracted data: flat records for one raw table, and where they came from."""

    entity: str  # raw table name without schema, e.g. "shop_orders"
    records: list[dict[str, Any]]
    source_ref: str  # e.g. "GET /admin/api/2024-10/orders.json page 3" or "events_20240101.ndjson"
    meta: dict[str, Any] = field(default_factory=dict)


class Extractor(Protocol):
    """What every source module exposes as ``extract``."""

    def __call__(self, conn: Connection, window: Window) -> Iterator[Page]: ...
