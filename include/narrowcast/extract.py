"""The extract runner: one source, one data interval → landing zone → quality gate → ``raw.*``.

``run_catching_up`` is what a scheduled ``extract_*`` DAG task calls (inside the one-slot DuckDB pool): it reads
from the source's stored watermark to the data interval's end, in bounded windows, so downtime leaves no gap;
``run_source`` reads one given window (manual runs with a window, backfills, tests); ``main`` is the CLI
(``python -m narrowcast.extract shopify --start 2024-01-01 --end 2024-01-02``), which prints ``skipped: <reason>``
and exits 0 for a source the merchant does not use (:mod:`narrowcast.sources.enabled`).

Steps: extract the window widened by the source's lookback and land every page (the warehouse is not opened
while an API is being paged); then, per entity batch, type it, run the quality gate and load the valid rows
(quarantine + load + ``meta.batches`` in one transaction); finally advance ``meta.watermarks`` to the window's
end for every entity that loaded. A source that lands a batch per file (the inbox) loads each file's batches on
their own, replacing only what the file holds, and logs each attempt in ``meta.files``; one whose files load
together (GA4 exports: a backfill brings many days) lands the run's new files into one batch per entity, gated
and loaded once, each file still logged and held to the threshold on its own (when one fails it, every file's
rows are split off into batches of their own and load as the inbox's do). A batch above the quarantine threshold, a schema drift or an unreadable file records its failure, lets the other
entities/files load, and then fails the run with every reason. Parents are gated before their children: a
child row whose parent row was quarantined is quarantined with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from narrowcast import settings
from narrowcast.alerts import Alert, AlertError, send_alert
from narrowcast.contracts.connections import Connection, connection_variable
from narrowcast.contracts.extraction import Extractor, InputFile
from narrowcast.contracts.pages import Page
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.tables import SourceSpec
from narrowcast.contracts.timestamps import utc_naive
from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import Batch, FileShare, LandingZone
from narrowcast.loading.ddl import META_TABLES, ensure_meta_tables
from narrowcast.loading.loader import load_batch
from narrowcast.loading.staging import StagedBatch, stage_batch
from narrowcast.quality.gate import (
    GateResult,
    QualityGateFailed,
    check_batch,
    enforce_threshold,
    hold_back_children,
)
from narrowcast.sources.enabled import source_state
from narrowcast.sources.registry import SOURCES
from narrowcast.sources.registry import source as source_spec
from narrowcast.warehouse import Warehouse, connect, warm_up_frames

log = redacting_logger(__name__)

EMPTY_FAILURES = pa.table(
    {"_row": pa.array([], pa.int64()), "rule": pa.array([], pa.string()), "column_name": pa.array([], pa.string())}
)


EXIT_USAGE = 2


class ExtractFailed(QualityGateFailed):
    """One or more batches or files of a run failed; the message lists each (the others did load)."""


@dataclass
class EntityReport:
    entity: str
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)
    batch_ids: list[str] = field(default_factory=list)
    landed_paths: list[str] = field(default_factory=list)
    failed_batches: list[str] = field(default_factory=list)


@dataclass
class ExtractReport:
    source: str
    window: Window
    extracted_window: Window
    entities: dict[str, EntityReport]
    watermark: datetime | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("window", "extracted_window"):
            data[key] = {"start": getattr(self, key).start.isoformat(), "end": getattr(self, key).end.isoformat()}
        data["watermark"] = self.watermark.isoformat() if self.watermark else None
        return data


class _Run:
    """One extract run as the extractor sees it (:class:`ExtractContext`): batches, inputs, the warehouse."""

    def __init__(self, spec: SourceSpec, conn: Connection | None, window: Window, paths: settings.Paths,
                 warehouse: Path, alerts: Connection | None = None) -> None:
        self.spec = spec
        self.source = spec.name
        self.connection = conn
        self.interval = window
        self.window = window.widened(spec.lookback)
        self.input_dir = paths.data_dir / spec.input_dir if spec.input_dir else None
        self.zone = LandingZone(paths.landing)
        self.warehouse_path = warehouse
        self.batches: dict[str, Batch] = {}
        self.files: list[tuple[InputFile, Batch | FileShare]] = []
        self._together: dict[str, Batch] = {}  # entity → the run's batch its files share (files_load_together)
        self.errors: list[str] = []
        # Without an alert connection, alerts go to the run's own JSON-lines file.
        self.alerts = alerts or Connection("narrowcast_alerts", "", extra={"sink": "file", "path": str(paths.alerts)})
        self._failed_files: set[Path] = set()
        self._con: Warehouse | None = None
        self._open = contextlib.ExitStack()
        self._loaded: dict[tuple[str, str], list[tuple[str, int, datetime]]] | None = None
        if not spec.batch_per_file:
            # Every entity gets its batch, an empty one too: its window is replaced and its watermark advances.
            self.batches = {e.name: self.zone.new_batch(spec.name, e.name, window) for e in spec.entities}

    def batch(self, entity: str) -> Batch:
        if entity not in self.batches:
            why = "it lands a batch per file" if self.spec.batch_per_file else f"its tables are {', '.join(self.batches)}"
            raise ValueError(f"{self.source} has no run batch for {entity!r}: {why}")
        return self.batches[entity]

    def _loaded_files(self) -> dict[tuple[str, str], list[tuple[str, int, datetime]]]:
        """The files ``meta.files`` holds as loaded, by (file name, kind): (checksum, size, loaded at) of each.

        Read once, in a session of its own unless the run already holds one, so landing files (reading, hashing,
        flattening) holds no warehouse lock; nothing this run lands is loaded before landing ends.
        """
        if self._loaded is None:
            with (contextlib.nullcontext(self._con) if self._con is not None
                  else connect(self.warehouse_path)) as con:
                ensure_meta_tables(con)
                rows = con.fetchall("select file_name, kind, checksum, size_bytes, loaded_at from meta.files "
                                    "where status = 'loaded'")
            self._loaded = {}
            for name, kind, checksum, size, loaded_at in rows:
                self._loaded.setdefault((name, kind), []).append((checksum, size, loaded_at))
        return self._loaded

    def already_loaded(self, file: InputFile) -> bool:
        return any(checksum == file.checksum
                   for checksum, _, _ in self._loaded_files().get((file.path.name, file.entity), ()))

    def loaded_unchanged(self, path: Path, entity: str) -> bool:
        size = path.stat().st_size
        loaded = [at for _, bytes_, at in self._loaded_files().get((path.name, entity), ()) if bytes_ == size
                  and at is not None]
        return bool(loaded) and datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None) < max(loaded)

    def file_batch(self, file: InputFile) -> Batch | FileShare:
        if not self.spec.batch_per_file:
            raise ValueError(f"{self.source} lands one batch per entity and run, not per file (batch_per_file)")
        if self.spec.files_load_together:
            if file.entity not in self._together:
                self._together[file.entity] = self.zone.new_batch(self.source, file.entity, self.interval)
            batch: Batch | FileShare = FileShare(self._together[file.entity])
        else:
            batch = self.zone.new_batch(self.source, file.entity, self.interval)
        self.files.append((file, batch))
        return batch

    def reject(self, what: str, reason: str, *, file: InputFile | None = None) -> None:
        self.errors.append(reason)
        if file is not None:
            self._failed_files.add(file.path)
            batch = next((b for f, b in self.files if f.path == file.path), None)
            _record_file(self.warehouse(), file, batch, status="failed", error=reason)

    def alert(self, kind: str, reason: str, details: dict[str, Any]) -> None:
        alert = Alert(dag_id="narrowcast.extract", task_id=self.source, run_id=None, reason=f"{self.source}: {reason}",
                      kind=kind, severity="warning", details=details)
        try:
            send_alert(alert, self.alerts)
        except AlertError as exc:  # an unreachable alert sink must not stop the data from loading
            log.error("%s (alert was: %s)", exc, alert.reason)

    def set_aside(self, file: InputFile) -> None:
        self._failed_files.add(file.path)

    def file_batches(self) -> list[tuple[InputFile, Batch | FileShare]]:
        """The per-file batches to load: every file landed and neither rejected nor set aside."""
        return [(f, b) for f, b in self.files if f.path not in self._failed_files]

    def warehouse(self) -> Warehouse:
        """The warehouse, opened on first need (never while an API is paged, unless the extractor asks)."""
        if self._con is None:
            self._con = self._open.enter_context(connect(self.warehouse_path))
            ensure_meta_tables(self._con)
        return self._con

    def close(self) -> None:
        self._open.close()
        self._con = None


def run_source(
    source: str,
    conn: Connection | None,
    window: Window,
    *,
    data_dir: Path | None = None,
    warehouse: Path | None = None,
    threshold: float | None = None,
    extractor: Extractor | None = None,
    now: datetime | None = None,
    alerts: Connection | None = None,
) -> ExtractReport:
    """Extract ``source`` for ``window`` into the warehouse; ``extractor`` replaces the declared one (tests).

    ``alerts``: the alert sink's connection (default: the JSON-lines file under the data directory).
    """
    spec = source_spec(source)
    paths = _paths(data_dir)
    run = _Run(spec, conn, window, paths, Path(warehouse) if warehouse else paths.warehouse, alerts)
    limit = settings.QUARANTINE_THRESHOLD if threshold is None else threshold
    report = ExtractReport(source, window, run.window, {e.name: EntityReport(e.name) for e in spec.entities})
    try:
        _land_pages(spec, (extractor or spec.extractor)(run), run)
        report.errors += run.errors
        con = run.warehouse()
        if run.batches:
            _check_and_load(con, spec, list(run.batches.values()), run.window, limit, now, report)
        _load_files(con, spec, run, limit, now, report)
        _advance_watermarks(con, spec, report, window)
    finally:
        run.close()

    if report.errors:
        raise ExtractFailed(f"{source} {window.start.isoformat()}..{window.end.isoformat()}: " + " || ".join(report.errors))
    return report


def catch_up_windows(watermark: datetime | None, interval: Window, step: timedelta) -> list[Window]:
    """The windows a scheduled run reads, in order: from the stored ``watermark`` (the interval's start when
    there is none, or when the watermark is past it: a rerun of the interval reads it again) to the interval's
    end, each at most ``step`` long."""
    start = interval.start if watermark is None else min(utc_naive(watermark), interval.start)
    windows = []
    while start < interval.end:
        end = min(start + step, interval.end)
        windows.append(Window(start, end))
        start = end
    return windows


def stored_watermark(source: str, warehouse: Path) -> datetime | None:
    """Where the source's extraction stands: the earliest watermark of its entities (None before its first load)."""
    with connect(warehouse) as con:
        ensure_meta_tables(con)
        return con.scalar("select min(watermark) from meta.watermarks where source = ?", [source])


def run_catching_up(
    source: str,
    conn: Connection | None,
    interval: Window,
    *,
    data_dir: Path | None = None,
    warehouse: Path | None = None,
    threshold: float | None = None,
    extractor: Extractor | None = None,
    now: datetime | None = None,
    alerts: Connection | None = None,
) -> list[ExtractReport]:
    """A scheduled run: extract ``source`` from its stored watermark to the end of ``interval``, window by window.

    Each window that loads advances the watermark, so a run failing in its n-th window leaves the watermark at
    the end of window n-1 and the next run resumes there. A source with a batch per file tracks its files, not
    windows: it reads ``interval`` only.
    """
    spec = source_spec(source)
    path = Path(warehouse) if warehouse else _paths(data_dir).warehouse
    if spec.batch_per_file:
        windows = [interval]
    else:
        windows = catch_up_windows(stored_watermark(source, path), interval, spec.catch_up_step)
    if len(windows) > 1:
        log.warning("%s: catching up from its watermark %s to %s in %d windows", source,
                    windows[0].start.isoformat(), interval.end.isoformat(), len(windows))
    return [
        run_source(source, conn, window, data_dir=data_dir, warehouse=path, threshold=threshold,
                   extractor=extractor, now=now, alerts=alerts)
        for window in windows
    ]


def _paths(data_dir: Path | None) -> settings.Paths:
    return settings.Paths(Path(data_dir)) if data_dir else settings.paths()


def _land_pages(spec: SourceSpec, pages: Iterable[Page] | None, run: _Run) -> None:
    for page in pages or ():
        if page.entity not in run.batches:
            raise ValueError(
                f"{spec.name} extractor yielded a page for unknown entity {page.entity!r} ({page.source_ref}); "
                f"its declared tables are {', '.join(e.name for e in spec.entities)}"
            )
        run.batches[page.entity].write_records(page.records, page.source_ref)


def _record_file(con: Warehouse, file: InputFile, batch: Batch | None, *, status: str,
                 error: str | None) -> None:
    """Log one attempt at a file in ``meta.files`` (a name + checksum logged 'loaded' never loads again)."""
    con.execute(
        "insert into meta.files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [file.path.name, file.checksum, file.size_bytes, file.entity, batch.rows if batch else 0,
         utc_naive(datetime.now(UTC)), batch.batch_id if batch else None, status, error],
    )


def _load_files(con: Warehouse, spec: SourceSpec, run: _Run, threshold: float, now: datetime | None,
                report: ExtractReport) -> None:
    """Gate, load and log the run's files: each on its own, or, for a source whose files load together, all at
    once when every file passes the gate; else each file's rows are split off and the files load one by one."""
    files = run.file_batches()
    if spec.files_load_together and files:
        shares: dict[str, list[FileShare]] = {}
        for _, share in files:
            shares.setdefault(share.batch.entity, []).append(share)
        kept = {id(share) for _, share in files}
        # A file set aside after it landed rows shares the batch: those rows must not load, so split.
        stray = any(share.rows for _, share in run.files if id(share) not in kept)
        batches = [group[0].batch for group in shares.values()]
        if not stray and _check_and_load(con, spec, batches, None, threshold, now, report, shares=shares):
            for file, share in files:
                _record_file(con, file, share, status="loaded", error=None)
            return
        log.warning("%s: %d files did not pass the gate together; loading each on its own", spec.name, len(files))
        files = [(file, run.zone.split_off(share, run.interval)) for file, share in files]
    for file, batch in files:
        # A file replaces what it holds (its rows, its days), never a calendar window.
        ok = _check_and_load(con, spec, [batch], None, threshold, now, report)
        _record_file(con, file, batch, status="loaded" if ok else "failed", error=None if ok else report.errors[-1])


def _check_and_load(
    con: Warehouse,
    spec: SourceSpec,
    batches: list[Batch],
    wide: Window | None,
    threshold: float,
    now: datetime | None,
    report: ExtractReport,
    *,
    shares: dict[str, list[FileShare]] | None = None,
) -> bool:
    """Gate every batch, then load each; returns False when any of them failed (its reason is in ``report.errors``).

    ``shares``: the files each entity's batch holds, each held to the threshold on its own; when any file fails
    the gate, nothing loads or is recorded and False is returned (the caller splits the files).
    """
    staged: dict[str, StagedBatch] = {b.entity: stage_batch(con, b, spec.entity(b.entity)) for b in batches}
    # Parents are gated first: which of their rows are quarantined decides which children are held back.
    ordered = sorted(staged.items(), key=lambda item: item[1].spec.parent is not None)
    parent_failures: dict[str, pa.Table] = {}
    gated: list[tuple[StagedBatch, datetime, GateResult | QualityGateFailed, pa.Table]] = []
    for entity, batch_staged in ordered:
        started = datetime.now(UTC)
        lines = staged.get("shop_order_lines") if batch_staged.spec.line_totals else None
        failures = EMPTY_FAILURES
        try:
            result = check_batch(con, batch_staged, lines=lines, now=now)
            failures = result.failures
            if shares is not None and _a_file_fails(result, shares[entity], threshold,
                                                    batch_staged.spec.all_or_nothing):
                return False
            enforce_threshold(con, batch_staged, result, threshold)
            parent = batch_staged.spec.parent
            if parent is not None and parent[0] in parent_failures:
                result = hold_back_children(con, batch_staged, result, staged[parent[0]], parent_failures[parent[0]])
        except QualityGateFailed as exc:  # schema drift or too many bad rows: record, load nothing, go on
            if shares is not None:
                return False
            gated.append((batch_staged, started, exc, failures))
            continue
        parent_failures[entity] = result.failures
        gated.append((batch_staged, started, result, failures))
    all_ok = True
    for batch_staged, started, outcome, failures in gated:
        entry = report.entities[batch_staged.spec.name]
        batch = batch_staged.batch
        entry.batch_ids.append(batch.batch_id)
        entry.landed_paths.append(str(batch.path))
        if isinstance(outcome, QualityGateFailed):
            failed = load_batch(con, batch_staged, failures, started_at=started, status="failed", error=str(outcome))
            entry.failed_batches.append(batch.batch_id)
            entry.received += failed.received
            entry.quarantined += failed.quarantined
            report.errors.append(str(outcome))
            log.error("%s", outcome)
            all_ok = False
            continue
        loaded = load_batch(con, batch_staged, outcome.failures, replace_window=wide, started_at=started)
        entry.received += loaded.received
        entry.loaded += loaded.loaded
        entry.quarantined += loaded.quarantined
        for rule, count in outcome.rule_counts.items():
            entry.rule_counts[rule] = entry.rule_counts.get(rule, 0) + count
        log.info(
            "%s.%s batch %s: received %d, loaded %d, quarantined %d %s",
            spec.name, batch_staged.spec.name, batch.batch_id, loaded.received, loaded.loaded, loaded.quarantined,
            outcome.rule_counts or "",
        )
    return all_ok


def _a_file_fails(result: GateResult, shares: list[FileShare], threshold: float, all_or_nothing: bool) -> bool:
    """Whether any one file's rows in a shared batch fail the gate: above ``threshold`` (or any, all or nothing)."""
    if all_or_nothing and result.quarantined:
        return True
    failed_rows = result.failures.column("_row").to_numpy()
    for share in shares:
        failed = sum(int(((failed_rows >= first) & (failed_rows < first + n)).sum())
                     for first, n in share.row_ranges)
        if share.rows and failed / share.rows > threshold:
            return True
    return False


def _advance_watermarks(
    con: Warehouse, spec: SourceSpec, report: ExtractReport, window: Window
) -> None:
    end = utc_naive(window.end)
    now = utc_naive(datetime.now(UTC))
    advanced = [name for name, entry in report.entities.items() if entry.batch_ids and not entry.failed_batches]
    if advanced:  # one statement for every entity (a source's seven took 25 ms one by one, 3 ms together)
        con.execute(
            con.dialect.upsert("meta.watermarks", list(META_TABLES["meta.watermarks"]), ["source", "entity"],
                               keep_greatest=["watermark"], rows=len(advanced)),
            [value for name in advanced for value in (spec.name, name, end, now)],
        )
    report.watermark = end


def _parse_moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO date or timestamp (e.g. 2024-01-01)") from None
    if isinstance(moment, date) and not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _connection_for(spec: SourceSpec) -> Connection | None:
    """The source's connection from ``AIRFLOW_CONN_<ID>``, the same variable Airflow reads."""
    if spec.connection_id is None:
        return None
    variable = connection_variable(spec.connection_id)
    uri = os.environ.get(variable)
    if not uri:
        raise SystemExit(f"{spec.name} needs a connection: set {variable} (an Airflow connection URI or JSON)")
    return Connection.from_uri(spec.connection_id, uri)


def prepare() -> None:
    """Build now what a run builds lazily at its first batch, in a long-lived process that forks runs later.

    An Airflow worker that imported this module forks every task process (``narrowcast_airflow.worker_preload``):
    what is built here, each run inherits. Great Expectations' context and a first validation
    (:func:`narrowcast.quality.expectations.prepare`), and DuckDB's conversion of a result with a bound
    parameter into a pandas frame, which the quality gate asks of every batch (its first costs ~35 ms more
    than the next).
    """
    from narrowcast.quality.expectations import prepare as prepare_quality_gate

    prepare_quality_gate()
    warm_up_frames()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m narrowcast.extract", description=__doc__.splitlines()[0])
    parser.add_argument("source", help=f"one of: {', '.join(SOURCES)}")
    parser.add_argument("--start", required=True, type=_parse_moment, help="window start (inclusive), UTC")
    parser.add_argument("--end", required=True, type=_parse_moment, help="window end (exclusive), UTC")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--threshold", type=float, default=None, help="quarantine share that fails a batch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spec = source_spec(args.source)
    try:
        state = source_state(args.source)
    except settings.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not state.enabled:
        # Not a failure, as the Airflow task skips: a merchant without this source has nothing to extract.
        print(f"skipped: {state.reason}")
        return 0
    try:
        report = run_source(
            args.source,
            _connection_for(spec),
            Window(args.start, args.end),
            data_dir=args.data_dir,
            warehouse=args.warehouse,
            threshold=args.threshold,
        )
    except QualityGateFailed as exc:
        print(f"extract failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict(), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
