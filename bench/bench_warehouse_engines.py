"""Load throughput per warehouse engine: the same landed GA4 day staged, gated and loaded into DuckDB and PostgreSQL.

Usage: ``PYTHONPATH=include .venv/bin/python bench/bench_warehouse_engines.py [--rows 200000]``

One synthetic GA4 export day (bench_loader's generator) is landed once as Parquet; then, per engine, the production
functions run on ``raw.ga4_events``: ``stage_batch`` + ``check_batch`` (the quality gate) and ``load_batch``.
DuckDB scans the Parquet itself; PostgreSQL has the files read by pyarrow and COPYed into a temp table, which the
"copy in" line times on its own. PostgreSQL is the server the ``NARROWCAST_PG_*`` variables name, or, when
``NARROWCAST_PG_HOST`` is unset, a throwaway local cluster (the Debian server binaries, as the tests start one).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench_loader import ENTITIES, NOW, WINDOW, generate

from narrowcast.landing.zone import LandingZone
from narrowcast.loading.loader import load_batch
from narrowcast.loading.staging import stage_batch
from narrowcast.quality.expectations import _batch_definition
from narrowcast.quality.gate import check_batch
from narrowcast.sources.ga4.reader import export_files, land_export
from narrowcast.sources.registry import entity
from narrowcast.warehouse import Warehouse, connect

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def postgres_env() -> Iterator[None]:
    if os.environ.get("NARROWCAST_PG_HOST"):
        yield
        return
    sys.path[:0] = [str(ROOT / "tests" / "dbt"), str(ROOT / "tests")]
    from dbt_postgres_cluster import throwaway_cluster

    with throwaway_cluster() as cluster:
        saved = dict(os.environ)
        os.environ.update(cluster.env())
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _rate(rows: int, seconds: float) -> str:
    return f"{seconds:8.2f} s  {rows / seconds if seconds else 0:>12,.0f} rows/s"


def run_engine(engine: str, batch, warehouse_file: Path) -> dict[str, float]:
    os.environ["NARROWCAST_WAREHOUSE_ENGINE"] = engine
    seconds: dict[str, float] = {}
    with connect(warehouse_file) as wh:
        wh.execute("drop table if exists raw.ga4_events")
        started = time.perf_counter()
        if engine == "postgres":
            wh.parquet_source(batch.glob)  # the copy-in alone (staging reuses it)
            seconds["copy in"] = time.perf_counter() - started
        staged = stage_batch(wh, batch, entity("ga4_events"))
        result = check_batch(wh, staged, now=NOW)
        gated = time.perf_counter()
        loaded = load_batch(wh, staged, result.failures, replace_window=WINDOW)
        if engine == "duckdb":
            wh.execute("checkpoint")
        done = time.perf_counter()
        seconds["gate"], seconds["load"], seconds["total"] = gated - started, done - gated, done - started
        seconds["loaded"] = loaded.loaded
        assert_rows(wh, loaded.loaded)
    return seconds


def assert_rows(wh: Warehouse, expected: int) -> None:
    stored = wh.scalar("select count(*) from raw.ga4_events")
    if stored != expected:
        raise SystemExit(f"raw.ga4_events holds {stored:,} rows, the loader reported {expected:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="events in the synthetic export day")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="narrowcast-bench-engines-"))
    try:
        run(workdir, args.rows)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(workdir: Path, rows: int) -> None:
    generate(workdir / "exports", rows)
    zone = LandingZone(workdir / "landing")
    batches = {name: zone.new_batch("ga4", name, WINDOW) for name in ENTITIES}
    for day_files in export_files(workdir / "exports").values():
        for path in day_files:
            land_export(path, batches)
    batch = batches["ga4_events"]
    _batch_definition()  # GX import + context, paid once per process: not either engine's cost
    figures = {"duckdb": run_engine("duckdb", batch, workdir / "bench.duckdb")}
    with postgres_env():
        figures["postgres"] = run_engine("postgres", batch, workdir / "unused.duckdb")
    events = batch.rows
    print(f"events: {events:,} landed GA4 events (one day), gate + load into raw.ga4_events")
    for engine, seconds in figures.items():
        if "copy in" in seconds:
            print(f"{engine:<9} copy in (pyarrow → COPY): {_rate(events, seconds['copy in'])}")
        print(f"{engine:<9} gate (incl. staging):     {_rate(events, seconds['gate'])}")
        print(f"{engine:<9} load:                     {_rate(events, seconds['load'])}")
        print(f"{engine:<9} gate + load:              {_rate(events, seconds['total'])}  "
              f"({int(seconds['loaded']):,} rows loaded)")
    ratio = figures["postgres"]["total"] / figures["duckdb"]["total"]
    print(f"PostgreSQL takes {ratio:.1f}x DuckDB's time for the same batch")


if __name__ == "__main__":
    main()
