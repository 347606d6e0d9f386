"""Extract-path throughput: GA4 NDJSON export → landing Parquet → quality gate → ``raw.ga4_*``, with peak memory.

Usage: ``PYTHONPATH=include .venv/bin/python bench/bench_loader.py [--rows 10000000 | --quick]``

Phase 1 (a child process) writes one synthetic day of GA4 export in the real NDJSON shape (nested params and
items, 0.1% unknown event names so the gate has rows to quarantine). Phase 2 (a fresh child process) runs the
production functions step by step — ``land_export`` per export file, then per table ``stage_batch`` + ``check_batch`` and
``load_batch`` against a DuckDB file opened with ``narrowcast.warehouse.connect`` — and prints rows/s per step,
end to end, and the process's peak RSS (after landing, and at the end including the GX import).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone
from narrowcast.loading.loader import load_batch
from narrowcast.loading.staging import StagedBatch, sql_string, stage_batch
from narrowcast.quality.expectations import _batch_definition, failing_rows
from narrowcast.quality.gate import _check_query, check_batch, enforce_threshold
from narrowcast.quality.rules import rules_for
from narrowcast.sources.ga4.reader import export_files, land_export
from narrowcast.sources.registry import entity
from narrowcast.warehouse import Warehouse, connect

WINDOW = Window(datetime(2024, 1, 1), datetime(2024, 1, 2))
NOW = datetime(2024, 6, 1)
ENTITIES = ("ga4_events", "ga4_event_params", "ga4_event_items")
QUICK_ROWS = 100_000
# One export line per event: two params each, one item on every purchase (1 in 5), 0.1% unknown event names.
EXPORT_SQL = """
    select '20240101' as event_date, (1704067200000000 + i * 8)::varchar as event_timestamp,
           case when i % 1000 = 999 then 'pageview'
                else (['page_view', 'session_start', 'view_item', 'add_to_cart', 'purchase'])[1 + i % 5] end
               as event_name,
           [{'key': 'ga_session_id', 'value': {'string_value': null::varchar,
                                                'int_value': (1704067200 + i // 20)::varchar,
                                                'float_value': null::double, 'double_value': null::double}},
            {'key': 'page_location', 'value': {'string_value': 'https://shop.example/p/' || (i % 500)::varchar,
                                                'int_value': null::varchar, 'float_value': null::double,
                                                'double_value': null::double}}] as event_params,
           case when i % 7 = 0 then 'c_' || (i % 50000)::varchar end as user_id,
           (i % 250000)::varchar || '.1704067200' as user_pseudo_id,
           {'category': (['desktop', 'mobile', 'tablet'])[1 + i % 3]} as device,
           {'city': 'Berlin', 'country': 'Germany', 'region': 'Berlin'} as geo,
           {'name': '(direct)', 'medium': '(none)', 'source': '(direct)'} as traffic_source,
           case when i % 5 = 4 then {'transaction_id': 'T' || i::varchar, 'purchase_revenue': 59.9} end
               as ecommerce,
           case when i % 5 = 4
                then [{'item_id': 'SKU-' || (i % 100)::varchar, 'item_name': 'Mug', 'item_category': 'Kitchen',
                       'price': 29.95, 'quantity': '2'}]
                else [] end as items,
           {'manual_source': (['google', 'facebook', 'newsletter', null])[1 + i % 4],
            'manual_medium': (['cpc', 'paid_social', 'email', null])[1 + i % 4],
            'manual_campaign_name': 'winter_sale', 'gclid': null::varchar} as collected_traffic_source
    from range($rows) t(i)
"""

# The event's identity and the batch columns, for the narrow floor.
NARROW_COLUMNS = ("event_key", "event_date", "event_timestamp", "event_name", "user_pseudo_id", "user_id",
                  "_batch_id", "_loaded_at", "_source")


def generate(exports: Path, rows: int) -> None:
    exports.mkdir(parents=True, exist_ok=True)
    target = exports / "events_20240101.ndjson"
    duckdb.connect().execute(
        f"copy ({EXPORT_SQL.replace('$rows', str(int(rows)))}) to {sql_string(target)} (format json)"
    )
    print(f"generated {rows:,} GA4 export lines ({target.stat().st_size / 2**20:,.0f} MiB) in {target}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _full_gx_seconds(con: Warehouse, staged: StagedBatch, rows: int) -> float:
    """What validating every row with GX would cost: the full suite over the first ``rows`` rows."""
    rules = rules_for(staged.spec, staged.present)
    limits = {"event_timestamp": 1717243200000000, "event_date": datetime(2024, 6, 1)}
    frame = con.frame(f"{_check_query(staged, rules, None)} limit {rows}").set_index("_row")
    began = time.perf_counter()
    failing_rows(frame, rules, limits)
    return time.perf_counter() - began


def _rate(rows: int, seconds: float) -> str:
    return f"{seconds:8.2f} s  {rows / seconds if seconds else 0:>12,.0f} rows/s"


def pipeline(workdir: Path, memory_limit: str, gx_rows: int) -> None:
    exports, landing, warehouse = workdir / "exports", workdir / "landing", workdir / "bench.duckdb"
    for leftover in (warehouse, Path(f"{warehouse}.wal")):  # a rerun on the same export starts from scratch
        leftover.unlink(missing_ok=True)
    shutil.rmtree(landing, ignore_errors=True)
    zone = LandingZone(landing)
    batches = {name: zone.new_batch("ga4", name, WINDOW) for name in ENTITIES}
    began = time.perf_counter()
    for day_files in export_files(exports).values():
        for path in day_files:
            land_export(path, batches)  # raises, naming the file, if the bench export were rejected
    landing_seconds = time.perf_counter() - began
    rss_after_landing = peak_rss_mb()

    warm = time.perf_counter()
    _batch_definition()  # GX import + context, paid once per process, reported apart
    gx_import = time.perf_counter() - warm

    gate_seconds: dict[str, float] = {}
    load_seconds: dict[str, float] = {}
    results = {}
    with connect(warehouse) as con:
        con.execute(f"set memory_limit = '{memory_limit}'")
        for name in ENTITIES:
            step = time.perf_counter()
            staged = stage_batch(con, batches[name], entity(name))
            result = check_batch(con, staged, now=NOW)
            enforce_threshold(con, staged, result, 0.05)
            gated = time.perf_counter()
            results[name] = (result, load_batch(con, staged, result.failures, replace_window=WINDOW))
            # The load is durable only once checkpointed (DuckDB does it at the latest when the task's
            # connection closes); a load that leaves row groups to be rewritten pays for it here.
            con.execute("checkpoint")
            gate_seconds[name], load_seconds[name] = gated - step, time.perf_counter() - gated
        events_staged = stage_batch(con, batches["ga4_events"], entity("ga4_events"))
        gx_seconds = _full_gx_seconds(con, events_staged, gx_rows) if gx_rows else 0.0
        # The engine's own floor on this machine: DuckDB copying the same landed file into a new table of the
        # same database, as landed (no casts, no gate, no delete), checkpointed — what any loader into this
        # file pays. DuckDB's defaults, except that the row order of the copy is left free, as the loader does.
        con.execute("set preserve_insertion_order = false")
        floor_seconds = _timed_copy(con, "bench_floor", "*", events_staged.raw_source)
        # The same copy of the event's identity alone: how the floor scales with the table's width.
        narrow_seconds = _timed_copy(con, "bench_floor_narrow", ", ".join(NARROW_COLUMNS), events_staged.raw_source)
        width = con.scalar("select count(*) from duckdb_columns() where table_name = 'bench_floor'")

    events = batches["ga4_events"].rows
    total = landing_seconds + sum(gate_seconds.values()) + sum(load_seconds.values())
    gate, loaded = results["ga4_events"]
    print(f"events:                 {events:,} (+ {batches['ga4_event_params'].rows:,} params, "
          f"{batches['ga4_event_items'].rows:,} items)")
    print(f"landing NDJSON→Parquet: {_rate(events, landing_seconds)} (events/s; all three tables landed)")
    print(f"gate  ga4_events:       {_rate(events, gate_seconds['ga4_events'])} "
          f"(GX validated {gate.gx_rows:,} rows: candidates + sample)")
    print(f"load  ga4_events:       {_rate(events, load_seconds['ga4_events'])} (Parquet → raw.ga4_events, "
          "checkpointed)")
    print(f"DuckDB floor:           {_rate(events, floor_seconds)} (create table as select * from the landed "
          f"Parquet; the loader takes {load_seconds['ga4_events'] / floor_seconds:.0%} of its time)")
    print(f"DuckDB floor, narrow:   {_rate(events, narrow_seconds)} (the same copy of {len(NARROW_COLUMNS)} of "
          f"the {width} landed columns: {', '.join(NARROW_COLUMNS)})")
    for name in ENTITIES[1:]:
        rows = batches[name].rows
        print(f"gate + load {name + ':':18s}{_rate(rows, gate_seconds[name] + load_seconds[name])}")
    print(f"end to end:             {_rate(events, total)} (events/s: landing + gate + load of all three)")
    print(f"loaded / quarantined:   {loaded.loaded:,} / {loaded.quarantined:,} events {gate.rule_counts}")
    print(f"GX import + context:    {gx_import:8.2f} s (once per process, not in the figures above)")
    if gx_rows:
        print(f"full GX suite on {gx_rows:,} rows (no pre-screen): {gx_seconds:.2f} s = "
              f"{gx_rows / gx_seconds:,.0f} rows/s")
    print(f"peak RSS after landing: {rss_after_landing:,.0f} MiB; at the end (incl. GX): {peak_rss_mb():,.0f} MiB; "
          f"DuckDB memory_limit {memory_limit}")


def _timed_copy(con: Warehouse, table: str, columns: str, source: str) -> float:
    """Seconds to copy ``columns`` of ``source`` into a new table ``main.<table>``, checkpointed."""
    started = time.perf_counter()
    con.execute(f"create table main.{table} as select {columns} from {source}")
    con.execute("checkpoint")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="events in the synthetic export day")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} events (what `make bench` runs)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--gx-rows", type=int, default=20_000, help="rows for the full-GX overhead figure (0: skip)")
    parser.add_argument("--phase", choices=("all", "generate", "pipeline"), default="all")
    args = parser.parse_args()
    rows = QUICK_ROWS if args.quick else args.rows
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="narrowcast-bench-"))
    if args.phase == "generate":
        generate(workdir / "exports", rows)
        return
    if args.phase == "all":
        try:
            for phase in ("generate", "pipeline"):  # fresh processes: the figures are the pipeline's own memory
                subprocess.run(
                    [sys.executable, __file__, "--phase", phase, "--rows", str(rows), "--workdir", str(workdir),
                     "--memory-limit", args.memory_limit, "--gx-rows", str(args.gx_rows)],
                    check=True,
                )
        finally:
            if args.workdir is None:  # a temporary export of 10M events is ~7 GiB: never leave it behind
                shutil.rmtree(workdir, ignore_errors=True)
        return
    pipeline(workdir, args.memory_limit, args.gx_rows)


if __name__ == "__main__":
    main()
