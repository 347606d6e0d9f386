"""The uplift section: what each audience sync earned over its held-out group, with 95% intervals.

Reads ``audience_uplift`` (one row per sync, audience and entry month; money in the reporting currency). The date
range picks the entry months that overlap it; the channel filter does not apply (a sync is its own channel).
"""

from __future__ import annotations

from narrowcast.dashboard.charts.availability import MARTS_SCHEMA, Row, require, resolve_range
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse

ROWS_SHOWN = 40


def audience_uplift(wh: Warehouse, filters: Filters) -> Row:
    """Per sync and audience: members in each group, conversion and revenue uplift and their intervals."""
    require(wh, (MARTS_SCHEMA, "audience_uplift"))
    filters = resolve_range(wh, filters)
    rows = wh.rows(
        f"""
        select
            sync_id, audience_id, period_start, currency, treated_members, holdout_members,
            treated_conversion_rate, holdout_conversion_rate,
            conversion_uplift, conversion_uplift_ci_low, conversion_uplift_ci_high,
            revenue_per_member_uplift, revenue_per_member_uplift_ci_low, revenue_per_member_uplift_ci_high,
            incremental_revenue, incremental_revenue_ci_low, incremental_revenue_ci_high,
            avg_observed_days, too_small_to_conclude, is_significant
        from {MARTS_SCHEMA}.audience_uplift
        where period_start <= ? and period_start + interval '1 month' > ?
        order by incremental_revenue desc nulls last, sync_id, audience_id, period_start
        limit ?
        """,
        [filters.end, filters.start, ROWS_SHOWN],
    )
    for row in rows:
        row["verdict"] = ("too small to conclude" if row["too_small_to_conclude"]
                          else "earned more than the holdout" if row["is_significant"]
                          and row["revenue_per_member_uplift"] > 0
                          else "earned less than the holdout" if row["is_significant"]
                          else "no difference shown")
    return {"status": "ok", "filters": filters.as_dict(), "uplift": rows}
