"""The syncs section: each sync's last run and its open rejections, reasons scrubbed of personal data."""

from __future__ import annotations

from narrowcast.contracts.redaction import redact
from narrowcast.dashboard.charts.availability import ACTIVATION_SCHEMA, Row, require, resolve_range
from narrowcast.dashboard.charts.ratios import ratio
from narrowcast.dashboard.filters import Filters
from narrowcast.warehouse import Warehouse


def sync_health(wh: Warehouse, filters: Filters) -> Row:
    """Per sync: its last run (adds/changes/removes, outcomes, API calls) and open rejections by reason.

    Reads ``activation.sync_runs`` and ``activation.sync_rejections``; reasons are scrubbed of anything that
    looks like an e-mail address, phone number or token before they leave the warehouse.
    """
    require(wh, (ACTIVATION_SCHEMA, "sync_runs"))
    filters = resolve_range(wh, filters)
    syncs = wh.rows(
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
        row["rejected_share"] = ratio(row["rejected"], row["sent"])
    rejections: list[Row] = []
    if wh.table_exists(ACTIVATION_SCHEMA, "sync_rejections"):
        rejections = wh.rows(
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
