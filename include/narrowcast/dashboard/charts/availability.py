"""Which tables the dashboard reads, whether they hold data, and the date range a chart shows by default."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from narrowcast import settings
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse

MARTS_SCHEMA = settings.marts_schema()  # where dbt builds the marts (docs/data-contracts.md §3)
ACTIVATION_SCHEMA = "activation"
NO_DATA_MESSAGE = "No data yet: run the pipeline (make demo)"
DEFAULT_RANGE_DAYS = 90
MARTS = (
    "kpi_channel_daily",
    "budget_vs_actual",
    "kpi_funnel",
    "customer_rfm",
    "customer_recommendations",
    "marketplace_listing_feed",
)

Row = dict[str, Any]


class NoData(Exception):
    """The tables a chart needs are missing or empty; the dashboard shows an empty state, not an error."""

    def __init__(self, missing: Sequence[str], message: str = NO_DATA_MESSAGE) -> None:
        self.missing = list(missing)
        self.message = message
        super().__init__(f"{message} (missing or empty: {', '.join(self.missing)})")


def require(wh: Warehouse, *tables: tuple[str, str]) -> None:
    """Raise :class:`NoData` unless every (schema, table) exists and has at least one row."""
    missing = []
    for schema, table in tables:
        if not wh.table_exists(schema, table):
            missing.append(f"{schema}.{table}")
            continue
        if wh.fetchone(f'select 1 from "{schema}"."{table}" limit 1') is None:
            missing.append(f"{schema}.{table}")
    if missing:
        raise NoData(missing)


def channel_clause(filters: Filters, column: str = "channel") -> tuple[str, list[Any]]:
    """An ``and <column> = ?`` condition and its parameter, or nothing when no channel is picked."""
    if filters.channel is None:
        return "", []
    return f" and {column} = ?", [filters.channel]


def data_range(wh: Warehouse) -> tuple[dt.date, dt.date] | None:
    """First and last ``date_day`` in ``kpi_channel_daily``, or ``None`` when there is none."""
    if not wh.table_exists(MARTS_SCHEMA, "kpi_channel_daily"):
        return None
    found = wh.fetchone(f"select min(date_day), max(date_day) from {MARTS_SCHEMA}.kpi_channel_daily")
    if not found or found[0] is None:
        return None
    return found[0], found[1]


def resolve_range(wh: Warehouse, filters: Filters) -> Filters:
    """Fill an open start/end: the end defaults to the last day with data, the start to 90 days before it."""
    if filters.start and filters.end:
        return filters
    bounds = data_range(wh)
    end = filters.end or (bounds[1] if bounds else dt.date.today())
    default_start = end - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if bounds and bounds[0] <= end:
        default_start = max(default_start, bounds[0])
    start = filters.start or default_start
    if start > end:  # only an explicit start after the data's last day: show from that start on
        end = start
    return filters.with_range(start, end)


def fx_conversion_gaps(wh: Warehouse) -> list[Row]:
    """Values the money totals leave out because their currency had no exchange rate (``fx_conversion_gaps``)."""
    if not wh.table_exists(MARTS_SCHEMA, "fx_conversion_gaps"):
        return []
    return wh.rows(
        f"""select model_name, measure, currency, reporting_currency, first_date, last_date, row_count, amount
            from {MARTS_SCHEMA}.fx_conversion_gaps order by model_name, measure, currency"""
    )


def overview(wh: Warehouse) -> Row:
    """Which marts hold data, the date range the KPI mart covers (drives the filter inputs) and the values left out
    of money totals for want of an exchange rate."""
    present = {name: wh.table_exists(MARTS_SCHEMA, name) for name in MARTS}
    bounds = data_range(wh)
    return {
        "status": "ok" if any(present.values()) else "empty",
        "message": None if any(present.values()) else NO_DATA_MESSAGE,
        "marts": present,
        "missing": [f"{MARTS_SCHEMA}.{name}" for name, found in present.items() if not found],
        "data_start": bounds[0].isoformat() if bounds else None,
        "data_end": bounds[1].isoformat() if bounds else None,
        "fx_gaps": fx_conversion_gaps(wh),
    }
