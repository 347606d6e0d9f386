"""The Discount codes section: what each campaign's codes did in the date range, unique and shared codes apart.

Reads ``discount_redemptions`` (money in the reporting currency). The channel filter does not apply: a code is
tied to a campaign, not to the channel an order came through.
"""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, require, resolve_range
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse


def discount_codes(wh: Warehouse, filters: Filters) -> Row:
    """Per campaign and code kind: codes issued and the share redeemed, recovered orders and revenue
    (``discount_redemptions``)."""
    require(wh, (MARTS_SCHEMA, "discount_redemptions"))
    filters = resolve_range(wh, filters)
    rows = wh.rows(
        f"""
        select
            campaign,
            code_kind,
            max(reporting_currency) as reporting_currency,
            sum(codes_issued) as codes_issued,
            sum(issued_codes_redeemed) as issued_codes_redeemed,
            sum(recovered_orders) as recovered_orders,
            sum(recovered_revenue_reporting) as recovered_revenue,
            sum(orders_without_fx_rate) as orders_without_fx_rate
        from {MARTS_SCHEMA}.discount_redemptions
        where activity_date between ? and ?
        group by campaign, code_kind
        order by recovered_revenue desc nulls last, campaign, code_kind
        """,
        [filters.start, filters.end],
    )
    # codes_redeemed is left out: a code used on several days would be counted once per day in a sum.
    for row in rows:
        # Only unique codes have an issue cohort; a shared code is never "issued" to anyone.
        row["redemption_rate"] = ratio(row["issued_codes_redeemed"], row["codes_issued"])
    return {"status": "ok", "filters": filters.as_dict(), "campaigns": rows}
