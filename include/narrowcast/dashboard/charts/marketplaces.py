"""The marketplaces section: sales, fees and margin per marketplace in the date range, and the best products.

Reads ``marketplace_sales_daily`` (money in the reporting currency) and ``best_products`` (its own 90 days up to
the as-of date, whatever the range). The channel filter does not apply: a marketplace is its own channel.
"""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, require, resolve_range
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse

BEST_PRODUCTS_SHOWN = 10


def marketplace_economics(wh: Warehouse, filters: Filters) -> Row:
    """Sales, fees and margin per marketplace (``marketplace_sales_daily``) and the top of ``best_products``."""
    require(wh, (MARTS_SCHEMA, "marketplace_sales_daily"))
    filters = resolve_range(wh, filters)
    rows = wh.rows(
        f"""
        select
            marketplace,
            max(reporting_currency) as reporting_currency,
            sum(units) as units,
            sum(returned_units) as returned_units,
            sum(net_revenue_reporting) as net_revenue,
            sum(fee_amount_reporting) as fees,
            sum(margin_reporting) as margin,
            count(*) filter (where margin_reporting is null) as days_without_margin
        from {MARTS_SCHEMA}.marketplace_sales_daily
        where sales_date between ? and ?
        group by marketplace
        order by net_revenue desc nulls last, marketplace
        """,
        [filters.start, filters.end],
    )
    for row in rows:
        row["fee_share"] = ratio(row["fees"], row["net_revenue"])
        row["margin_share"] = ratio(row["margin"], row["net_revenue"])
    best: list[Row] = []
    if wh.table_exists(MARTS_SCHEMA, "best_products"):
        best = wh.rows(
            f"""
            select best_rank, sku, units_90d, margin_90d, on_hand, margin_per_stock_unit, margin_per_ad_spend, score
            from {MARTS_SCHEMA}.best_products
            order by best_rank
            limit ?
            """,
            [BEST_PRODUCTS_SHOWN],
        )
    return {"status": "ok", "filters": filters.as_dict(), "marketplaces": rows, "best_products": best}
