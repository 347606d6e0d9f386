"""Loader throughput: GA4 events from landed Parquet into DuckDB ``raw.ga4_events``, with peak memory.

Usage: ``PYTHONPATH=include .venv/bin/python bench/bench_loader.py --rows 10000000``

Phase 1 (a child process) lands a synthetic batch shaped like the GA4 reader's output (text leaves, 1M rows
per part). Phase 2 (this process, fresh) types it, runs the quality gate and loads it, and prints rows/s per
step and the process's peak RSS, so the figure is the loader's own memory, not the generator's.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

from narrowcast.landing.zone import Batch, LandingZone
from narrowcast.loading.loader import load_batch
from narrowcast.loading.staging import StagedBatch, stage_batch
from narrowcast.quality.expectations import _batch_definition, failing_rows
from narrowcast.quality.gate import _check_query, check_batch
from narrowcast.quality.rules import rules_for
from narrowcast.sources.base import Window
from narrowcast.sources.registry import entity

WINDOW = Window(datetime(2024, 1, 1), datetime(2024, 1, 2))
PART_ROWS = 1_000_000
EVENT_SQL = """
    select md5(i::varchar) as event_key, '20240101' as event_date,
           (1704067200000000 + i * 8)::varchar as event_timestamp,
           (['page_view', 'session_start', 'view_item', 'add_to_cart', 'purchase'])[1 + i % 5] as event_name,
           (i % 250000)::varchar || '.1704067200' as user_pseudo_id,
           case when i % 7 = 0 then 'c_' || (i % 50000)::varchar end as user_id,
           (['google', 'facebook', 'newsletter', null])[1 + i % 4] as collected_source,
           (['cpc', 'paid_social', 'email', null])[1 + i % 4] as collected_medium,
           'winter_sale' as collected_campaign_name, null::varchar as collected_gclid,
           '(direct)' as first_user_source, '(none)' as first_user_medium,
           'Germany' as geo_country, 'Berlin' as geo_region, 'Berlin' as geo_city,
           (['desktop', 'mobile', 'tablet'])[1 + i % 3] as device_category,
           case when i % 5 = 4 then 'T' || i::varchar end as ecommerce_transaction_id,
           case when i % 5 = 4 then '59.9' end as ecommerce_purchase_revenue,
           'events_20240101.ndjson:' || (i + 1)::varchar as _source_ref
    from range({start}, {stop}) t(i)
"""


def generate(landing: Path, rows: int) -> None:
    batch = LandingZone(landing).new_batch("ga4", "ga4_events", WINDOW)
    con = duckdb.connect()
    for start in range(0, rows, PART_ROWS):
        batch.write_query(con, EVENT_SQL.format(start=start, stop=min(rows, start + PART_ROWS)), "bench")
    print(f"landed {batch.rows:,} events in {len(batch.parts)} part(s) under {batch.path}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _full_gx_seconds(con: duckdb.DuckDBPyConnection, staged: StagedBatch, rows: int) -> float:
    """What validating every row with GX would cost: the full suite over the first ``rows`` rows."""
    rules = rules_for(staged.spec, staged.present)
    limits = {"event_timestamp": 1717243200000000, "event_date": datetime(2024, 6, 1)}
    frame = con.execute(f"{_check_query(staged, rules, None)} limit {rows}").df().set_index("_row")
    began = time.perf_counter()
    failing_rows(frame, rules, limits)
    return time.perf_counter() - began


def load(landing: Path, warehouse: Path, memory_limit: str, gx_rows: int) -> None:
    batch_dir = next(landing.glob("source=ga4/entity=ga4_events/date=*/batch=*"))
    parts = sorted(batch_dir.glob("part-*.parquet"))
    rows = duckdb.sql(f"select count(*) from read_parquet('{batch_dir}/part-*.parquet')").fetchone()[0]
    batch = Batch(batch_dir.name.removeprefix("batch="), "ga4", "ga4_events", WINDOW, batch_dir,
                  datetime(2024, 1, 2), parts, rows)
    con = duckdb.connect(str(warehouse))
    con.execute(f"set memory_limit = '{memory_limit}'")
    for schema in ("raw", "meta"):
        con.execute(f"create schema if not exists {schema}")
    spec = entity("ga4_events")
    staged = stage_batch(con, batch, spec)
    warm = time.perf_counter()
    _batch_definition()  # GX import + context, paid once per process, reported apart
    began = time.perf_counter()
    result = check_batch(con, staged, now=datetime(2024, 6, 1))
    gated = time.perf_counter()
    loaded = load_batch(con, staged, result.failures, replace_window=WINDOW)
    done = time.perf_counter()
    gx_seconds = _full_gx_seconds(con, staged, gx_rows)
    # What this machine does without any typing or checks, for scale (load figures move with CPU contention).
    plain_began = time.perf_counter()
    con.execute(f"create table raw.plain_copy as select * from read_parquet('{batch_dir}/part-*.parquet')")
    plain = time.perf_counter() - plain_began
    con.close()
    print(f"rows:                 {rows:,}")
    print(f"GX import + context:  {began - warm:8.2f} s (once per process)")
    print(f"quality gate:         {gated - began:8.2f} s  {rows / (gated - began):>12,.0f} rows/s "
          f"(GX validated {result.gx_rows:,} rows: candidates + sample)")
    print(f"load (typed insert):  {done - gated:8.2f} s  {rows / (done - gated):>12,.0f} rows/s")
    print(f"gate + load:          {done - began:8.2f} s  {rows / (done - began):>12,.0f} rows/s")
    print(f"loaded / quarantined: {loaded.loaded:,} / {loaded.quarantined:,}")
    print(f"baseline plain copy:  {plain:8.2f} s  {rows / plain:>12,.0f} rows/s (read_parquet → table, no typing)")
    print(f"full GX suite on {gx_rows:,} rows (no pre-screen): {gx_seconds:.2f} s = {gx_rows / gx_seconds:,.0f} rows/s")
    print(f"peak RSS (this process, incl. GX import): {peak_rss_mb():,.0f} MiB; DuckDB memory_limit {memory_limit}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--gx-rows", type=int, default=100_000, help="rows for the full-GX overhead figure")
    parser.add_argument("--phase", choices=("all", "generate", "load"), default="all")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="narrowcast-bench-"))
    landing, warehouse = workdir / "landing", workdir / "bench.duckdb"
    if args.phase == "generate":
        generate(landing, args.rows)
        return
    if args.phase == "all":
        subprocess.run(
            [sys.executable, __file__, "--phase", "generate", "--rows", str(args.rows), "--workdir", str(workdir)],
            check=True,
        )
    load(landing, warehouse, args.memory_limit, args.gx_rows)


if __name__ == "__main__":
    main()
