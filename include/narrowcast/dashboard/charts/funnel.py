"""The funnel section: ad interactions → site visits → first purchases per channel (``kpi_funnel``)."""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, channel_clause, require, resolve_range
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse


def funnel(wh: Warehouse, filters: Filters) -> Row:
    """Ad interactions → site visits → first purchases per channel over the months in range (``kpi_funnel``)."""
    require(wh, (MARTS_SCHEMA, "kpi_funnel"))
    filters = resolve_range(wh, filters)
    channel_sql, channel_params = channel_clause(filters)
    rows = wh.rows(
        f"""
        select
            channel,
            sum(ad_interactions) as ad_interactions,
            sum(site_visits) as site_visits,
            sum(first_purchases) as first_purchases
        from {MARTS_SCHEMA}.kpi_funnel
        where month between ? and ?{channel_sql}
        group by channel
        order by sum(site_visits) desc, channel
        """,
        [filters.month_start, filters.month_end, *channel_params],
    )
    for row in rows:
        row["visit_rate"] = ratio(row["site_visits"], row["ad_interactions"])
        row["purchase_rate"] = ratio(row["first_purchases"], row["site_visits"])
        row["overall_rate"] = ratio(row["first_purchases"], row["ad_interactions"])
    return {"status": "ok", "filters": filters.as_dict(), "channels": rows}
