"""ECB backfill benchmark: years of daily euro reference rates from the ECB emulator into ``raw.fx_rates``.

Prints the wall time of the whole run (one download of the history file, parse, landing, quality gate, load),
the rows loaded and the time of an unchanged rerun of the same window (which must load the same rows). A one-day
run into another warehouse goes first, so the process's one-time imports (several seconds) are not counted.

    python bench/bench_ecb_backfill.py              # ten years (the figure in docs/benchmarks.md)
    python bench/bench_ecb_backfill.py --quick      # one year (what `make bench` runs)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from narrowcast.contracts.connections import Connection  # noqa: E402
from narrowcast.contracts.windows import Window  # noqa: E402
from narrowcast.extract import run_source  # noqa: E402
from narrowcast.sandbox.server import SandboxServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="one year")
    args = parser.parse_args(argv)
    years = 1 if args.quick else args.years
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window = Window(end - timedelta(days=round(365.25 * years)), end)
    with SandboxServer(None, only=["ecb"]) as server, tempfile.TemporaryDirectory() as tmp:
        conn = Connection("narrowcast_ecb", f"{server.url}/ecb")
        warehouse = Path(tmp) / "wh.duckdb"
        run_source("ecb", conn, Window(end - timedelta(days=1), end), data_dir=Path(tmp) / "warm-up",
                   warehouse=Path(tmp) / "warm-up.duckdb")
        timings = []
        for _run in range(2):
            started = time.monotonic()
            run_source("ecb", conn, window, data_dir=Path(tmp), warehouse=warehouse)
            timings.append(time.monotonic() - started)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows, currencies = con.execute("select count(*), count(distinct currency) from raw.fx_rates").fetchone()
    print(f"ECB backfill of {years} year(s): {rows:,} rates of {currencies} currencies in {timings[0]:.2f}s "
          f"({rows / timings[0]:,.0f} rows/s); unchanged rerun {timings[1]:.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
