"""The half-open extraction window ``[start, end)`` every source, the landing zone and the loader share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


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
