"""The sync engine: plan a run in SQL, send the plan in batches under the declared limits, commit per batch.

Crash-safety comes from the order of work: a batch's state is committed only after the destination
answered, so a crash re-sends at most the batches in flight, and destinations are written idempotently.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb

from narrowcast import settings
from narrowcast.activation import state
from narrowcast.activation.destinations import DESTINATIONS
from narrowcast.activation.destinations.base import Batch, Change, Destination, RowResult, SendContext
from narrowcast.activation.identifiers import is_sha256_hex
from narrowcast.activation.redaction import get_logger, install_on_http_client, redact_text
from narrowcast.activation.report import SyncFailed, SyncReport
from narrowcast.activation.spec import SyncSpec, load_syncs
from narrowcast.connections import Connection
from narrowcast.http import ApiError, TokenBucket
from narrowcast.warehouse import connect

log = get_logger(__name__)
KINDS = ("upsert", "remove")  # upserts first: removing before adding can trip minimum-audience-size rules


def resolve(spec_or_id: SyncSpec | str, syncs_dir: Path | None = None) -> SyncSpec:
    if isinstance(spec_or_id, SyncSpec):
        return spec_or_id
    specs = {s.id: s for s in load_syncs(syncs_dir)}
    if spec_or_id not in specs:
        raise SyncFailed(f"unknown sync {spec_or_id!r}; declared: {', '.join(sorted(specs)) or 'none'}")
    return specs[spec_or_id]


def run_sync(
    spec_or_id: SyncSpec | str,
    *,
    connections: Mapping[str, Connection],
    warehouse: Path | None = None,
    dry_run: bool = False,
    syncs_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rejected_threshold: float | None = None,
) -> SyncReport:
    """Run one sync (or plan it, with ``dry_run``); raises :class:`SyncFailed` above the rejection threshold."""
    install_on_http_client()
    spec = resolve(spec_or_id, syncs_dir)
    threshold = settings.REJECTED_THRESHOLD if rejected_threshold is None else rejected_threshold
    report = SyncReport(run_id=uuid.uuid4().hex, sync_id=spec.id, dry_run=dry_run)
    started = time.monotonic()
    with connect(warehouse) as con:
        state.ensure_tables(con)
        counts = state.build_plan(con, spec)
        report.planned_adds, report.planned_changes, report.planned_removes = (
            counts["add"], counts["change"], counts["remove"])
        if dry_run or report.planned == 0:
            report.status = "planned" if dry_run else "success"
            report.duration_seconds = time.monotonic() - started
            state.write_run(con, report, finished=True)
            log.info("%s", report.summary())
            return report
        state.write_run(con, report, finished=False)
        destination: Destination | None = None
        try:
            destination = _destination(spec, connections, sleep)
            _send_plan(con, spec, destination, report)
        except BaseException as exc:  # interrupts too: the run log must not call a killed run a success
            report.status = "failed"
            report.error = redact_text(str(exc))[:2000]
            raise
        finally:
            if destination is not None:
                report.api_calls = destination.api_calls
            report.duration_seconds = time.monotonic() - started
            if report.status == "running":
                report.status = "success"
                if report.rejected_share > threshold:
                    report.status = "failed"
                    report.error = (f"{report.rejected} of {report.planned} rows rejected "
                                    f"({report.rejected_share:.1%} > threshold {threshold:.1%}); "
                                    f"see activation.sync_rejections where run_id = '{report.run_id}'")
            state.write_run(con, report, finished=True)
            log.info("%s", report.summary())
    if report.status == "failed" and report.error and report.rejected_share > threshold:
        raise SyncFailed(f"sync {spec.id}: {report.error}", report)
    return report


def run_group(
    group: str,
    *,
    connections: Mapping[str, Connection],
    warehouse: Path | None = None,
    dry_run: bool = False,
    syncs_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SyncReport]:
    """Run every sync of a schedule group; all run even if one fails, then the first failure is raised."""
    specs = [s for s in load_syncs(syncs_dir) if s.schedule == group]
    if not specs:
        raise SyncFailed(f"no sync declared with schedule {group!r}")
    reports: list[SyncReport] = []
    failures: list[SyncFailed] = []
    for spec in specs:
        try:
            reports.append(run_sync(spec, connections=connections, warehouse=warehouse, dry_run=dry_run, sleep=sleep))
        except SyncFailed as exc:
            failures.append(exc)
            if exc.report is not None:
                reports.append(exc.report)
    if failures:
        raise SyncFailed("; ".join(str(f) for f in failures), failures[0].report)
    return reports


def _destination(spec: SyncSpec, connections: Mapping[str, Connection],
                 sleep: Callable[[float], None]) -> Destination:
    if spec.connection not in connections:
        raise SyncFailed(f"sync {spec.id}: connection {spec.connection!r} is not configured "
                         f"(set AIRFLOW_CONN_{spec.connection.upper()})")
    limiter = TokenBucket(spec.rate_limit.rps, spec.rate_limit.burst, sleep=sleep)
    context = SendContext(connection=connections[spec.connection], target=spec.target, object=spec.object,
                          rate_limiter=limiter, sleep=sleep)
    return DESTINATIONS[spec.destination](context)


def _batches(con: duckdb.DuckDBPyConnection, run_id: str, kind: str) -> Iterator[Batch]:
    total = state.batch_numbers(con, kind)
    for batch_no in range(total):
        rows = state.fetch_batch(con, kind, batch_no)
        # One decode per batch: far cheaper than a json.loads call per row at a million rows.
        payloads = json.loads("[" + ",".join(r[2] for r in rows) + "]")
        previous = json.loads("[" + ",".join(r[3] or "null" for r in rows) + "]")
        changes = [Change(r[0], r[1], payloads[i], previous[i]) for i, r in enumerate(rows)]
        yield Batch(run_id=run_id, kind=kind, seq=batch_no + 1, total=total, changes=changes)


def _send_plan(con: duckdb.DuckDBPyConnection, spec: SyncSpec, destination: Destination, report: SyncReport) -> None:
    hashed = destination.objects[spec.object].hashed_fields
    workers = spec.rate_limit.concurrency
    in_flight: deque[tuple[Batch, Future[tuple[list[RowResult], int]]]] = deque()
    # Rejections of this run are inserted after this check, so only older ones can be resolved by it.
    open_rejections = state.has_open_rejections(con, spec)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"sync-{spec.id}") as pool:
        for kind in KINDS:
            # Removes start only after every upsert is confirmed, so the audience never dips needlessly.
            for batch in _batches(con, report.run_id, kind):
                in_flight.append((batch, pool.submit(_send_one, destination, batch, hashed)))
                while len(in_flight) >= workers * 2:
                    _collect(con, spec, report, *in_flight.popleft(), open_rejections)
            while in_flight:
                _collect(con, spec, report, *in_flight.popleft(), open_rejections)


def _send_one(destination: Destination, batch: Batch, hashed: frozenset[str]) -> tuple[list[RowResult], int]:
    """Validate hashed identifiers locally, send the rest; returns (results, rows actually sent)."""
    results: list[RowResult] = []
    valid: list[Change] = []
    for change in batch.changes:
        bad = [f for f in hashed if change.payload.get(f) is not None and not is_sha256_hex(change.payload[f])]
        if bad:
            results.append(RowResult(change.key, "rejected",
                                     f"refused to send: field(s) {', '.join(sorted(bad))} not a 64-hex SHA-256"))
        else:
            valid.append(change)
    if not valid:
        return results, 0
    sub = Batch(batch.run_id, batch.kind, batch.seq, batch.total, valid)
    try:
        answered = destination.send(sub)
    except ApiError as exc:
        reason = redact_text(str(exc))[:1000]
        log.warning("batch %s/%d of %d failed: %s", batch.kind, batch.seq, batch.total, reason)
        answered = [RowResult(c.key, "rejected", reason) for c in valid]
    by_key = {r.key: r for r in answered}
    for change in valid:
        results.append(by_key.get(change.key) or RowResult(change.key, "rejected", "destination gave no answer for row"))
    return results, sum(1 for r in answered if r.sent)


def _collect(con: duckdb.DuckDBPyConnection, spec: SyncSpec, report: SyncReport, batch: Batch,
             future: Future[tuple[list[RowResult], int]], open_rejections: bool) -> None:
    results, sent = future.result()
    state.record_results(con, spec, report.run_id, batch.kind, batch.seq - 1,
                         # an API's reason may quote the rejected value (an e-mail): store it redacted
                         [(r.key, r.outcome, redact_text(r.reason) if r.reason else None) for r in results],
                         open_rejections=open_rejections,
                         replaces_state=any(c.op != "add" for c in batch.changes))
    report.sent += sent
    for r in results:
        if r.outcome == "accepted":
            report.accepted += 1
        elif r.outcome == "skipped":
            report.skipped += 1
        else:
            report.rejected += 1
    rejected = [r for r in results if r.outcome != "accepted"]
    if rejected:
        log.warning("%s batch %s/%d: %d of %d rows not accepted, e.g. %s", spec.id, batch.kind, batch.seq,
                    len(rejected), len(results), redact_text(rejected[0].reason or ""))
