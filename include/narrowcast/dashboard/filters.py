"""The dashboard's filters (date range, channel): parsed from query strings and validated.

A bad filter raises :class:`FilterError` with a message naming the parameter and the bad value; the web
layer turns it into HTTP 400.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The ``channel`` vocabulary of the data contracts (docs/data-contracts.md §1).
CHANNELS: tuple[str, ...] = (
    "paid_social",
    "paid_search",
    "organic_search",
    "email",
    "direct",
    "referral",
    "affiliate",
    "marketplace",
)

# Beyond this a chart has too many points to read and the query stops being cheap.
MAX_RANGE_DAYS = 3 * 366


class FilterError(ValueError):
    """A query-string filter is wrong; the message says which parameter and why."""


@dataclass(frozen=True)
class Filters:
    """An inclusive date range (either end may be open) and an optional channel."""

    start: dt.date | None = None
    end: dt.date | None = None
    channel: str | None = None

    @property
    def grain(self) -> str:
        """Time bucket for trend charts: days for short ranges, weeks for a year, months beyond."""
        if self.start is None or self.end is None:
            return "week"
        days = (self.end - self.start).days + 1
        if days <= 62:
            return "day"
        if days <= 366:
            return "week"
        return "month"

    @property
    def month_start(self) -> dt.date | None:
        """First day of the start's month: monthly marts are filtered by whole months."""
        return self.start.replace(day=1) if self.start else None

    @property
    def month_end(self) -> dt.date | None:
        return self.end.replace(day=1) if self.end else None

    def with_range(self, start: dt.date, end: dt.date) -> Filters:
        return Filters(start=start, end=end, channel=self.channel)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "channel": self.channel,
        }


def _parse_date(name: str, raw: str | None) -> dt.date | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise FilterError(f"{name}={raw!r} is not a date: use YYYY-MM-DD, e.g. {name}=2026-01-31") from None


def parse_filters(start: str | None = None, end: str | None = None, channel: str | None = None) -> Filters:
    """Filters from raw query-string values; empty values and ``channel=all`` mean "no filter"."""
    start_date = _parse_date("start", start)
    end_date = _parse_date("end", end)
    if start_date and end_date:
        if start_date > end_date:
            raise FilterError(f"start={start_date} is after end={end_date}: the start must come first")
        if (end_date - start_date).days + 1 > MAX_RANGE_DAYS:
            raise FilterError(
                f"the range {start_date}..{end_date} spans more than {MAX_RANGE_DAYS} days: pick a shorter range"
            )
    clean_channel = (channel or "").strip()
    if clean_channel in ("", "all"):
        clean_channel = None
    elif clean_channel not in CHANNELS:
        raise FilterError(f"channel={channel!r} is not a known channel; use one of: {', '.join(CHANNELS)}")
    return Filters(start=start_date, end=end_date, channel=clean_channel)
