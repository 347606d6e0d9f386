"""The engine's warehouse tables (``activation.*``) and the SQL that plans a run by diffing model vs state.

The diff is one warehouse query: the model's mapped rows are hashed and full-outer-joined to the hashes the
destination last confirmed. Only the resulting plan (adds, changes, removes) ever reaches Python, streamed as
arrow batches; each batch's outcome goes back as arrow too.

``activation.listing_ids`` is the listing id registry: the id a destination gave each listing a sync created
(``RowResult.remote_id``: an eBay offer id, an Amazon SKU, an Etsy listing id, a Shopify inventory item id), per
(sync, record key), with the marketplace the sync lists on, so the stock feed addresses listings Narrowcast
created without a hand-kept file. dbt creates the same table empty (macro ``ensure_listing_registry``) so the feed
can read it before any listing sync ran.

``activation.sync_leases`` keeps two runs of one sync from running at once (see :func:`take_lease`), and two syncs
from sending on one destination account at once (:func:`connection_lease`: the row of key ``connection:<id>``, or
``connection:<id>:<budget>`` for an object whose API limits its endpoints on their own).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from narrowcast import settings
from narrowcast.activation.report import SyncFailed, SyncReport
from narrowcast.activation.spec import SyncSpec
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.sql import quote_qualified
from narrowcast.processes import process_gone, this_process
from narrowcast.warehouse import UndefinedObject, Warehouse, sql_string

# The listing id registry, one row per (sync_id, record_key). first_seen_at: when this remote id was first confirmed
# for the key; last_confirmed_at: the latest accepted create or update; ended_at: a remove ended the listing
# (cleared when the key is created again). Keep in step with dbt_project/macros/ensure_listing_registry.sql.
LISTING_IDS_DDL = """create table if not exists activation.listing_ids (
    sync_id varchar not null, marketplace varchar not null, record_key varchar not null,
    remote_id varchar not null, first_seen_at timestamp not null, last_confirmed_at timestamp not null,
    ended_at timestamp)"""
DDL = (
    """create table if not exists activation.sync_state (
        sync_id varchar not null, record_key varchar not null, payload_hash varchar not null,
        payload varchar, confirmed_at timestamp not null)""",
    """create table if not exists activation.sync_runs (
        run_id varchar not null, sync_id varchar not null, started_at timestamp not null, finished_at timestamp,
        dry_run boolean not null, status varchar not null, planned_adds bigint, planned_changes bigint,
        planned_removes bigint, sent bigint, accepted bigint, rejected bigint, skipped bigint, api_calls bigint,
        duration_seconds double precision, error varchar)""",
    """create table if not exists activation.sync_rejections (
        run_id varchar not null, sync_id varchar not null, record_key varchar not null, operation varchar not null,
        reason varchar, payload_hash varchar, rejected_at timestamp not null, resolved_at timestamp,
        outcome varchar not null default 'rejected')""",
    # Asynchronous jobs a destination accepted rows into (RowResult.job) and the state each row had before
    # its job, so the rows of a job that fails later can be put back and re-planned.
    """create table if not exists activation.sync_jobs (
        sync_id varchar not null, job varchar not null, run_id varchar not null, submitted_at timestamp not null,
        status varchar not null, checked_at timestamp, reason varchar)""",
    """create table if not exists activation.sync_job_rows (
        sync_id varchar not null, job varchar not null, record_key varchar not null, operation varchar not null,
        payload_hash varchar, previous_hash varchar, previous_payload varchar)""",
    LISTING_IDS_DDL,
    # The intent journal of destinations whose rows must reach the API once (a shipment): a row's key is written
    # and committed here before it is sent, and removed in the transaction that records its acceptance. A row
    # still here at the next run was sent by a run that died before its state commit, or refused.
    """create table if not exists activation.sync_intents (
        sync_id varchar not null, record_key varchar not null, run_id varchar not null,
        intended_at timestamp not null)""",
    # The run that holds each sync (see take_lease): one row per sync while a run of it is under way.
    """create table if not exists activation.sync_leases (
        sync_id varchar primary key, run_id varchar not null, host varchar not null, pid bigint not null,
        pid_scope varchar not null, taken_at timestamp not null, heartbeat_at timestamp not null)""",
)
# Columns added after the first release; existing warehouses gain them on the next run.
MIGRATIONS = tuple(
    f"alter table activation.sync_runs add column if not exists {column} bigint default 0"
    for column in ("jobs_pending", "jobs_failed", "rows_requeued")
)
RUN_COLUMNS = ("run_id", "sync_id", "started_at", "finished_at", "dry_run", "status", "planned_adds",
               "planned_changes", "planned_removes", "sent", "accepted", "rejected", "skipped", "api_calls",
               "duration_seconds", "error", "jobs_pending", "jobs_failed", "rows_requeued")

PLAN_TABLE = "activation_plan"
log = redacting_logger(__name__)
_MODE_OPS = {"upsert": ("add", "change"), "mirror": ("add", "change", "remove"), "add_only": ("add",)}


def ensure_tables(wh: Warehouse) -> None:
    wh.ensure_schema("activation")
    for statement in (*DDL, *MIGRATIONS):
        wh.execute(statement)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return sql_string(value)


def _condition(column: str, value: Any) -> str:
    if isinstance(value, dict):
        return f"{quote_qualified(column)} like {_literal(value['like'])}"
    values = value if isinstance(value, list) else [value]
    return f"{quote_qualified(column)} in ({', '.join(_literal(v) for v in values)})"


def model_columns(wh: Warehouse, spec: SyncSpec) -> set[str]:
    try:
        columns = wh.columns(f"select * from {quote_qualified(spec.model)}")
    except UndefinedObject as exc:
        raise SyncFailed(f"sync {spec.id}: model {spec.model!r} does not exist in the warehouse (run dbt first)") from exc
    return {name for name, _ in columns}


def build_plan(wh: Warehouse, spec: SyncSpec,
               hashed_fields: frozenset[str] = frozenset()) -> dict[str, int]:
    """Create the plan temp table for ``spec``; returns counts per operation.

    ``hashed_fields`` are destination fields that must hold a lowercase SHA-256 hex: rows where one does not are
    flagged in the plan (``invalid_fields``) so the engine refuses them without a per-row check in Python.
    """
    columns = model_columns(wh, spec)
    fields = {}
    for dest_field, fmap in spec.fields.items():
        if fmap.column in columns:
            fields[dest_field] = fmap.column
        elif not fmap.optional:
            raise SyncFailed(f"sync {spec.id} ({spec.where()}): field {dest_field!r} maps column {fmap.column!r}, "
                             f"which model {spec.model!r} does not have")
    for column in (*spec.key, *spec.filter):
        if column not in columns:
            raise SyncFailed(f"sync {spec.id} ({spec.where()}): column {column!r} is not in model {spec.model!r}")

    def json_object(names: list[str]) -> str:
        return wh.dialect.json_object([(n, quote_qualified(fields[n])) for n in names])

    ordered = sorted(fields)
    key_expr = "concat_ws('|', " + ", ".join(f"cast({quote_qualified(k)} as varchar)" for k in spec.key) + ")"
    where = " and ".join(_condition(c, v) for c, v in spec.filter.items()) or "true"
    ops = ", ".join(_literal(o) for o in _MODE_OPS[spec.mode])
    # Without PII the stored payload is the sent one: null here (read back with coalesce) halves the plan's size.
    stored = (json_object([f for f in ordered if f not in spec.pii]) if spec.pii & set(fields)
              else "null::varchar")
    checks = [f"case when {quote_qualified(fields[f])} is not null and not "
              f"{wh.dialect.regex_full_match(f'cast({quote_qualified(fields[f])} as varchar)', '[0-9a-f]{64}')} "
              f"then {_literal(f)} end"
              for f in ordered if f in hashed_fields]
    invalid = f"nullif(concat_ws(', ', {', '.join(checks)}), '')" if checks else "null::varchar"
    plan = f"""
        with source_rows as (
            select {key_expr} as record_key,
                   {json_object(ordered)} as payload,
                   {stored} as stored,
                   {invalid} as invalid_fields
            from {quote_qualified(spec.model)}
            where {where}
        ),
        -- md5 is a change detector here, not a protection: 3x cheaper than sha256 at a million rows.
        current_rows as (
            select *, md5(payload) as payload_hash from source_rows
        ),
        confirmed as (
            select record_key, payload_hash, payload from activation.sync_state where sync_id = $sync_id
        ),
        diffed as (
            select coalesce(c.record_key, s.record_key) as record_key,
                   case when s.record_key is null then 'add'
                        when c.record_key is null then 'remove'
                        when c.payload_hash <> s.payload_hash then 'change' end as op,
                   coalesce(c.payload, s.payload) as payload,
                   c.stored,
                   c.payload_hash,
                   s.payload as previous,
                   c.invalid_fields
            from current_rows c
            full outer join confirmed s on c.record_key = s.record_key
        )
        -- Not sorted: the engine streams each kind with one scan, and batches need no key order (a sort of a
        -- million payloads would cost more memory than the plan itself).
        select *, case when op = 'remove' then 'remove' else 'upsert' end as kind
        from diffed where op in ({ops})
    """
    dupes = wh.fetchall(
        f"select {key_expr} as k, count(*) from {quote_qualified(spec.model)} where {where} group by 1 having count(*) > 1 limit 3"
    )
    if dupes:
        raise SyncFailed(f"sync {spec.id}: key {list(spec.key)} is not unique in {spec.model} "
                         f"(e.g. {dupes[0][0]!r} appears {dupes[0][1]} times)")
    wh.execute(f"drop table if exists {PLAN_TABLE}")
    wh.execute(f"create temp table {PLAN_TABLE} as {plan}", {"sync_id": spec.id})
    counts = dict(wh.fetchall(f"select op, count(*) from {PLAN_TABLE} group by op"))
    return {op: int(counts.get(op, 0)) for op in ("add", "change", "remove")}


def stream_plan(wh: Warehouse, kind: str, batch_size: int) -> Iterator[pa.Table]:
    """The plan rows of one kind as arrow tables of exactly ``batch_size`` rows (the last may be shorter).

    One streaming scan: the warehouse hands over arrow record batches, so at most a few batches are in Python at a time
    whatever the plan's size.
    """
    reader = wh.stream(
        f"""select record_key, op, payload, previous, coalesce(stored, payload) as stored, payload_hash,
                   invalid_fields
            from {PLAN_TABLE} where kind = ?""",
        [kind],
        batch_size,
    )
    pending: list[pa.RecordBatch] = []
    held = 0
    for chunk in reader:
        pending.append(chunk)
        held += chunk.num_rows
        # The warehouse's chunks need not be batch_size long: re-cut them so batches are exactly the declared size.
        while held >= batch_size:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            yield table.slice(0, batch_size).combine_chunks()
            rest = table.slice(batch_size)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending, schema=reader.schema).combine_chunks()


def record_results(wh: Warehouse, spec: SyncSpec, run_id: str, planned: pa.Table,
                   results: pa.Table, *, open_rejections: bool = True, replaces_state: bool = True,
                   listings: ListingRegistry | None = None, journal_intents: bool = False) -> None:
    """Advance state for accepted rows and log the others, in one transaction (one commit per batch).

    ``planned`` is the batch as streamed by :func:`stream_plan`; ``results`` has ``record_key``, ``outcome``,
    ``reason`` and optionally ``job`` and ``remote_id``. Both are arrow tables joined inside the warehouse, so no
    statement here loops over rows in Python. Rows accepted into an asynchronous job also get their previous state
    kept with the job; accepted rows with a remote id, and rows of a sync with registered listings, update
    ``activation.listing_ids`` (see :func:`_register_listings`). With ``journal_intents``, accepted rows close
    their intent (:func:`record_intents`) in the same transaction; refused ones keep it, as a refusal the engine
    made of a failed request does not prove the destination never applied it.
    """
    has_jobs = "job" in results.column_names and results.column("job").null_count < results.num_rows
    has_remote_ids = ("remote_id" in results.column_names
                      and results.column("remote_id").null_count < results.num_rows)
    outcome = f"""with batch_outcome as (
            select p.record_key, p.op, p.payload_hash, p.stored, p.payload, r.outcome, r.reason,
                   {'r.job' if has_jobs else 'null::varchar as job'},
                   {'r.remote_id' if has_remote_ids else 'null::varchar as remote_id'}
            from batch_planned p join batch_results r using (record_key))"""
    where = {"sync_id": spec.id}
    if has_remote_ids and (listings is None or listings.marketplace is None):
        raise SyncFailed(f"sync {spec.id} ({spec.where()}): its destination names the listings it creates, but the "
                         "sync filters no single marketplace (filter: {marketplace: ...}), so the listing ids "
                         "could not be registered for the feed")
    with (wh.arrow_relation("batch_planned", planned), wh.arrow_relation("batch_results", results),
          wh.transaction()):
        if has_remote_ids or (listings is not None and listings.tracked):
            _register_listings(wh, spec, outcome, listings, has_remote_ids=has_remote_ids)
        if has_jobs:
            wh.execute(
                f"""insert into activation.sync_job_rows
                   {outcome}
                   select $sync_id, o.job, o.record_key, o.op, o.payload_hash, s.payload_hash, s.payload
                   from batch_outcome o
                   left join activation.sync_state s on s.sync_id = $sync_id and s.record_key = o.record_key
                   where o.outcome = 'accepted' and o.job is not null""",
                where,
            )
            # A job name seen before and already settled is a new job (an API that reuses ids): it is pending again.
            wh.execute(
                """delete from activation.sync_jobs
                   where sync_id = $sync_id and status <> 'pending'
                     and job in (select job from batch_results where outcome = 'accepted')""",
                where,
            )
            wh.execute(
                """insert into activation.sync_jobs (sync_id, job, run_id, submitted_at, status)
                   select distinct $sync_id, job, $run_id, now()::timestamp, 'pending' from batch_results
                   where outcome = 'accepted' and job is not null
                     and job not in (select job from activation.sync_jobs where sync_id = $sync_id)""",
                {**where, "run_id": run_id},
            )
        # Adds have no state row yet (else they would not be adds), so only changes and removes delete;
        # a batch of adds skips the scan of sync_state altogether.
        if replaces_state:
            wh.execute(
                f"""delete from activation.sync_state
                   where sync_id = $sync_id and record_key in (
                       {outcome} select record_key from batch_outcome where outcome = 'accepted' and op <> 'add')""",
                where,
            )
        wh.execute(
            f"""insert into activation.sync_state
               {outcome}
               select $sync_id, record_key, payload_hash, stored, now()::timestamp
               from batch_outcome where outcome = 'accepted' and op <> 'remove'""",
            where,
        )
        if journal_intents:
            wh.execute(
                """delete from activation.sync_intents
                   where sync_id = $sync_id
                     and record_key in (select record_key from batch_results where outcome = 'accepted')""",
                where,
            )
        if open_rejections:
            wh.execute(
                """update activation.sync_rejections set resolved_at = now()::timestamp
                   where sync_id = $sync_id and resolved_at is null
                     and record_key in (select record_key from batch_results where outcome = 'accepted')""",
                where,
            )
        if results.column("outcome").null_count or not pc.all(pc.equal(results.column("outcome"), "accepted")).as_py():
            wh.execute(
                f"""insert into activation.sync_rejections
                      (run_id, sync_id, record_key, operation, reason, payload_hash, rejected_at, resolved_at, outcome)
                   {outcome}
                   select $run_id, $sync_id, record_key, op, reason, coalesce(payload_hash, md5(payload)),
                          now()::timestamp, null, outcome
                   from batch_outcome where outcome in ('rejected', 'skipped')""",
                {**where, "run_id": run_id},
            )


@dataclass
class ListingRegistry:
    """What the engine knows of a sync's entries in ``activation.listing_ids`` during one run.

    ``marketplace``: the sync's ``filter: {marketplace: ...}`` value, the feed's name for the marketplace the
    sync lists on; ``tracked``: the sync has registered listings (before or during this run), so its removes end
    them and its updates confirm them.
    """

    marketplace: str | None
    tracked: bool

    @classmethod
    def of(cls, wh: Warehouse, spec: SyncSpec) -> ListingRegistry:
        marketplace = spec.filter.get("marketplace")
        return cls(marketplace=marketplace if isinstance(marketplace, str) else None,
                   tracked=bool(wh.scalar("select count(*) from activation.listing_ids where sync_id = ?",
                                          [spec.id])))


def _register_listings(wh: Warehouse, spec: SyncSpec, outcome: str, listings: ListingRegistry | None, *,
                       has_remote_ids: bool) -> None:
    """Remember the remote ids of accepted creates and updates; end the listings of accepted removes.

    An accepted update without a remote id (an API whose update answer names none) keeps the registered id and
    only confirms it. Called inside :func:`record_results`' transaction, with its relations registered.
    """
    accepted = f"""({outcome} select record_key, op, remote_id from batch_outcome where outcome = 'accepted') o"""
    params = {"sync_id": spec.id}
    if has_remote_ids and listings is not None:
        registered = {**params, "marketplace": listings.marketplace}
        # The first-seen time belongs to the id: a listing re-created under a new id is first seen now.
        wh.execute(
            f"""update activation.listing_ids set
                   first_seen_at = case when listing_ids.remote_id = o.remote_id then listing_ids.first_seen_at
                                        else now()::timestamp end,
                   remote_id = o.remote_id, marketplace = $marketplace, last_confirmed_at = now()::timestamp,
                   ended_at = null
               from {accepted}
               where listing_ids.sync_id = $sync_id and listing_ids.record_key = o.record_key
                 and o.op <> 'remove' and o.remote_id is not null""",
            registered,
        )
        wh.execute(
            f"""insert into activation.listing_ids
                   (sync_id, marketplace, record_key, remote_id, first_seen_at, last_confirmed_at, ended_at)
               select $sync_id, $marketplace, o.record_key, o.remote_id, now()::timestamp, now()::timestamp, null
               from {accepted}
               where o.op <> 'remove' and o.remote_id is not null and not exists (
                   select 1 from activation.listing_ids l where l.sync_id = $sync_id and l.record_key = o.record_key)""",
            registered,
        )
        listings.tracked = True
    if listings is not None and listings.tracked:
        wh.execute(
            f"""update activation.listing_ids set
                   last_confirmed_at = case when o.op = 'remove' then listing_ids.last_confirmed_at
                                            else now()::timestamp end,
                   ended_at = case when o.op = 'remove' then coalesce(listing_ids.ended_at, now()::timestamp) end
               from {accepted}
               where listing_ids.sync_id = $sync_id and listing_ids.record_key = o.record_key
                 and (o.op = 'remove' or o.remote_id is null)""",
            params,
        )


def confirmed_members(wh: Warehouse, spec: SyncSpec) -> int:
    """How many rows the destination has confirmed for ``spec``: the base of the mirror removal guard."""
    return int(wh.scalar("select count(*) from activation.sync_state where sync_id = ?", [spec.id]))


def record_intents(wh: Warehouse, spec: SyncSpec, run_id: str, keys: list[str]) -> None:
    """Journal, in a transaction of its own committed before the send, that these rows are about to be sent."""
    with wh.arrow_relation("batch_intents", pa.table({"record_key": pa.array(keys, pa.string())})), wh.transaction():
        wh.execute(
            """insert into activation.sync_intents (sync_id, record_key, run_id, intended_at)
               select distinct $sync_id, record_key, $run_id, now()::timestamp from batch_intents
               where record_key not in (select record_key from activation.sync_intents where sync_id = $sync_id)""",
            {"sync_id": spec.id, "run_id": run_id},
        )


def open_intents(wh: Warehouse, spec: SyncSpec) -> frozenset[str]:
    """Keys of rows an earlier run journalled and never saw accepted: the destination may already have them."""
    rows = wh.fetchall("select record_key from activation.sync_intents where sync_id = $sync_id", {"sync_id": spec.id})
    return frozenset(str(row[0]) for row in rows)


def has_open_rejections(wh: Warehouse, spec: SyncSpec) -> bool:
    return bool(wh.scalar("select count(*) from activation.sync_rejections where sync_id = ? and resolved_at is null",
                          [spec.id]))


def pending_jobs(wh: Warehouse, spec: SyncSpec) -> list[str]:
    """The sync's asynchronous jobs whose outcome is not known yet, oldest first."""
    rows = wh.fetchall("select job from activation.sync_jobs where sync_id = ? and status = 'pending' "
                       "order by submitted_at, job", [spec.id])
    return [r[0] for r in rows]


def settle_jobs(wh: Warehouse, spec: SyncSpec, run_id: str, jobs: list[str],
                statuses: Mapping[str, tuple[str, str | None]]) -> tuple[int, int]:
    """Record how the pending ``jobs`` (oldest first) ended, as (state, reason) per job; a job without a status
    stays pending. Returns (jobs failed, rows put back into the plan).

    A succeeded job only forgets its rows. A failed job's rows get the state they had before it (an add is
    forgotten, a change or remove gets its previous row back), so the next plan sends them again; a row that a
    later run already moved on is left as it is. Failed jobs are undone newest first, so a row that went through
    several failed jobs ends at the state before the oldest. Each failed row is logged in sync_rejections.
    """
    where = {"sync_id": spec.id}
    answered = {job: statuses[job] for job in jobs if job in statuses}
    failed = [job for job in reversed(jobs) if job in answered and answered[job][0] == "failed"]
    requeued = 0
    with wh.transaction():
        for job, (job_state, reason) in answered.items():
            if job_state == "succeeded":
                wh.execute("delete from activation.sync_job_rows where sync_id = $sync_id and job = $job",
                            {**where, "job": job})
            wh.execute(
                """update activation.sync_jobs set status = $status, checked_at = now()::timestamp, reason = $reason
                   where sync_id = $sync_id and job = $job and status = 'pending'""",
                {**where, "job": job, "status": job_state, "reason": reason},
            )
        for job in failed:
            params = {**where, "job": job}
            rows = "select * from activation.sync_job_rows where sync_id = $sync_id and job = $job"
            wh.execute(
                f"""delete from activation.sync_state s
                   where s.sync_id = $sync_id and exists (
                       select 1 from ({rows}) r
                       where r.record_key = s.record_key and r.operation <> 'remove'
                         and r.payload_hash = s.payload_hash)""",
                params,
            )
            wh.execute(
                f"""insert into activation.sync_state
                   select $sync_id, r.record_key, r.previous_hash, r.previous_payload, now()::timestamp
                   from ({rows}) r
                   where r.previous_hash is not null and not exists (
                       select 1 from activation.sync_state s
                       where s.sync_id = $sync_id and s.record_key = r.record_key)""",
                params,
            )
            reason = f"asynchronous job {job} failed: {statuses[job][1] or 'no reason given'}"
            wh.execute(
                f"""insert into activation.sync_rejections
                      (run_id, sync_id, record_key, operation, reason, payload_hash, rejected_at, resolved_at, outcome)
                   select $run_id, $sync_id, record_key, operation, $reason, payload_hash, now()::timestamp, null,
                          'rejected'
                   from ({rows}) r""",
                {**params, "run_id": run_id, "reason": reason},
            )
            requeued += wh.scalar(f"select count(*) from ({rows}) r", params)
            wh.execute("delete from activation.sync_job_rows where sync_id = $sync_id and job = $job", params)
    return len(failed), requeued


def write_run(wh: Warehouse, report: SyncReport, *, finished: bool) -> None:
    wh.execute("delete from activation.sync_runs where run_id = ?", [report.run_id])
    wh.execute(
        f"""insert into activation.sync_runs ({", ".join(RUN_COLUMNS)}) values
           (?, ?, {wh.dialect.seconds_before_now("?")},
            case when ? then now()::timestamp end, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [report.run_id, report.sync_id, report.duration_seconds, finished, report.dry_run, report.status,
         report.planned_adds, report.planned_changes, report.planned_removes, report.sent, report.accepted,
         report.rejected, report.skipped, report.api_calls, report.duration_seconds, report.error,
         report.jobs_pending, report.jobs_failed, report.rows_requeued],
    )


LEASE_STALE_VARIABLE = "NARROWCAST_SYNC_LEASE_STALE_SECONDS"
DEFAULT_LEASE_STALE_SECONDS = 900.0
_LEASE_COLUMNS = "run_id, host, pid, pid_scope, taken_at, heartbeat_at"


@dataclass(frozen=True)
class Lease:
    """Who holds a sync: its run, the process (host, pid and the pid namespace it is counted in) and since when."""

    run_id: str
    host: str
    pid: int
    pid_scope: str
    taken_at: dt.datetime
    heartbeat_at: dt.datetime

    def describe(self) -> str:
        return (f"run {self.run_id} (pid {self.pid} on {self.host}) since {self.taken_at:%Y-%m-%d %H:%M:%S}, "
                f"last heartbeat {self.heartbeat_at:%Y-%m-%d %H:%M:%S}")

    def process_gone(self) -> bool:
        """Whether the holding process is known to be dead: it ran on this host, in this pid namespace, and no
        process has its pid any more. A holder elsewhere is never presumed dead (only its heartbeat tells)."""
        return process_gone(self.host, self.pid_scope, self.pid)


def lease_stale_seconds() -> float:
    """``NARROWCAST_SYNC_LEASE_STALE_SECONDS`` (default 900): a lease whose heartbeat is older is taken over."""
    seconds = settings.env_float(LEASE_STALE_VARIABLE, DEFAULT_LEASE_STALE_SECONDS)
    if seconds <= 0:
        raise settings.ConfigError(f"{LEASE_STALE_VARIABLE}={seconds:g} must be a positive number of seconds")
    return seconds


def lease_holder(wh: Warehouse, sync_id: str, stale_seconds: float | None = None) -> tuple[Lease, bool] | None:
    """The lease on ``sync_id`` and whether its heartbeat is older than ``stale_seconds``, or None if free."""
    stale = lease_stale_seconds() if stale_seconds is None else stale_seconds
    row = wh.fetchone(
        f"""select {_LEASE_COLUMNS}, heartbeat_at < {wh.dialect.seconds_before_now("$stale")}
            from activation.sync_leases where sync_id = $sync_id""",
        {"sync_id": sync_id, "stale": stale},
    )
    return None if row is None else (Lease(str(row[0]), str(row[1]), int(row[2]), str(row[3]), row[4], row[5]),
                                      bool(row[6]))


class LeaseHeld(SyncFailed):
    """Another live run holds the lease; ``holder`` says which."""

    def __init__(self, message: str, holder: Lease) -> None:
        super().__init__(message)
        self.holder = holder


# A lease key names a sync, or with this prefix a connection (a destination account: its rate budget is shared by
# every sync that sends on it).
CONNECTION_LEASE_PREFIX = "connection:"


def connection_lease(connection_id: str, rate_budget: str | None = None) -> str:
    """The lease key of a connection (or of one of its rate budgets, where the API limits endpoints on their own:
    :attr:`ObjectSpec.rate_budget`): held by the one sync run sending on it (see :func:`take_lease`)."""
    return CONNECTION_LEASE_PREFIX + connection_id + (f":{rate_budget}" if rate_budget else "")


def _lease_name(key: str) -> str:
    """What a lease key names, for messages: ``sync <id>``, ``connection <id>`` or ``connection <id> (<budget>)``."""
    if key.startswith(CONNECTION_LEASE_PREFIX):
        connection, _, budget = key.removeprefix(CONNECTION_LEASE_PREFIX).partition(":")
        return f"connection {connection}" + (f" ({budget})" if budget else "")
    return f"sync {key}"


def _held_message(key: str, holder: Lease) -> str:
    taken_over = f"A lease whose heartbeat is older than {LEASE_STALE_VARIABLE} seconds is taken over"
    if key.startswith(CONNECTION_LEASE_PREFIX):
        return f"{_lease_name(key)} is in use by {holder.describe()}. {taken_over}"
    return f"{_lease_name(key)} is already running: {holder.describe()}; this run sent nothing. {taken_over}"


def take_lease(wh: Warehouse, sync_id: str, run_id: str, stale_seconds: float | None = None) -> Lease | None:
    """Make ``run_id`` the one run of ``sync_id`` (or of a :func:`connection_lease` key); raises :class:`LeaseHeld`
    naming the holder if another run holds it. Returns the lease taken over (logged as a warning), if any.

    A held lease is taken over when its heartbeat is older than ``stale_seconds`` (default
    :func:`lease_stale_seconds`) or its process is known to be gone (:meth:`Lease.process_gone`: a killed run on
    this host). Every write is one statement that succeeds only if the row is still as read (free, or held by the
    same run with the same heartbeat), so of two runs racing for a sync on PostgreSQL exactly one wins: the other
    blocks on the row, re-reads it and matches nothing. On DuckDB the writer lock serialises the transaction.
    """
    mine = {"sync_id": sync_id, "run_id": run_id, **this_process()}
    with wh.transaction():
        held = lease_holder(wh, sync_id, stale_seconds)
        if held is None:
            taken = wh.modified(
                f"""insert into activation.sync_leases (sync_id, {_LEASE_COLUMNS})
                    values ($sync_id, $run_id, $host, $pid, $pid_scope, now()::timestamp, now()::timestamp)
                    on conflict (sync_id) do nothing""",
                mine,
            )
            previous = None
        else:
            previous, stale = held
            reason = "its heartbeat is stale" if stale else "its process is gone" if previous.process_gone() else None
            if reason is None:
                raise LeaseHeld(_held_message(sync_id, previous), previous)
            taken = wh.modified(
                """update activation.sync_leases
                   set run_id = $run_id, host = $host, pid = $pid, pid_scope = $pid_scope,
                       taken_at = now()::timestamp, heartbeat_at = now()::timestamp
                   where sync_id = $sync_id and run_id = $old_run and heartbeat_at = $old_heartbeat""",
                {**mine, "old_run": previous.run_id, "old_heartbeat": previous.heartbeat_at},
            )
    if not taken:  # another run took the sync between the read and the write
        winner = lease_holder(wh, sync_id, stale_seconds)
        if winner:
            raise LeaseHeld(_held_message(sync_id, winner[0]), winner[0])
        raise SyncFailed(f"sync {sync_id}: another run took and released it while this one started; run it again")
    if previous is not None:
        log.warning("sync %s: took over the lease of %s: %s", sync_id, previous.describe(), reason)
    return previous


def renew_lease(wh: Warehouse, sync_id: str, run_id: str) -> None:
    """Refresh the heartbeat of ``run_id``'s lease; raises :class:`SyncFailed` if another run took it over (this
    run was presumed dead: it must stop sending)."""
    if wh.modified("update activation.sync_leases set heartbeat_at = now()::timestamp "
                   "where sync_id = $sync_id and run_id = $run_id", {"sync_id": sync_id, "run_id": run_id}):
        return
    holder = lease_holder(wh, sync_id)
    raise SyncFailed(f"{_lease_name(sync_id)}: run {run_id} lost its lease "
                     f"({'now held by ' + holder[0].describe() if holder else 'released'}): its heartbeat went "
                     f"stale ({LEASE_STALE_VARIABLE}); stopping so two runs do not send the same rows")


def release_lease(wh: Warehouse, sync_id: str, run_id: str) -> None:
    """Free ``sync_id`` if ``run_id`` still holds it (a run that was taken over frees nothing)."""
    wh.execute("delete from activation.sync_leases where sync_id = $sync_id and run_id = $run_id",
               {"sync_id": sync_id, "run_id": run_id})
