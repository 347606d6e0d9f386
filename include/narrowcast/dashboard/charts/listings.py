"""The listings section: active/withdrawn listings per marketplace and when each was last pushed."""

from __future__ import annotations

from narrowcast.contracts.redaction import redact
from narrowcast.dashboard.charts.availability import ACTIVATION_SCHEMA, MARTS_SCHEMA, Row, require
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse


def listing_health(wh: Warehouse, filters: Filters) -> Row:
    """Active/withdrawn listings per marketplace (``marketplace_listing_feed``) and when each was last pushed.

    "Last pushed" is the latest ``confirmed_at`` in ``activation.sync_state`` of the syncs whose id names
    the marketplace (e.g. ``ebay_listings``): the moment the destination last accepted a listing. The listing
    creation syncs (``listings_<marketplace>``) are left out: they create listings, they do not push stock.
    """
    require(wh, (MARTS_SCHEMA, "marketplace_listing_feed"))
    rows = wh.rows(
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
    reasons = wh.rows(
        f"""
        select marketplace, coalesce(status_reason, 'no reason given') as reason, count(*) as listings
        from {MARTS_SCHEMA}.marketplace_listing_feed
        where status = 'withdrawn'
        group by 1, 2
        order by marketplace, listings desc, reason
        """,
    )
    has_state = wh.table_exists(ACTIVATION_SCHEMA, "sync_state")
    has_runs = wh.table_exists(ACTIVATION_SCHEMA, "sync_runs")
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
            state = wh.rows(
                f"""
                select max(confirmed_at) as last_pushed_at, count(*) as confirmed_listings
                from {ACTIVATION_SCHEMA}.sync_state where lower(sync_id) like ? and lower(sync_id) not like 'listings%'
                """,
                [pattern],
            )[0]
            row.update(state)
        if has_runs:
            last = wh.rows(
                f"""
                select started_at as last_run_at, status as last_run_status
                from {ACTIVATION_SCHEMA}.sync_runs
                where lower(sync_id) like ? and lower(sync_id) not like 'listings%' and not coalesce(dry_run, false)
                order by started_at desc limit 1
                """,
                [pattern],
            )
            if last:
                row.update(last[0])
    _add_listing_creation(wh, rows)
    return {"status": "ok", "marketplaces": rows}


def _add_listing_creation(wh: Warehouse, rows: list[Row]) -> None:
    """Per marketplace, the catalogue's readiness for listing creation (``marketplace_listing_content``) and the
    open rejections of its listing sync (``listings_<marketplace>``, the marketplace's own message)."""
    has_content = wh.table_exists(MARTS_SCHEMA, "marketplace_listing_content")
    has_rejections = wh.table_exists(ACTIVATION_SCHEMA, "sync_rejections")
    for row in rows:
        row["catalogue_skus"], row["catalogue_incomplete"], row["catalogue_problems"] = 0, 0, []
        row["creation_rejections"] = []
        if has_content:
            problems = wh.rows(
                f"""
                select coalesce(missing_reason, '') as reason, count(*) as skus
                from {MARTS_SCHEMA}.marketplace_listing_content where marketplace = ?
                group by 1 order by skus desc, reason
                """,
                [row["marketplace"]],
            )
            row["catalogue_skus"] = sum(p["skus"] for p in problems)
            row["catalogue_problems"] = [p for p in problems if p["reason"]][:5]
            row["catalogue_incomplete"] = sum(p["skus"] for p in problems if p["reason"])
        if has_rejections:
            rejected = wh.rows(
                f"""
                select reason, count(*) as skus, min(record_key) as example_sku
                from {ACTIVATION_SCHEMA}.sync_rejections
                where sync_id = ? and resolved_at is null
                group by reason order by skus desc, reason limit 5
                """,
                [f"listings_{row['marketplace']}"],
            )
            row["creation_rejections"] = [{**r, "reason": redact(r["reason"] or "no reason given")} for r in rejected]
