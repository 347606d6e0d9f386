"""The budget section: planned vs actual spend per month and channel (``budget_vs_actual``)."""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, channel_clause, require, resolve_range
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse

# Budget lines whose actual spend is off plan by more than this share are highlighted.
VARIANCE_TOLERANCE = 0.10


def budget_vs_actual(wh: Warehouse, filters: Filters) -> Row:
    """Planned vs actual per month and channel (``budget_vs_actual``), with off-plan lines flagged."""
    require(wh, (MARTS_SCHEMA, "budget_vs_actual"))
    filters = resolve_range(wh, filters)
    channel_sql, channel_params = channel_clause(filters)
    rows = wh.rows(
        f"""
        select
            cast(month as date) as month, channel,
            planned_spend, actual_spend, spend_variance, spend_variance_pct,
            planned_sessions, actual_sessions, planned_orders, actual_orders,
            planned_revenue, actual_revenue, revenue_variance, revenue_variance_pct,
            planned_roas, actual_roas
        from {MARTS_SCHEMA}.budget_vs_actual
        where month between ? and ?{channel_sql}
        order by month, channel
        """,
        [filters.month_start, filters.month_end, *channel_params],
    )
    months: dict[str, Row] = {}
    for row in rows:
        share = ratio((row["actual_spend"] or 0) - (row["planned_spend"] or 0), row["planned_spend"])
        row["spend_off_plan_share"] = share
        if share is None:
            row["flag"] = "unplanned" if row["actual_spend"] else "on_plan"
        elif share > VARIANCE_TOLERANCE:
            row["flag"] = "over"
        elif share < -VARIANCE_TOLERANCE:
            row["flag"] = "under"
        else:
            row["flag"] = "on_plan"
        month = months.setdefault(row["month"], {"month": row["month"], "planned_spend": 0.0, "actual_spend": 0.0})
        month["planned_spend"] += row["planned_spend"] or 0
        month["actual_spend"] += row["actual_spend"] or 0
    for month in months.values():
        month["planned_spend"] = round(month["planned_spend"], 2)
        month["actual_spend"] = round(month["actual_spend"], 2)
    return {
        "status": "ok",
        "filters": filters.as_dict(),
        "tolerance": VARIANCE_TOLERANCE,
        "months": list(months.values()),
        "rows": rows,
    }
