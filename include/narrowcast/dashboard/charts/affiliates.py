"""The Affiliates and referrals section: what each affiliate partner and referring customer brought in the date
range and what they cost.

Reads ``affiliate_performance`` (money in the reporting currency). The channel filter does not apply: a referral
code typed at checkout credits its referrer whatever channel the order came through.
"""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, require, resolve_range
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse


def affiliate_referrals(wh: Warehouse, filters: Filters) -> Row:
    """Per partner (affiliate partner or referring customer): sessions, orders, new customers, revenue,
    commission and ROAS over the range, plus totals per partner type (``affiliate_performance``)."""
    require(wh, (MARTS_SCHEMA, "affiliate_performance"))
    filters = resolve_range(wh, filters)
    partners = wh.rows(
        f"""
        select
            partner_type,
            partner_id,
            max(currency) as currency,
            sum(sessions) as sessions,
            sum(orders) as orders,
            sum(new_customers) as new_customers,
            sum(revenue) as revenue,
            sum(commission) as commission
        from {MARTS_SCHEMA}.affiliate_performance
        where date_day between ? and ?
        group by partner_type, partner_id
        order by revenue desc nulls last, partner_type, partner_id
        """,
        [filters.start, filters.end],
    )
    totals: dict[str, Row] = {}
    for row in partners:
        row["roas"] = ratio(row["revenue"], row["commission"])
        row["conversion_rate"] = ratio(row["orders"], row["sessions"])
        total = totals.setdefault(row["partner_type"], {"partner_type": row["partner_type"], "partners": 0,
                                                        "sessions": 0, "orders": 0, "new_customers": 0,
                                                        "revenue": 0, "commission": 0})
        total["partners"] += 1
        for column in ("sessions", "orders", "new_customers", "revenue", "commission"):
            total[column] += row[column] or 0
    for total in totals.values():
        total["roas"] = ratio(total["revenue"], total["commission"])
    return {"status": "ok", "filters": filters.as_dict(), "partners": partners,
            "by_type": sorted(totals.values(), key=lambda t: t["partner_type"])}
