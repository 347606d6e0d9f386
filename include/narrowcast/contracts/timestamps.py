"""Timestamps and dates as the warehouse stores them: naive ``datetime`` in UTC, parsed with errors that say where."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def utc_naive(moment: datetime) -> datetime:
    """UTC without tzinfo, the warehouse convention; naive input is taken as UTC already."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def parse_timestamp(value: Any, *, where: str = "value") -> datetime | None:
    """An API timestamp (ISO 8601 with ``Z`` or an offset) as naive UTC; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return utc_naive(value)
    try:
        return utc_naive(datetime.fromisoformat(str(value)))
    except ValueError as exc:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 timestamp") from exc


def parse_day(value: Any, *, where: str = "value") -> date:
    """An API date (``YYYY-MM-DD``) as ``date``."""
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD date") from exc
