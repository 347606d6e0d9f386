"""The extract runner: one source, one data interval → landing zone → quality gate → ``raw.*``.

``run_source`` is what the ``extract_*`` DAG tasks call (inside the one-slot DuckDB pool); ``main`` is the CLI
(``python -m narrowcast.extract shopify --start 2024-01-01 --end 2024-01-02``).

Steps: extract the window widened by the source's lookback and land every page (the warehouse is not opened
while an API is being paged); then, per entity batch, type it, run the quality gate and load the valid rows
(quarantine + load + ``meta.batches`` in one transaction); finally advance ``meta.watermarks`` to the window's
end for every entity that loaded. A batch above the quarantine threshold, a schema drift or an unreadable
inbox file records its failure, lets the other entities/files load, and then fails the run with every reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from narrowcast import settings
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.tables import SourceSpec
from narrowcast.contracts.timestamps import utc_naive
from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import Batch, LandingZone
from narrowcast.loading.ddl import META_TABLES, ensure_meta_tables
from narrowcast.loading.loader import load_batch
from narrowcast.loading.staging import StagedBatch, stage_batch
from narrowcast.quality.gate import QualityGateFailed, check_batch, enforce_threshold
from narrowcast.sources.registry import source as source_spec
from narrowcast.warehouse import Warehouse, connect

log = redacting_logger(__name__)

EMPTY_FAILURES = pa.table(
    {"_row": pa.array([], pa.int64()), "rule": pa.array([], pa.string()), "column_name": pa.array([], pa.string())}
)


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


def run_source(
    source: str,
    conn: Connection | None,
    window: Window,
    *,
    data_dir: Path | None = None,
    warehouse: Path | None = None,
    threshold: float | None = None,
    extractor: Callable[[Connection | None, Window], Iterator[Page]] | None = None,
    now: datetime | None = None,
) -> ExtractReport:
    """Extract ``source`` for ``window`` into the warehouse; ``extractor`` replaces the registry's (tests)."""
    spec = source_spec(source)
    paths = settings.Paths(Path(data_dir)) if data_dir else settings.paths()
    zone = LandingZone(paths.landing)
    wide = window.widened(spec.lookback)
    limit = settings.QUARANTINE_THRESHOLD if threshold is None else threshold
    report = ExtractReport(source, window, wide, {e.name: EntityReport(e.name) for e in spec.entities})
    target = Path(warehouse) if warehouse else paths.warehouse

    if spec.kind == "inbox":
        from narrowcast.sources.files.inbox import land_inbox

        with connect(target) as con:
            ensure_meta_tables(con)
            landed = land_inbox(con, paths.inbox, zone, window)
            report.errors += [f.error for f in landed if f.error]
            for item in landed:
                if item.batch is not None:
                    ok = _check_and_load(con, spec, [item.batch], wide, limit, now, report)
                    item.record(con, status="loaded" if ok else "failed", error=None if ok else report.errors[-1])
            _advance_watermarks(con, spec, report, window)
    else:
        batches = {e.name: zone.new_batch(source, e.name, window) for e in spec.entities}
        keep_dates: list[date] = []
        if spec.kind == "ga4":
            ga4 = spec.load_extractor()(paths.ga4_exports, wide, batches)
            report.errors += list(ga4.rejected.values())
            keep_dates = ga4.rejected_dates
        else:
            run = extractor or spec.load_extractor()
            _land_pages(spec, run(conn, wide), batches)
        with connect(target) as con:
            ensure_meta_tables(con)
            _check_and_load(con, spec, list(batches.values()), wide, limit, now, report, keep_dates)
            if not keep_dates:  # a rejected export day must be re-read: the watermark waits for it
                _advance_watermarks(con, spec, report, window)

    if report.errors:
        raise ExtractFailed(f"{source} {window.start.isoformat()}..{window.end.isoformat()}: " + " || ".join(report.errors))
    return report


def _land_pages(spec: SourceSpec, pages: Iterator[Page], batches: dict[str, Batch]) -> None:
    for page in pages:
        if page.entity not in batches:
            raise ValueError(
                f"{spec.name} extractor yielded a page for unknown entity {page.entity!r} ({page.source_ref}); "
                f"the registry knows {', '.join(batches)}"
            )
        batches[page.entity].write_records(page.records, page.source_ref)


def _check_and_load(
    con: Warehouse,
    spec: SourceSpec,
    batches: list[Batch],
    wide: Window,
    threshold: float,
    now: datetime | None,
    report: ExtractReport,
    keep_dates: list[date] | None = None,
) -> bool:
    """Gate and load each batch; returns False when any of them failed (its reason is in ``report.errors``)."""
    staged: dict[str, StagedBatch] = {b.entity: stage_batch(con, b, spec.entity(b.entity)) for b in batches}
    all_ok = True
    for entity, batch_staged in staged.items():
        started = datetime.now(UTC)
        entry = report.entities[entity]
        batch = batch_staged.batch
        entry.batch_ids.append(batch.batch_id)
        entry.landed_paths.append(str(batch.path))
        lines = staged.get("shop_order_lines") if batch_staged.spec.line_totals else None
        failures = EMPTY_FAILURES
        try:
            result = check_batch(con, batch_staged, lines=lines, now=now)
            failures = result.failures
            enforce_threshold(con, batch_staged, result, threshold)
        except QualityGateFailed as exc:  # schema drift or too many bad rows: record, load nothing, go on
            failed = load_batch(con, batch_staged, failures, started_at=started, status="failed", error=str(exc))
            entry.failed_batches.append(batch.batch_id)
            entry.received += failed.received
            entry.quarantined += failed.quarantined
            report.errors.append(str(exc))
            log.error("%s", exc)
            all_ok = False
            continue
        loaded = load_batch(con, batch_staged, result.failures, replace_window=wide, keep_dates=keep_dates or (),
                            started_at=started)
        entry.received += loaded.received
        entry.loaded += loaded.loaded
        entry.quarantined += loaded.quarantined
        for rule, count in result.rule_counts.items():
            entry.rule_counts[rule] = entry.rule_counts.get(rule, 0) + count
        log.info(
            "%s.%s batch %s: received %d, loaded %d, quarantined %d %s",
            spec.name, entity, batch.batch_id, loaded.received, loaded.loaded, loaded.quarantined,
            result.rule_counts or "",
        )
    return all_ok


def _advance_watermarks(
    con: Warehouse, spec: SourceSpec, report: ExtractReport, window: Window
) -> None:
    end = utc_naive(window.end)
    for name, entry in report.entities.items():
        if entry.failed_batches or not entry.batch_ids:
            continue
        con.execute(
            con.dialect.upsert("meta.watermarks", list(META_TABLES["meta.watermarks"]), ["source", "entity"],
                              keep_greatest=["watermark"]),
            [spec.name, name, end, utc_naive(datetime.now(UTC))],
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
    variable = f"AIRFLOW_CONN_{spec.connection_id.upper()}"
    uri = os.environ.get(variable)
    if not uri:
        raise SystemExit(f"{spec.name} needs a connection: set {variable} (an Airflow connection URI or JSON)")
    return Connection.from_uri(spec.connection_id, uri)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m narrowcast.extract", description=__doc__.splitlines()[0])
    parser.add_argument("source", help="shopify, meta_ads, google_ads, ebay, amazon, ga4 or inbox")
    parser.add_argument("--start", required=True, type=_parse_moment, help="window start (inclusive), UTC")
    parser.add_argument("--end", required=True, type=_parse_moment, help="window end (exclusive), UTC")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--threshold", type=float, default=None, help="quarantine share that fails a batch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spec = source_spec(args.source)
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
