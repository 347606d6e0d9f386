"""Benchmark the synthetic shop generator: wall time, rows per second and peak RSS at a given scale.

    PYTHONPATH=include .venv/bin/python bench/bench_datagen.py --customers 1000000 --ga4-gzip

Writes into a temporary directory (removed afterwards unless --keep) and prints one line per phase, then the wall
time, the CPU seconds used (user + system of this process and its GA4 worker processes, in total and apart: less
sensitive to a shared machine), the peak RSS of this process and of the largest worker, and the 1-minute load
average before and after.

Measured on the shared 2-core machine (docs/scaling.md): 100k customers 46.1 CPU-s / 162 s (load 12.8→11.8),
with --ga4-gzip 35.8 CPU-s / 139 s / 629 MiB (load 13.5→17.1); 1M customers with --ga4-gzip 315.3 CPU-s / 517 s
/ 6,078 MiB, peak RSS 8,948 MiB (load 2.6→6.2). After the rendering, huge-page and allocator changes, 100k
with --ga4-gzip: 19.9 CPU-s (17.4 user + 2.5 sys) / 40.8 s, against 34.5 CPU-s / 68.8 s for the previous code
in the same slot (load 8.8→9.0); 300k: 65.2 against 111.0 CPU-s; 1M: 200.7 CPU-s (173.0 + 27.6 sys) / 272.6 s
/ 6,089 MiB, peak RSS 8,471 MiB (load 3.0→7.2). ``--baseline-include /work/main/include`` then runs the same benchmark on
another checkout's package (e.g. before a change) in a subprocess and prints both results side by side.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from narrowcast.datagen import generate


def _peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is KiB on Linux; for RUSAGE_CHILDREN it is the largest finished worker's (pages it shares
    # copy-on-write with this process count in both).
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds. The GA4 days are written by worker processes: their CPU counts once they
    have finished."""
    usage = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    return sum(u.ru_utime for u in usage), sum(u.ru_stime for u in usage)


def _baseline(include: Path, argv: list[str]) -> str:
    """Run this benchmark on ``include``'s package in a fresh interpreter; returns its result line."""
    env = {**os.environ, "PYTHONPATH": str(include)}
    args = [sys.executable, str(Path(__file__).resolve()), *argv]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line.startswith("customers=")][-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=92)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty", action="store_true")
    parser.add_argument("--ga4-gzip", action="store_true", help="write the GA4 export gzip-compressed")
    parser.add_argument("--keep", action="store_true", help="keep the output directory and print its path")
    parser.add_argument("--quick", action="store_true", help="small scale (what `make bench` runs)")
    parser.add_argument("--baseline-include", type=Path,
                        help="first run the same benchmark on the package under this include/ folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.customers = 20_000
    load_before = os.getloadavg()[0]
    out = Path(tempfile.mkdtemp(prefix="narrowcast-bench-"))
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:7.1f}s rss {_peak_rss_mib():7.0f} MiB] {message}", flush=True)

    try:
        report = generate(out, customers=args.customers, days=args.days, start=date(2026, 8, 1), seed=args.seed,
                          dirty=args.dirty, progress=progress,
                          **({"ga4_gzip": True} if args.ga4_gzip else {}))
        seconds = time.monotonic() - began
        cpu = _cpu_seconds()
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        ga4 = sum(v for k, v in report.rows.items() if k.startswith("exports/ga4/"))
        result = (f"customers={args.customers:,} days={args.days} seconds={seconds:.1f} rows={report.total_rows:,} "
              f"rows_per_s={report.total_rows / seconds:,.0f} ga4_events={ga4:,} "
              f"output_mib={size / 2**20:,.0f} peak_rss_mib={_peak_rss_mib():,.0f} "
              f"worker_peak_rss_mib={_peak_rss_mib(resource.RUSAGE_CHILDREN):,.0f} cpu_s={sum(cpu):.1f} "
              f"cpu_user_s={cpu[0]:.1f} cpu_sys_s={cpu[1]:.1f} "
              f"load1={load_before:.2f}->{os.getloadavg()[0]:.2f}")
        print(result)
    finally:
        if args.keep:
            print(f"output kept in {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)
    if args.baseline_include:
        # Afterwards, so the baseline's process is not counted among this run's workers.
        own = [a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("--baseline-include")
               and a != str(args.baseline_include)]
        print(f"baseline run on {args.baseline_include} ...", flush=True)
        print(f"before: {_baseline(args.baseline_include, own)}\nafter:  {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
