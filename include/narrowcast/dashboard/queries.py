"""The dashboard's read-only SQL: one function per chart, each returning a JSON-ready dict.

Every function takes an open (read-only) DuckDB connection and :class:`Filters`; none writes anything.
Ratios (ROAS, ROI, CAC, funnel rates) are recomputed from summed components of the bucket shown,
so a week's ROAS is revenue/spend of that week, never an average of daily ratios.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import duckdb

from narrowcast.contracts.redaction import redact
from narrowcast.dashboard.filters import Filters

MARTS_SCHEMA = "main"  # where dbt-duckdb builds the marts (docs/data-contracts.md §3)
ACTIVATION_SCHEMA = "activation"
NO_DATA_MESSAGE = "No data yet: run the pipeline (make demo)"
# Budget lines whose actual spend is off plan by more than this share are highlighted.
VARIANCE_TOLERANCE = 0.10
DEFAULT_RANGE_DAYS = 90
TOP_RECOMMENDATIONS = 10

Row = dict[str, Any]


class NoData(Exception):
    """The tables a chart needs are missing or empty; the dashboard shows an empty state, not an error."""

    def __init__(self, missing: Sequence[str], message: str = NO_DATA_MESSAGE) -> None:
        self.missing = list(missing)
        self.message = message
        super().__init__(f"{message} (missing or empty: {', '.join(self.missing)})")


# ---- helpers --------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    cursor = con.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [{name: _jsonable(value) for name, value in zip(names, row, strict=True)} for row in cursor.fetchall()]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])


def _require(con: duckdb.DuckDBPyConnection, *tables: tuple[str, str]) -> None:
    """Raise :class:`NoData` unless every (schema, table) exists and has at least one row."""
    missing = []
    for schema, table in tables:
        if not table_exists(con, schema, table):
            missing.append(f"{schema}.{table}")
            continue
        if con.execute(f'select 1 from "{schema}"."{table}" limit 1').fetchone() is None:
            missing.append(f"{schema}.{table}")
    if missing:
        raise NoData(missing)


def _channel_clause(filters: Filters, column: str = "channel") -> tuple[str, list[Any]]:
    if filters.channel is None:
        return "", []
    return f" and {column} = ?", [filters.channel]


# ---- filters resolved against the data --------------------------------------------------------------


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """First and last ``date_day`` in ``kpi_channel_daily``, or ``None`` when there is none."""
    if not table_exists(con, MARTS_SCHEMA, "kpi_channel_daily"):
        return None
    found = con.execute(f"select min(date_day), max(date_day) from {MARTS_SCHEMA}.kpi_channel_daily").fetchone()
    if not found or found[0] is None:
        return None
    return found[0], found[1]


def resolve_range(con: duckdb.DuckDBPyConnection, filters: Filters) -> Filters:
    """Fill an open start/end: the end defaults to the last day with data, the start to 90 days before it."""
    if filters.start and filters.end:
        return filters
    bounds = data_range(con)
    end = filters.end or (bounds[1] if bounds else dt.date.today())
    default_start = end - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if bounds and bounds[0] <= end:
        default_start = max(default_start, bounds[0])
    start = filters.start or default_start
    if start > end:  # only an explicit start after the data's last day: show from that start on
        end = start
    return filters.with_range(start, end)


def overview(con: duckdb.DuckDBPyConnection) -> Row:
    """Which marts hold data and the date range the KPI mart covers (drives the filter inputs)."""
    marts = [
        "kpi_channel_daily",
        "budget_vs_actual",
        "kpi_funnel",
        "customer_rfm",
        "customer_recommendations",
        "marketplace_listing_feed",
    ]
    present = {name: table_exists(con, MARTS_SCHEMA, name) for name in marts}
    bounds = data_range(con)
    return {
        "status": "ok" if any(present.values()) else "empty",
        "message": None if any(present.values()) else NO_DATA_MESSAGE,
        "marts": present,
        "missing": [f"{MARTS_SCHEMA}.{name}" for name, found in present.items() if not found],
        "data_start": bounds[0].isoformat() if bounds else None,
        "data_end": bounds[1].isoformat() if bounds else None,
    }


# ---- one function per chart ------------------------------------------------------------------------------


def kpi_trend(con: duckdb.DuckDBPyConnection, filters: Filters) -> Row:
    """ROAS, ROI and CAC per channel and time bucket, plus totals over the range (``kpi_channel_daily``).

    ROAS = revenue / spend, ROI = (gross margin - spend) / spend, CAC = spend / new customers; each is
    ``None`` where its denominator is zero (organic channels have no spend).
    """
    _require(con, (MARTS_SCHEMA, "kpi_channel_daily"))
    filters = resolve_range(con, filters)
    grain = filters.grain  # whitelisted by Filters.grain, safe to format into SQL
    channel_sql, channel_params = _channel_clause(filters)
    where = f"date_day between ? and ?{channel_sql}"
    params = [filters.start, filters.end, *channel_params]
    series = _rows(
        con,
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
        group by all
        order by period, channel
        """,
        params,
    )
    # Totals: volumes over every channel; ROAS/ROI/CAC over the paid channels only (those with spend in
    # range), so organic revenue does not inflate the return on ad spend.
    totals = _rows(
        con,
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
        _add_ratios(row, row["revenue"], row["gross_margin"], row["new_customers"])
    _add_ratios(totals, totals.pop("paid_revenue"), totals.pop("paid_gross_margin"), totals.pop("paid_new_customers"))
    return {"status": "ok", "grain": grain, "filters": filters.as_dict(), "series": series, "totals": totals}


def _add_ratios(row: Row, revenue: float | None, gross_margin: float | None, new_customers: int | None) -> None:
    spend = row["spend"]
    row["roas"] = _ratio(revenue, spend)
    row["roi"] = _ratio(None if gross_margin is None else gross_margin - (spend or 0), spend)
    # Unpaid channels acquire customers without spend: no CAC rather than a misleading 0.
    row["cac"] = _ratio(spend, new_customers) if spend else None
    row["aov"] = _ratio(row["revenue"], row["orders"])


def budget_vs_actual(con: duckdb.DuckDBPyConnection, filters: Filters) -> Row:
    """Planned vs actual per month and channel (``budget_vs_actual``), with off-plan lines flagged."""
    _require(con, (MARTS_SCHEMA, "budget_vs_actual"))
    filters = resolve_range(con, filters)
    channel_sql, channel_params = _channel_clause(filters)
    rows = _rows(
        con,
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
        share = _ratio((row["actual_spend"] or 0) - (row["planned_spend"] or 0), row["planned_spend"])
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


def funnel(con: duckdb.DuckDBPyConnection, filters: Filters) -> Row:
    """Ad interactions → site visits → first purchases per channel over the months in range (``kpi_funnel``)."""
    _require(con, (MARTS_SCHEMA, "kpi_funnel"))
    filters = resolve_range(con, filters)
    channel_sql, channel_params = _channel_clause(filters)
    rows = _rows(
        con,
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
        row["visit_rate"] = _ratio(row["site_visits"], row["ad_interactions"])
        row["purchase_rate"] = _ratio(row["first_purchases"], row["site_visits"])
        row["overall_rate"] = _ratio(row["first_purchases"], row["ad_interactions"])
    return {"status": "ok", "filters": filters.as_dict(), "channels": rows}


def rfm_segments(con: duckdb.DuckDBPyConnection, filters: Filters) -> Row:
    """Customers and value per RFM segment (``customer_rfm``, a snapshot: date and channel filters don't apply)."""
    _require(con, (MARTS_SCHEMA, "customer_rfm"))
    rows = _rows(
        con,
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
        row["customer_share"] = _ratio(row["customers"], total_customers)
        row["value_share"] = _ratio(row["monetary"], total_value)
        for key in ("monetary", "avg_monetary", "avg_frequency", "avg_recency_days"):
            row[key] = None if row[key] is None else round(row[key], 2)
    return {"status": "ok", "segments": rows, "customers": total_customers, "monetary": round(total_value, 2)}


def top_recommendations(con: duckdb.DuckDBPyConnection, filters: Filters, limit: int = TOP_RECOMMENDATIONS) -> Row:
    """The products recommended to the most customers, per kind (``customer_recommendations``)."""
    _require(con, (MARTS_SCHEMA, "customer_recommendations"))
    rows = _rows(
        con,
        f"""
        select
            sku,
            any_value(product_title) as product_title,
            any_value(category) as category,
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
    kinds = _rows(
        con,
        f"""
        select kind, count(*) as recommendations, count(distinct customer_id) as customers
        from {MARTS_SCHEMA}.customer_recommendations group by kind order by kind
        """,
    )
    return {"status": "ok", "products": rows, "kinds": kinds}


def listing_health(con: duckdb.DuckDBPyConnection, filters: Filters) -> Row:
    """Active/withdrawn listings per marketplace (``marketplace_listing_feed``) and when each was last pushed.

    "Last pushed" is the latest ``confirmed_at`` in ``activation.sync_state`` of the syncs whose id names
    the marketplace (e.g. ``ebay_listings``): the moment the destination last accepted a listing.
    """
    _require(con, (MARTS_SCHEMA, "marketplace_listing_feed"))
    rows = _rows(
        con,
        f"""
        select
            marketplace,
            count(*) filter (where status = 'active') as active,
            count(*) filter (where status = 'withdrawn') as withdrawn,
            coalesce(sum(quantity) filter (where status = 'active'), 0) as units_listed,
            coalesce(sum(quantity * price) filter (where status = 'active'), 0) as listed_value
        from {MARTS_SCHEMA}.marketplace_listing_feed
        group by marketplace
        order by marketplace
        """,
    )
    reasons = _rows(
        con,
        f"""
        select marketplace, coalesce(status_reason, 'no reason given') as reason, count(*) as listings
        from {MARTS_SCHEMA}.marketplace_listing_feed
        where status = 'withdrawn'
        group by all
        order by marketplace, listings desc, reason
        """,
    )
    has_state = table_exists(con, ACTIVATION_SCHEMA, "sync_state")
    has_runs = table_exists(con, ACTIVATION_SCHEMA, "sync_runs")
    for row in rows:
        pattern = f"%{row['marketplace'].lower()}%"
        row["withdrawn_reasons"] = [
            {"reason": redact(r["reason"]), "listings": r["listings"]} for r in reasons if r["marketplace"] == row["marketplace"]
        ]
        row["last_pushed_at"] = None
        row["confirmed_listings"] = 0
        row["last_run_at"] = None
        row["last_run_status"] = None
        if has_state:
            state = _rows(
                con,
                f"""
                select max(confirmed_at) as last_pushed_at, count(*) as confirmed_listings
                from {ACTIVATION_SCHEMA}.sync_state where lower(sync_id) like ?
                """,
                [pattern],
            )[0]
            row.update(state)
        if has_runs:
            last = _rows(
                con,
                f"""
                select started_at as last_run_at, status as last_run_status
                from {ACTIVATION_SCHEMA}.sync_runs
                where lower(sync_id) like ? and not coalesce(dry_run, false)
                order by started_at desc limit 1
                """,
                [pattern],
            )
            if last:
                row.update(last[0])
    return {"status": "ok", "marketplaces": rows}


def sync_health(con: duckdb.DuckDBPyConnection, filters: Filters) -> Row:
    """Per sync: its last run (adds/changes/removes, outcomes, API calls) and open rejections by reason.

    Reads ``activation.sync_runs`` and ``activation.sync_rejections``; reasons are scrubbed of anything that
    looks like an e-mail address, phone number or token before they leave the warehouse.
    """
    _require(con, (ACTIVATION_SCHEMA, "sync_runs"))
    filters = resolve_range(con, filters)
    syncs = _rows(
        con,
        f"""
        with ranked as (
            select *, row_number() over (partition by sync_id order by started_at desc) as recency
            from {ACTIVATION_SCHEMA}.sync_runs
        ),
        in_range as (
            select
                sync_id,
                count(*) as runs_in_range,
                coalesce(sum(api_calls), 0) as api_calls_in_range,
                coalesce(sum(rejected), 0) as rejected_in_range
            from {ACTIVATION_SCHEMA}.sync_runs
            where cast(started_at as date) between ? and ?
            group by sync_id
        )
        select
            ranked.sync_id, ranked.run_id as last_run_id, ranked.started_at as last_started_at,
            ranked.finished_at as last_finished_at, ranked.status as last_status, ranked.dry_run as last_dry_run,
            ranked.planned_adds, ranked.planned_changes, ranked.planned_removes,
            ranked.sent, ranked.accepted, ranked.rejected, ranked.skipped, ranked.api_calls,
            ranked.duration_seconds, ranked.error,
            coalesce(in_range.runs_in_range, 0) as runs_in_range,
            coalesce(in_range.api_calls_in_range, 0) as api_calls_in_range,
            coalesce(in_range.rejected_in_range, 0) as rejected_in_range
        from ranked left join in_range using (sync_id)
        where ranked.recency = 1
        order by ranked.sync_id
        """,
        [filters.start, filters.end],
    )
    for row in syncs:
        row["error"] = redact(row["error"]) if row["error"] else None
        row["rejected_share"] = _ratio(row["rejected"], row["sent"])
    rejections: list[Row] = []
    if table_exists(con, ACTIVATION_SCHEMA, "sync_rejections"):
        rejections = _rows(
            con,
            f"""
            select sync_id, reason, count(*) as rows, max(rejected_at) as last_rejected_at
            from {ACTIVATION_SCHEMA}.sync_rejections
            where resolved_at is null
            group by sync_id, reason
            """,
        )
        rejections = _merge_scrubbed_reasons(rejections)
    return {"status": "ok", "filters": filters.as_dict(), "syncs": syncs, "open_rejections": rejections}


def _merge_scrubbed_reasons(rows: list[Row], limit: int = 50) -> list[Row]:
    """Scrub reasons, then merge those that became equal (one per masked e-mail address, say)."""
    merged: dict[tuple[str, str], Row] = {}
    for row in rows:
        key = (row["sync_id"], redact(row["reason"] or "no reason given"))
        if key in merged:
            merged[key]["rows"] += row["rows"]
            merged[key]["last_rejected_at"] = max(merged[key]["last_rejected_at"], row["last_rejected_at"])
        else:
            merged[key] = {**row, "reason": key[1]}
    return sorted(merged.values(), key=lambda r: (-r["rows"], r["sync_id"], r["reason"]))[:limit]
