"""The sync engine: plan a run in SQL, send the plan in batches under the declared limits, commit per batch.

Crash-safety comes from the order of work: a batch's state is committed only after the destination
answered, so a crash re-sends at most the batches in flight, and destinations are written idempotently.

The engine holds the warehouse only while it reads or writes it, never while it waits on a destination: the
plan is read out of the warehouse before the first send (to files of its own, memory-mapped while sending), and
intents and batch outcomes are written in short transactions on a session that is closed before each wait on
the destination (a rate limit, an import job) and reopened, with :func:`connect`'s wait for DuckDB's writer lock,
for the next write. Other DuckDB writers (another sync, an extract) so write while a sync is paced. While another
process holds the file (a dbt build), an idempotent sync does not stop: it keeps sending and writes the answered
batches' outcomes, in order, once the file is free (at most :data:`UNRECORDED_MAX_ROWS` rows or
:data:`UNRECORDED_MAX_SECONDS` behind; a crash meanwhile re-sends those batches too, which an idempotent write
makes harmless). A send-once object (a shipment) writes each outcome before it sends more.

As the file lock no longer keeps two runs of one sync apart (nor does anything on PostgreSQL), a run holds its
sync's lease in ``activation.sync_leases`` (:func:`state.take_lease`) from before planning to its end, renewing
its heartbeat with every batch it records; a second run of the sync meanwhile fails at once naming the holder.
Syncs run side by side (they are not in the warehouse's one-slot pool), but the syncs of one connection share its
account's rate budget: a run plans, then waits for its connection's lease (:func:`_take_connection`) and holds it
while it sends, so they send one after another and syncs to other accounts send beside them. Where the API limits
each endpoint on its own (Klaviyo), the lease is the object's rate budget on the connection
(:attr:`ObjectSpec.rate_budget`), so syncs of objects that call different endpoints send beside each other too.

Listings a sync creates are remembered with the batch's state: the ids a destination answers
(``RowResult.remote_id``) go to ``activation.listing_ids`` under the marketplace the sync's
``filter: {marketplace: ...}`` names, which is how a new listing destination joins the stock feed with no engine
change (see ``include/syncs/README.md``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from narrowcast import settings
from narrowcast.activation import state
from narrowcast.activation.destinations import DESTINATIONS
from narrowcast.activation.destinations.base import Batch, Change, Destination, RowResult, SendContext
from narrowcast.activation.report import RemovalsNotConfirmed, SyncFailed, SyncReport
from narrowcast.activation.spec import SyncSpec, read_syncs
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.redaction import redact, redacting_logger
from narrowcast.http import ApiError, TokenBucket
from narrowcast.warehouse import Warehouse, WarehouseBusy, connect
from narrowcast.warehouse.connection import configured_lock_wait, signals_folder

log = redacting_logger(__name__)
KINDS = ("upsert", "remove")  # upserts first: removing before adding can trip minimum-audience-size rules
# An idempotent sync sends on while another process holds the DuckDB file, up to this many answered rows or this
# long (a third of the lease's staleness if shorter) without writing their outcome; then it waits for the file.
UNRECORDED_MAX_ROWS = 100_000
UNRECORDED_MAX_SECONDS = 300.0
# How long a sync's session waits for another process's hold on the DuckDB file (a full dbt build at 1M customers
# holds it ~4 minutes; the default for other writers is a minute).
SYNC_LOCK_WAIT_SECONDS = 900.0
# How often a run waiting for its connection (another sync sends on it) asks the warehouse again. On DuckDB a run
# that frees a connection also rings its bell (a file in the warehouse's signals folder, replaced on every ring),
# which the waiters on this machine look at every LEASE_BELL_POLL_SECONDS (a stat, no session): they ask at once.
# In the demo's 21 audience syncs, six list syncs take Klaviyo's connection one after another; each waited up to a
# second more than the last one's sending took.
CONNECTION_POLL_SECONDS = 1.0
LEASE_BELL_POLL_SECONDS = 0.02


def resolve(spec_or_id: SyncSpec | str, syncs_dir: Path | None = None) -> SyncSpec:
    """The sync ``spec_or_id`` names; raises its :class:`SyncConfigError` when its declaration is invalid."""
    if isinstance(spec_or_id, SyncSpec):
        return spec_or_id
    declarations = read_syncs(syncs_dir)
    specs = {s.id: s for s in declarations.specs}
    if spec_or_id in specs:
        return specs[spec_or_id]
    for invalid in declarations.invalid:
        if invalid.id == spec_or_id:
            raise invalid.error
    declared = sorted([*specs, *(i.id for i in declarations.invalid)])
    raise SyncFailed(f"unknown sync {spec_or_id!r}; declared: {', '.join(declared) or 'none'}")


def removals_confirmed(confirmation: bool | str | Collection[str] | None, sync_id: str) -> bool:
    """Whether ``confirmation`` (``true`` for every sync, or the ids of the confirmed syncs) covers ``sync_id``."""
    if isinstance(confirmation, bool) or confirmation is None:
        return bool(confirmation)
    if isinstance(confirmation, str):
        return confirmation == sync_id
    return sync_id in confirmation


def run_sync(
    spec_or_id: SyncSpec | str,
    *,
    connections: Mapping[str, Connection],
    warehouse: Path | None = None,
    dry_run: bool = False,
    syncs_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rejected_threshold: float | None = None,
    confirm_removals: bool = False,
) -> SyncReport:
    """Run one sync (or plan it, with ``dry_run``); raises :class:`SyncFailed` above the rejection threshold.

    A mirror run whose planned removes exceed the sync's ``max_remove_share`` of the members its state holds
    raises :class:`RemovalsNotConfirmed` before sending anything, unless ``confirm_removals``: a typo in a filter
    looks exactly like every member leaving the segment.
    """
    spec = resolve(spec_or_id, syncs_dir)
    threshold = settings.REJECTED_THRESHOLD if rejected_threshold is None else rejected_threshold
    report = SyncReport(run_id=uuid.uuid4().hex, sync_id=spec.id, dry_run=dry_run)
    started = time.monotonic()
    destination: Destination | None = None
    connection = _connection_lease(spec)
    # The leases this run holds: taken and freed inside the sessions the run opens anyway (a DuckDB session costs
    # an open, a catalog read and a checkpoint); whatever is still held when the run ends otherwise is freed then.
    held: list[str] = []
    freed: list[str] = []  # the connections freed: their waiters are told once the run's last session closed
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(_ring_bells, warehouse, freed)
        cleanup.callback(_release_leases, warehouse, held, report.run_id, freed)
        session = contextlib.ExitStack()
        try:
            wh = session.enter_context(_session(warehouse))
            state.ensure_tables(wh)
            if not dry_run:  # a dry run sends nothing and changes no sync state: it may plan beside a run
                state.take_lease(wh, spec.id, report.run_id)
                held.append(spec.id)
            jobs = [] if dry_run else state.pending_jobs(wh, spec)
            if jobs:
                # Before planning, so the rows of a job that failed since the last run are planned again now; asked
                # without holding the warehouse.
                session.close()
                destination = _destination(spec, connections, sleep)
                statuses = _job_statuses(spec, destination, jobs)
                session = contextlib.ExitStack()
                wh = session.enter_context(_session(warehouse))
                if statuses is not None:
                    _settle_jobs(wh, spec, jobs, statuses, report)
            hashed = DESTINATIONS[spec.destination].objects[spec.object].hashed_fields
            counts = state.build_plan(wh, spec, hashed)
            report.planned_adds, report.planned_changes, report.planned_removes = (
                counts["add"], counts["change"], counts["remove"])
            if spec.mode == "mirror":
                report.members = state.confirmed_members(wh, spec)
                report.max_remove_share = (settings.MAX_REMOVE_SHARE if spec.max_remove_share is None
                                           else spec.max_remove_share)
            if not dry_run and report.removals_need_confirmation and not confirm_removals:
                report.status = "refused"
                report.error = (
                    f"sync {spec.id}: refused: {report.removal_counts()}; nothing was sent and the sync state is "
                    f"unchanged. If these removals are intended, confirm them: `narrowcast sync run {spec.id} "
                    f"--confirm-removals`, or trigger the DAG with run conf {{\"confirm_removals\": [\"{spec.id}\"]}}"
                    f" (or raise max_remove_share in {spec.where()})")
                _finish(wh, spec, report, destination, started, held, freed)
                log.error("%s", report.error)
                raise RemovalsNotConfirmed(report.error, report)
            if dry_run or report.planned == 0:
                report.status = "planned" if dry_run else "success"
                _finish(wh, spec, report, destination, started, held, freed)
                log.info("%s", report.summary())
                return report
            state.write_run(wh, report, finished=False)
            plan = _read_plan(wh, spec, report, Path(cleanup.enter_context(tempfile.TemporaryDirectory(
                prefix=f"narrowcast-plan-{spec.id}-"))))
            # The connection's lease, if no other sync sends on it now; otherwise waited for below.
            with contextlib.suppress(state.LeaseHeld):
                state.take_lease(wh, connection, report.run_id)
                held.append(connection)
        finally:
            session.close()
        try:
            destination = destination or _destination(spec, connections, sleep)
            if connection not in held:
                held.append(_take_connection(warehouse, spec, report.run_id, sleep))
            with _fewer_gc_passes():
                _send_plan(warehouse, spec, destination, report, plan)
        except BaseException as exc:  # interrupts too: the run log must not call a killed run a success
            report.status = "failed"
            report.error = redact(str(exc))[:2000]
            raise
        finally:
            with _session(warehouse) as wh:
                if report.status == "running":
                    report.status = "success"
                    if report.rejected_share > threshold:
                        report.status = "failed"
                        report.error = (f"{report.rejected} of {report.planned} rows rejected "
                                        f"({report.rejected_share:.1%} > threshold {threshold:.1%}); "
                                        f"see activation.sync_rejections where run_id = '{report.run_id}'")
                _finish(wh, spec, report, destination, started, held, freed)
            log.info("%s", report.summary())
    if report.status == "failed" and report.error and report.rejected_share > threshold:
        raise SyncFailed(f"sync {spec.id}: {report.error}", report)
    return report


def _finish(wh: Warehouse, spec: SyncSpec, report: SyncReport, destination: Destination | None, started: float,
            held: list[str], freed: list[str]) -> None:
    """Write the run's final record and free its leases, on the session the run is ending on."""
    report.duration_seconds = time.monotonic() - started
    report.jobs_pending = len(state.pending_jobs(wh, spec))
    if destination is not None:
        report.api_calls = destination.api_calls
    state.write_run(wh, report, finished=True)
    _release_in(wh, held, report.run_id, freed)


def _release_in(wh: Warehouse, held: list[str], run_id: str, freed: list[str]) -> None:
    """Free the leases in ``held`` on ``wh`` (adding each to ``freed``); a failure is logged, not raised over the
    run's own outcome (a lease left behind is taken over once its process is gone or its heartbeat stale)."""
    while held:
        key = held.pop()
        try:
            state.release_lease(wh, key, run_id)
            freed.append(key)
        except Exception as exc:  # noqa: BLE001 - the run's own outcome (or exception) matters more
            log.error("%s: run %s could not release its lease (taken over once stale, %s): %s", key, run_id,
                      state.LEASE_STALE_VARIABLE, redact(str(exc))[:500])


def run_group(
    group: str,
    *,
    connections: Mapping[str, Connection],
    warehouse: Path | None = None,
    dry_run: bool = False,
    syncs_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    confirm_removals: bool | Collection[str] = False,
    exclude: Collection[str] = (),
) -> list[SyncReport]:
    """Run every sync of a schedule group; all run even if one fails, then the first failure is raised.

    ``exclude`` names syncs the caller has decided not to run (e.g. their destination is not connected).

    ``confirm_removals`` is ``True`` for every sync of the group or the ids of the syncs whose removals are confirmed.
    An invalid declaration of the group is one of the failures; it does not keep the others from running.
    """
    specs, invalid = read_syncs(syncs_dir).in_group(group)
    if not specs and not invalid:
        raise SyncFailed(f"no sync declared with schedule {group!r}")
    reports: list[SyncReport] = []
    failures: list[SyncFailed] = [SyncFailed(f"sync {i.id} is disabled: {i.error}") for i in invalid]
    for spec in (s for s in specs if s.id not in exclude):
        try:
            reports.append(run_sync(spec, connections=connections, warehouse=warehouse, dry_run=dry_run, sleep=sleep,
                                    confirm_removals=removals_confirmed(confirm_removals, spec.id)))
        except SyncFailed as exc:
            failures.append(exc)
            if exc.report is not None:
                reports.append(exc.report)
    if failures:
        raise SyncFailed("; ".join(str(f) for f in failures), failures[0].report)
    return reports


def _session(warehouse: Path | None) -> contextlib.AbstractContextManager[Warehouse]:
    """A warehouse session that waits for DuckDB's writer lock up to :data:`SYNC_LOCK_WAIT_SECONDS` (or the
    configured wait, if longer). A sync is not in the warehouse's one-slot pool: it plans and writes its outcomes in
    short sessions beside the loads and dbt builds that are, and waiting out a build (minutes at a million
    customers) is all it can usefully do meanwhile."""
    return connect(warehouse, lock_wait_seconds=max(configured_lock_wait(), SYNC_LOCK_WAIT_SECONDS))


def _heartbeat_every() -> float:
    """How often a run renews its leases: :data:`UNRECORDED_MAX_SECONDS`, or a third of the lease's staleness if
    shorter, so a live run is never taken for a dead one."""
    return min(UNRECORDED_MAX_SECONDS, state.lease_stale_seconds() / 3)


def _connection_lease(spec: SyncSpec) -> str:
    """The lease the sync holds while it sends: its connection's, or its object's rate budget on it."""
    return state.connection_lease(spec.connection, DESTINATIONS[spec.destination].objects[spec.object].rate_budget)


def _take_connection(warehouse: Path | None, spec: SyncSpec, run_id: str, sleep: Callable[[float], None]) -> str:
    """Wait until no other sync run sends on ``spec.connection``, then hold it (its lease key, returned): the
    syncs of one destination account share its rate budget (Meta's ad-account score, Shopify's bucket), so they
    send one after another while syncs to other accounts send beside them. While it waits, the run keeps its own
    sync's lease alive (renewed as often as a sending run renews it, not on every look); a holder that died or went
    silent is taken over as a sync's lease is."""
    key = _connection_lease(spec)
    bell = _lease_bell(warehouse, key)
    waiting_since: float | None = None
    renewed = time.monotonic()
    renew_every = _heartbeat_every()
    while True:
        rung = _last_ring(bell)  # read before asking: a ring after the answer wakes the wait below
        with _session(warehouse) as wh:
            try:
                state.take_lease(wh, key, run_id)
            except state.LeaseHeld as held:
                if time.monotonic() - renewed > renew_every:
                    state.renew_lease(wh, spec.id, run_id)
                    renewed = time.monotonic()
                if waiting_since is None:
                    waiting_since = time.monotonic()
                    log.info("%s: waiting to send: %s", spec.id, held)
            else:
                if waiting_since is not None:
                    log.info("%s: connection %s free after %.1fs", spec.id, spec.connection,
                             time.monotonic() - waiting_since)
                return key
        _await_ring(bell, rung, sleep)


def _lease_bell(warehouse: Path | None, key: str) -> Path | None:
    """The file a run freeing lease ``key`` replaces to wake this machine's waiters (None: no bell, on PostgreSQL)."""
    folder = signals_folder(warehouse)
    return None if folder is None else folder / f"lease-{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def _last_ring(bell: Path | None) -> tuple[int, int] | None:
    """Which ring the bell last had (the file's inode and modification time), None if it never rang."""
    try:
        stat = bell.stat() if bell is not None else None
    except OSError:
        return None
    return None if stat is None else (stat.st_ino, stat.st_mtime_ns)


def _await_ring(bell: Path | None, rung: tuple[int, int] | None, sleep: Callable[[float], None]) -> None:
    """Wait until the bell rings again after ``rung``, or :data:`CONNECTION_POLL_SECONDS` at most."""
    if bell is None:
        sleep(CONNECTION_POLL_SECONDS)
        return
    waited = 0.0
    while waited < CONNECTION_POLL_SECONDS:
        sleep(LEASE_BELL_POLL_SECONDS)
        waited += LEASE_BELL_POLL_SECONDS
        if _last_ring(bell) != rung:
            return


def _ring_bells(warehouse: Path | None, freed: list[str]) -> None:
    """Wake the runs on this machine waiting for the connections in ``freed`` (their leases already freed and
    the run's sessions closed). A bell that cannot ring costs a waiter at most its next look at the warehouse."""
    for key in freed:
        if not key.startswith(state.CONNECTION_LEASE_PREFIX):
            continue  # a sync's own lease: another run of it fails at once, nobody waits
        bell = _lease_bell(warehouse, key)
        if bell is None:
            return
        with contextlib.suppress(OSError):
            bell.parent.mkdir(parents=True, exist_ok=True)
            fresh = bell.with_name(f"{bell.name}.{os.getpid()}")
            fresh.write_bytes(b"")
            os.replace(fresh, bell)  # a new file on every ring: its inode tells this ring from the last


def _release_leases(warehouse: Path | None, held: list[str], run_id: str, freed: list[str]) -> None:
    """Free what the run still holds when it ended before its final session (an error, an interrupt)."""
    if not held:
        return
    try:
        with _session(warehouse) as wh:
            _release_in(wh, held, run_id, freed)
    except Exception as exc:  # noqa: BLE001 - the run's own outcome (or exception) matters more
        log.error("run %s could not release its leases %s (taken over once stale, %s): %s", run_id, held,
                  state.LEASE_STALE_VARIABLE, redact(str(exc))[:500])


def _job_statuses(spec: SyncSpec, destination: Destination, jobs: list[str]) -> dict | None:
    """How the destination says its pending ``jobs`` ended (reasons redacted), or None if it could not say."""
    try:
        # a failed job's reason is stored and may quote the rows it refused: store it redacted
        return {job: s._replace(reason=s.reason and redact(s.reason)) for job, s in destination.job_statuses(jobs).items()}
    except ApiError as exc:
        log.warning("%s: could not read the state of %d pending job(s); asking again next run: %s", spec.id,
                    len(jobs), redact(str(exc))[:500])
        return None


def _settle_jobs(wh: Warehouse, spec: SyncSpec, jobs: list[str], statuses: dict, report: SyncReport) -> None:
    """Record how the pending ``jobs`` ended; the rows of failed ones go back into this run's plan."""
    report.jobs_failed, report.rows_requeued = state.settle_jobs(wh, spec, report.run_id, jobs, statuses)
    if report.jobs_failed:
        log.warning("%s: %d job(s) failed at the destination; their %d rows are planned again (reasons in "
                    "activation.sync_rejections where run_id = '%s')", spec.id, report.jobs_failed,
                    report.rows_requeued, report.run_id)


@contextlib.contextmanager
def _fewer_gc_passes(first_generation: int = 50_000) -> Iterator[None]:
    """Run the send loop with rarer cyclic-GC passes, restoring the process's thresholds afterwards.

    Every batch builds tens of thousands of short-lived dicts, lists and tuples (none in reference cycles); at
    the default threshold of 700 allocations the collector runs dozens of times per batch for nothing, which
    measured 10-25 % of the engine's CPU on a large audience.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(first_generation, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _destination(spec: SyncSpec, connections: Mapping[str, Connection],
                 sleep: Callable[[float], None]) -> Destination:
    if spec.connection not in connections:
        raise SyncFailed(f"sync {spec.id}: connection {spec.connection!r} is not configured "
                         f"(set AIRFLOW_CONN_{spec.connection.upper()})")
    limiter = TokenBucket(spec.rate_limit.rps, spec.rate_limit.burst, sleep=sleep)
    context = SendContext(connection=connections[spec.connection], target=spec.target, object=spec.object,
                          rate_limiter=limiter, sleep=sleep, concurrency=spec.rate_limit.concurrency)
    return DESTINATIONS[spec.destination](context)


@dataclasses.dataclass
class _Plan:
    """A run's plan read out of the warehouse: per kind, its batches (count and tables) and what the send needs
    to know of the sync's state, so sending holds no warehouse session."""

    batches: dict[str, tuple[int, Callable[[], Iterator[pa.Table]]]]
    open_rejections: bool
    listings: state.ListingRegistry
    in_doubt: frozenset[str] | None


def _read_plan(wh: Warehouse, spec: SyncSpec, report: SyncReport, directory: Path) -> _Plan:
    """Read the plan :func:`state.build_plan` made on ``wh`` into ``directory`` (arrow IPC files, one batch per
    record batch; memory-mapped when sent, so a plan of millions of rows is not held in memory)."""
    object_spec = DESTINATIONS[spec.destination].objects[spec.object]
    rows = {"upsert": report.planned_adds + report.planned_changes, "remove": report.planned_removes}
    batches = {kind: _spill(wh, kind, spec.batch_size, rows[kind], object_spec.group_field, directory / kind)
               for kind in KINDS}
    # Rejections of this run are inserted after this check, so only older ones can be resolved by it.
    return _Plan(batches=batches, open_rejections=state.has_open_rejections(wh, spec),
                 listings=state.ListingRegistry.of(wh, spec),
                 # Rows an earlier run journalled and never saw accepted.
                 in_doubt=state.open_intents(wh, spec) if object_spec.send_once else None)


def _spill(wh: Warehouse, kind: str, batch_size: int, rows: int, group_field: str | None,
           path: Path) -> tuple[int, Callable[[], Iterator[pa.Table]]]:
    if group_field is not None:
        # Listings (thousands of rows, not millions): packed in memory, see _packed.
        packed = _packed(list(state.stream_plan(wh, kind, batch_size)), batch_size, group_field)
        return len(packed), lambda: iter(packed)
    streamed, writer, sink = 0, None, None
    try:
        for table in state.stream_plan(wh, kind, batch_size):
            if writer is None:
                sink = pa.OSFile(str(path), "wb")
                writer = pa.ipc.new_file(sink, table.schema)
            writer.write_batch(table.combine_chunks().to_batches()[0])
            streamed += table.num_rows
    finally:
        if writer is not None:
            writer.close()
        if sink is not None:
            sink.close()
    if streamed != rows:
        # A stream cut short (e.g. by a statement run on its connection) must not pass for a finished run.
        raise SyncFailed(f"the {kind} plan streamed {streamed} of {rows} rows; rerun the sync")

    def tables() -> Iterator[pa.Table]:
        if writer is None:
            return
        # Not closed here: batches still in flight refer to the mapping (it goes with the last of them).
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
        for index in range(reader.num_record_batches):
            yield pa.Table.from_batches([reader.get_batch(index)])

    return -(-rows // batch_size), tables


def _batches(run_id: str, kind: str, plan: _Plan) -> Iterator[tuple[Batch, pa.Table]]:
    total, tables = plan.batches[kind]
    for seq, planned in enumerate(tables(), start=1):
        yield Batch(run_id=run_id, kind=kind, seq=seq, total=total, changes=_changes(planned)), planned


def _packed(chunks: list[pa.Table], batch_size: int, group_field: str) -> list[pa.Table]:
    """The plan of one kind cut into batches so each operation's rows, and each group's, travel together.

    For destinations whose objects declare a ``group_field`` (listings: thousands of rows, not millions, so the
    whole kind is held): rows are ordered by operation, groups before single rows, and a group that would not fit
    in the rest of a batch starts the next one after the gap is filled with single rows of the same operation.
    Adds then share batches with adds only (a new listing costs calls a change does not), no group that fits in a
    batch is split, and the batch count stays the minimum unless there are too few single rows to fill the gaps.
    """
    if not chunks:
        return []
    plan = pa.concat_tables(chunks).combine_chunks()
    groups = [payload.get(group_field) or None for payload in json.loads(_json_list(plan.column("payload")))]
    keys, ops = plan.column("record_key").to_pylist(), plan.column("op").to_pylist()
    grouped: dict[str, dict[str, list[int]]] = {}  # op -> group -> its rows
    singles: dict[str, list[int]] = {}  # op -> rows outside any group
    for index in sorted(range(len(keys)), key=lambda i: (ops[i], str(groups[i]), keys[i])):
        if groups[index] is None:
            singles.setdefault(ops[index], []).append(index)
        else:
            grouped.setdefault(ops[index], {}).setdefault(str(groups[index]), []).append(index)
    batches: list[list[int]] = [[]]

    def place(rows: list[int]) -> None:
        for index in rows:
            if len(batches[-1]) == batch_size:
                batches.append([])
            batches[-1].append(index)

    for op in sorted({*grouped, *singles}):
        pool = singles.get(op, [])
        for rows in grouped.get(op, {}).values():
            free = batch_size - len(batches[-1])
            if free < len(rows) <= batch_size:
                filler = pool[len(pool) - min(free, len(pool)):]
                del pool[len(pool) - len(filler):]
                batches[-1].extend(filler)
                batches.append([])
            place(rows)
        place(pool)
    return [plan.take(pa.array(rows, pa.int64())) for rows in batches if rows]


def _changes(planned: pa.Table) -> list[Change]:
    # One decode per batch: the JSON texts are joined inside arrow, so a million rows cost a hundred json.loads.
    payloads = json.loads(_json_list(planned.column("payload")))
    previous = json.loads(_json_list(planned.column("previous")))
    keys = planned.column("record_key").to_pylist()
    ops = planned.column("op").to_pylist()
    return [Change(k, o, p, q) for k, o, p, q in zip(keys, ops, payloads, previous, strict=True)]


def _json_list(column: pa.ChunkedArray) -> str:
    """A column of JSON texts (null = JSON null) as the text of one JSON array."""
    values = pc.fill_null(column.combine_chunks(), "null")
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values), ",")
    return "[" + joined[0].as_py() + "]"


class _Writer:
    """The session batch outcomes are written on: opened (waiting for DuckDB's writer lock) when there is
    something to write, closed before the engine waits on the destination."""

    def __init__(self, warehouse: Path | None) -> None:
        self._warehouse = warehouse
        self._session: contextlib.ExitStack | None = None
        self._wh: Warehouse | None = None

    def session(self) -> Warehouse:
        if self._wh is None:
            stack = contextlib.ExitStack()
            self._wh = stack.enter_context(_session(self._warehouse))
            self._session = stack
        return self._wh

    def session_if_free(self) -> Warehouse | None:
        """The session, or None at once while another process holds the DuckDB file (nothing waits for it)."""
        if self._wh is None:
            stack = contextlib.ExitStack()
            try:
                self._wh = stack.enter_context(connect(self._warehouse, lock_wait_seconds=0))
            except WarehouseBusy:
                stack.close()
                return None
            self._session = stack
        return self._wh

    def release(self) -> None:
        if self._session is not None:
            session, self._session, self._wh = self._session, None, None
            session.close()

    def wait(self, future: Future) -> None:
        """Wait for ``future`` without holding the warehouse (unless it is already done)."""
        if not future.done():
            self.release()
            wait([future])


def _send_plan(warehouse: Path | None, spec: SyncSpec, destination: Destination, report: SyncReport,
               plan: _Plan) -> None:
    workers = spec.rate_limit.concurrency
    in_flight: deque[tuple[Batch, pa.Table, Future[list[RowResult]]]] = deque()
    in_doubt = plan.in_doubt
    writer = _Writer(warehouse)
    # Answered batches whose outcome is not written yet, in order: while another process holds the DuckDB file
    # (a dbt build for a minute or more) an idempotent sync goes on sending and writes them once the file is
    # free. A send-once object (in_doubt journalling) writes every outcome before it sends more, as before.
    answered: deque[tuple[Batch, pa.Table, Future[list[RowResult]]]] = deque()
    may_defer = in_doubt is None
    lease_renewed = time.monotonic()
    defer_seconds = _heartbeat_every()

    def record(wait_for_lock: bool) -> None:
        nonlocal lease_renewed
        if not answered:
            return
        must_wait = (wait_for_lock or not may_defer or time.monotonic() - lease_renewed > defer_seconds
                     or sum(item[1].num_rows for item in answered) > UNRECORDED_MAX_ROWS)
        wh = writer.session() if must_wait else writer.session_if_free()
        if wh is None:
            return
        while answered:
            _collect(wh, spec, report, *answered.popleft(), plan.open_rejections, plan.listings, in_doubt is not None)
        state.renew_lease(wh, spec.id, report.run_id)
        state.renew_lease(wh, _connection_lease(spec), report.run_id)
        lease_renewed = time.monotonic()

    def collect_head() -> None:
        writer.wait(in_flight[0][2])
        answered.append(in_flight.popleft())
        record(wait_for_lock=False)

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"sync-{spec.id}") as pool:
            try:
                for kind in KINDS:
                    # Removes start only after every upsert is answered, so the audience never dips needlessly.
                    # Up to two batches per worker are in flight: the next is prepared while the previous are sent,
                    # and a crash re-sends at most these and the answered ones not written yet (state is committed
                    # per batch, in order, on this thread).
                    for batch, planned in _batches(report.run_id, kind, plan):
                        invalid = planned.column("invalid_fields")
                        rejects = invalid.to_pylist() if invalid.null_count < len(invalid) else None
                        if in_doubt is not None:
                            # Committed before the send: a crash after it leaves the rows in doubt for the next run,
                            # which then asks the destination what it has before sending them again.
                            keys = [c.key for c in batch.changes]
                            state.record_intents(writer.session(), spec, report.run_id, keys)
                            batch = replace(batch, in_doubt=in_doubt.intersection(keys))
                        in_flight.append((batch, planned, pool.submit(_send_one, destination, batch, rejects)))
                        while len(in_flight) >= workers * 2:
                            collect_head()
                    while in_flight:
                        collect_head()
                record(wait_for_lock=True)
            except BaseException:
                # Batches not started yet are not sent: their outcome would never be recorded (and a run that
                # lost its lease must not send any more).
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        writer.release()


def _send_one(destination: Destination, batch: Batch, invalid: list[str | None] | None) -> list[RowResult]:
    """Refuse rows whose hashed identifiers are not 64-hex SHA-256 (flagged by the plan), send the rest."""
    results: list[RowResult] = []
    valid = batch.changes
    if invalid is not None:
        valid = []
        for change, bad in zip(batch.changes, invalid, strict=True):
            if bad:
                results.append(RowResult(change.key, "rejected", f"refused to send: field(s) {bad} not a 64-hex SHA-256",
                                         sent=False))
            else:
                valid.append(change)
    if not valid:
        return results
    sub = replace(batch, changes=valid)
    try:
        answered = destination.send(sub)
    except ApiError as exc:
        reason = redact(str(exc))[:1000]
        log.warning("batch %s/%d of %d failed: %s", batch.kind, batch.seq, batch.total, reason)
        answered = [RowResult(c.key, "rejected", reason) for c in valid]
    if len(answered) == len(valid) and [r.key for r in answered] == [c.key for c in valid]:
        return results + answered  # the usual case: one answer per row, in order
    by_key = {r.key: r for r in answered}
    for change in valid:
        results.append(by_key.get(change.key) or RowResult(change.key, "rejected", "destination gave no answer for row"))
    return results


def _collect(wh: Warehouse, spec: SyncSpec, report: SyncReport, batch: Batch, planned: pa.Table,
             future: Future[list[RowResult]], open_rejections: bool, listings: state.ListingRegistry,
             journal_intents: bool = False) -> None:
    results = future.result()
    # One transpose (in C) instead of a Python loop per field: a batch can hold tens of thousands of answers.
    answered = dict(zip(RowResult._fields, zip(*results, strict=True), strict=True)) if results else {}
    outcomes: tuple[str, ...] = answered.get("outcome", ())
    accepted, skipped = outcomes.count("accepted"), outcomes.count("skipped")
    if accepted == len(results) == planned.num_rows:
        # The usual case: every planned row accepted, so the answers are the plan's own keys.
        answers = pa.table({"record_key": planned.column("record_key"),
                            "outcome": pa.array(["accepted"] * accepted, pa.string()),
                            "reason": pa.nulls(accepted, pa.string())})
    else:
        # an API's reason may quote the rejected value (an e-mail): store it redacted
        reasons = [redact(r) if r else None for r in answered.get("reason", ())]
        answers = pa.table({"record_key": pa.array(answered.get("key", ()), pa.string()),
                            "outcome": pa.array(outcomes, pa.string()), "reason": pa.array(reasons, pa.string())})
    for optional in ("job", "remote_id"):
        if any(answered.get(optional, ())):
            answers = answers.append_column(optional, pa.array(answered[optional], pa.string()))
    replaces_state = bool(pc.any(pc.not_equal(planned.column("op"), "add")).as_py())
    state.record_results(wh, spec, report.run_id, planned, answers, open_rejections=open_rejections,
                         replaces_state=replaces_state, listings=listings, journal_intents=journal_intents)
    report.sent += answered.get("sent", ()).count(True)
    report.accepted += accepted
    report.skipped += skipped
    report.rejected += len(outcomes) - accepted - skipped
    if accepted < len(outcomes):
        first = next(r for r in results if r.outcome != "accepted")
        log.warning("%s batch %s/%d: %d of %d rows not accepted, e.g. %s", spec.id, batch.kind, batch.seq,
                    len(outcomes) - accepted, len(results), redact(first.reason or ""))
