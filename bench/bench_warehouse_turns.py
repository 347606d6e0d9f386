"""Benchmark writers queueing for the DuckDB file: their turn file against DuckDB's own lock alone.

    PYTHONPATH=include .venv/bin/python bench/bench_warehouse_turns.py --warehouse data/warehouse/narrowcast.duckdb
    PYTHONPATH=include .venv/bin/python bench/bench_warehouse_turns.py --processes 21 --sessions 4

What the audience syncs do at once after a transform: many processes, each opening a few short write sessions
(its plan, its batches' outcomes, its run record). Each writer process opens ``--sessions`` sessions that each
write one row, all ``--processes`` at once; the bench prints the wall time, the CPU seconds of the writers and the
file's busy share, first waiting on the turn file (:func:`narrowcast.warehouse.connect` as it is), then with the
turn file skipped (waiting on DuckDB's lock alone: an open retried every half second). Works on a copy of
``--warehouse`` (a demo warehouse gives realistic open and checkpoint costs), or on a new empty file.

Measured December 2026 on the 2-core machine (idle), on a copy of the demo's warehouse (150 MB; one session
alone ~70 ms: open ~40 ms, write, close and checkpoint ~25 ms), three runs each:

    21 processes × 4 sessions      wall              writers' CPU
    DuckDB's lock alone           10.6-10.8 s        8.5-8.9 s
    the turn file                  7.1-7.4 s         7.7-8.1 s

84 sessions one after another need ~5.9 s; the rest is the hand-over. DuckDB's lock alone hands the file over
only when a waiter next tries to open it (each failed open ~4 ms of CPU, so not more often than every half
second per waiter).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _writer(path: str, name: str, sessions: int, with_turns: bool, start: float) -> None:
    from narrowcast.warehouse import connect, connection

    if not with_turns:
        @contextlib.contextmanager
        def no_turn(target, *, exclusive, lock_wait_seconds):  # noqa: ARG001 - the same signature
            yield time.monotonic() + lock_wait_seconds

        connection._turn = no_turn
    while time.time() < start:
        time.sleep(0.001)
    for i in range(sessions):
        with connect(path, lock_wait_seconds=600) as wh:
            wh.execute("insert into meta.bench_turns values (?, ?)", [f"{name}-{i}", time.time()])


def run(path: Path, processes: int, sessions: int, with_turns: bool) -> dict[str, float]:
    # DuckDB imports pandas at a process's first bound parameter (~1 s of CPU); Airflow's task processes have it
    # from the worker's preload (narrowcast_airflow.worker_preload), and so do these writers, forked from here.
    import pandas  # noqa: F401

    from narrowcast.warehouse import connect

    with connect(path) as wh:
        wh.execute("create or replace table meta.bench_turns (entry varchar, written_at double)")
    ctx = multiprocessing.get_context(os.environ.get("BENCH_MP", "fork"))
    start = time.time() + 1.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = [ctx.Process(target=_writer, args=(str(path), f"p{n}", sessions, with_turns, start))
               for n in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"a writer exited {worker.exitcode}")
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with connect(path) as wh:
        written = wh.scalar("select count(*) from meta.bench_turns")
    if written != processes * sessions:
        raise SystemExit(f"{written} of {processes * sessions} writes arrived")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="a DuckDB file to copy (default: a new empty one)")
    parser.add_argument("--processes", type=int, default=21)
    parser.add_argument("--sessions", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="narrowcast-bench-turns-") as tmp:
        path = Path(tmp) / "narrowcast.duckdb"
        if args.warehouse:
            shutil.copyfile(args.warehouse, path)
        print(f"{args.processes} processes x {args.sessions} sessions on {args.warehouse or 'a new file'} "
              f"({os.path.getsize(path) / 1e6 if path.exists() else 0:.0f} MB)")
        print(f"{'':28s} {'wall':>8s} {'writers CPU':>12s}")
        for label, with_turns in (("DuckDB's lock alone", False), ("the turn file", True)):
            figures = run(path, args.processes, args.sessions, with_turns)
            print(f"{label:28s} {figures['wall']:7.1f}s {figures['cpu']:11.1f}s")


if __name__ == "__main__":
    main()
