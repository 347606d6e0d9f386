"""The KPI trend section: ROAS, ROI and CAC per channel and time bucket (``kpi_channel_daily``)."""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, channel_clause, require, resolve_range
from narrowcast.dashboard.charts.ratios import add_ratios
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse


def kpi_trend(wh: Warehouse, filters: Filters) -> Row:
    """ROAS, ROI and CAC per channel and time bucket, plus totals over the range (``kpi_channel_daily``).

    ROAS = revenue / spend, ROI = (gross margin - spend) / spend, CAC = spend / new customers; each is
    ``None`` where its denominator is zero (organic channels have no spend).
    """
    require(wh, (MARTS_SCHEMA, "kpi_channel_daily"))
    filters = resolve_range(wh, filters)
    grain = filters.grain  # whitelisted by Filters.grain, safe to format into SQL
    channel_sql, channel_params = channel_clause(filters)
    where = f"date_day between ? and ?{channel_sql}"
    params = [filters.start, filters.end, *channel_params]
    series = wh.rows(
        f"""
        select
            cast(date_trunc('{grain}', date_day) as date) as period,
            channel,
            sum(spend) as spend,
            sum(revenue) as revenue,
            sum(gross_margin) as gross_margin,
            sum(new_customers) as new_customers,
            sum(orders) as orders,
            sum(sessions) as sessions
        from {MARTS_SCHEMA}.kpi_channel_daily
        where {where}
        group by 1, 2
        order by period, channel
        """,
        params,
    )
    # Totals: volumes over every channel; ROAS/ROI/CAC over the paid channels only (those with spend in
    # range), so organic revenue does not inflate the return on ad spend.
    totals = wh.rows(
        f"""
        with in_range as (
            select * from {MARTS_SCHEMA}.kpi_channel_daily where {where}
        ),
        paid as (
            select channel from in_range group by channel having sum(spend) > 0
        )
        select
            coalesce(sum(spend), 0) as spend,
            coalesce(sum(revenue), 0) as revenue,
            coalesce(sum(gross_margin), 0) as gross_margin,
            coalesce(sum(new_customers), 0) as new_customers,
            coalesce(sum(orders), 0) as orders,
            coalesce(sum(sessions), 0) as sessions,
            coalesce(sum(revenue) filter (where channel in (select channel from paid)), 0) as paid_revenue,
            coalesce(sum(gross_margin) filter (where channel in (select channel from paid)), 0) as paid_gross_margin,
            coalesce(sum(new_customers) filter (where channel in (select channel from paid)), 0) as paid_new_customers
        from in_range
        """,
        params,
    )[0]
    for row in series:
        add_ratios(row, row["revenue"], row["gross_margin"], row["new_customers"])
    add_ratios(totals, totals.pop("paid_revenue"), totals.pop("paid_gross_margin"), totals.pop("paid_new_customers"))
    return {"status": "ok", "grain": grain, "filters": filters.as_dict(), "series": series, "totals": totals}
