"""The Leads vs remarketing section: per campaign type (prospecting, remarketing, brand, unclassified), what the
spend bought in the date range: leads and cost per lead, new-customer and returning-customer ROAS, cost per
upsell.

Reads ``kpi_campaign_type_daily`` (money in the reporting currency) and, when built, ``leads_daily`` for leads per
channel. Ratios are recomputed from the range's sums, never averaged over days.
"""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, channel_clause, require, resolve_range
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse


def leads_vs_remarketing(wh: Warehouse, filters: Filters) -> Row:
    """Per campaign type: spend, leads, orders of new and returning customers, and the ratios of their sums."""
    require(wh, (MARTS_SCHEMA, "kpi_campaign_type_daily"))
    filters = resolve_range(wh, filters)
    channel_sql, channel_params = channel_clause(filters)
    types = wh.rows(
        f"""
        select
            campaign_type,
            bool_or(is_unclassified) as is_unclassified,
            bool_or(is_remarketing) as is_remarketing,
            max(currency) as currency,
            sum(spend) as spend,
            sum(leads) as leads,
            sum(sign_ups) as sign_ups,
            sum(generated_leads) as generated_leads,
            sum(newsletter_signups) as newsletter_signups,
            sum(orders) as orders,
            sum(new_customer_orders) as new_customer_orders,
            sum(returning_customer_orders) as returning_customer_orders,
            sum(new_customer_revenue) as new_customer_revenue,
            sum(returning_customer_revenue) as returning_customer_revenue
        from {MARTS_SCHEMA}.kpi_campaign_type_daily
        where date_day between ? and ?{channel_sql}
        group by campaign_type
        order by spend desc nulls last, campaign_type
        """,
        [filters.start, filters.end, *channel_params],
    )
    for row in types:
        row["cpl"] = ratio(row["spend"], row["leads"])
        row["new_customer_roas"] = ratio(row["new_customer_revenue"], row["spend"])
        row["returning_customer_roas"] = ratio(row["returning_customer_revenue"], row["spend"])
        row["cost_per_upsell"] = ratio(row["spend"], row["returning_customer_orders"]) \
            if row["is_remarketing"] else None
    by_channel: list[Row] = []
    if wh.table_exists(MARTS_SCHEMA, "leads_daily"):
        by_channel = wh.rows(
            f"""
            select channel, lead_type, sum(leads) as leads
            from {MARTS_SCHEMA}.leads_daily
            where date_day between ? and ?{channel_sql}
            group by channel, lead_type
            order by leads desc, channel, lead_type
            """,
            [filters.start, filters.end, *channel_params],
        )
    unclassified = sum(float(r["spend"] or 0) for r in types if r["is_unclassified"])
    return {"status": "ok", "filters": filters.as_dict(), "campaign_types": types,
            "unclassified_spend": round(unclassified, 2), "leads_by_channel": by_channel}
