"""The customer sections: RFM segments (``customer_rfm``) and top recommendations (``customer_recommendations``)."""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, require
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse

TOP_RECOMMENDATIONS = 10


def rfm_segments(wh: Warehouse, filters: Filters) -> Row:
    """Customers and value per RFM segment (``customer_rfm``, a snapshot: date and channel filters don't apply)."""
    require(wh, (MARTS_SCHEMA, "customer_rfm"))
    rows = wh.rows(
        f"""
        select
            rfm_segment as segment,
            count(*) as customers,
            sum(monetary) as monetary,
            avg(monetary) as avg_monetary,
            avg(frequency) as avg_frequency,
            avg(recency_days) as avg_recency_days
        from {MARTS_SCHEMA}.customer_rfm
        group by rfm_segment
        order by customers desc, segment
        """,
    )
    total_customers = sum(row["customers"] for row in rows)
    total_value = sum(row["monetary"] or 0 for row in rows)
    for row in rows:
        row["customer_share"] = ratio(row["customers"], total_customers)
        row["value_share"] = ratio(row["monetary"], total_value)
        for key in ("monetary", "avg_monetary", "avg_frequency", "avg_recency_days"):
            row[key] = None if row[key] is None else round(row[key], 2)
    return {"status": "ok", "segments": rows, "customers": total_customers, "monetary": round(total_value, 2)}


def top_recommendations(wh: Warehouse, filters: Filters, limit: int = TOP_RECOMMENDATIONS) -> Row:
    """The products recommended to the most customers, per kind (``customer_recommendations``)."""
    require(wh, (MARTS_SCHEMA, "customer_recommendations"))
    rows = wh.rows(
        f"""
        select
            sku,
            min(product_title) as product_title,
            min(category) as category,
            kind,
            count(distinct customer_id) as customers,
            avg(score) as avg_lift,
            avg(confidence) as avg_confidence,
            avg(support) as avg_support
        from {MARTS_SCHEMA}.customer_recommendations
        group by sku, kind
        order by customers desc, avg_lift desc, sku
        limit ?
        """,
        [limit],
    )
    for row in rows:
        for key in ("avg_lift", "avg_confidence", "avg_support"):
            row[key] = None if row[key] is None else round(row[key], 4)
    kinds = wh.rows(
        f"""
        select kind, count(*) as recommendations, count(distinct customer_id) as customers
        from {MARTS_SCHEMA}.customer_recommendations group by kind order by kind
        """,
    )
    return {"status": "ok", "products": rows, "kinds": kinds}
