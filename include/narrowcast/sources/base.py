"""Shared types of every source: the half-open extraction window and the pages a source yields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from narrowcast.connections import Connection


@dataclass(frozen=True)
class Window:
    """A half-open interval ``[start, end)`` taken from the Airflow data interval.

    Both ends are naive ``datetime`` values in UTC (the warehouse stores naive UTC timestamps); an aware
    value is converted to naive UTC on construction.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is not None:
                object.__setattr__(self, name, value.astimezone(UTC).replace(tzinfo=None))
        if self.end <= self.start:
            raise ValueError(f"window end {self.end.isoformat()} must be after start {self.start.isoformat()}")

    def widened(self, lookback: timedelta) -> Window:
        """The same window re-reading ``lookback`` before its start (late events, ad-cost restatements)."""
        return Window(self.start - lookback, self.end)

    def contains(self, moment: datetime) -> bool:
        """Whether a naive-UTC ``moment`` falls in ``[start, end)``."""
        return self.start <= moment < self.end

    def days(self) -> tuple[date, date]:
        """First and last calendar day (UTC, inclusive) that the window touches, for daily-stats APIs."""
        end = self.end
        last = end.date() if end.time() != datetime.min.time() else end.date() - timedelta(days=1)
        return self.start.date(), max(last, self.start.date())


@dataclass
class Page:
    """One unit of extracted data: flat records for one raw table, and where they came from."""

    entity: str  # raw table name without schema, e.g. "shop_orders"
    records: list[dict[str, Any]]
    source_ref: str  # e.g. "GET /admin/api/2024-10/orders.json page 3" or "events_20240101.ndjson"
    meta: dict[str, Any] = field(default_factory=dict)


def to_utc_naive(moment: datetime) -> datetime:
    """A datetime converted to UTC and stripped of its zone (the contracts' "naive, UTC by convention")."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_timestamp(value: Any, *, where: str = "value") -> datetime | None:
    """An API timestamp (ISO 8601 with ``Z`` or an offset) as naive UTC; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_utc_naive(value)
    try:
        return to_utc_naive(datetime.fromisoformat(str(value)))
    except ValueError as exc:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 timestamp") from exc


def parse_day(value: Any, *, where: str = "value") -> date:
    """An API date (``YYYY-MM-DD``) as ``date``."""
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD date") from exc


class Extractor(Protocol):
    """What every source module exposes as ``extract``."""

    def __call__(self, conn: Connection, window: Window) -> Iterator[Page]: ...
