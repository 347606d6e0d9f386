"""Referral codes in the shop: API calls and time of the ``referral_codes_shop`` sync against the shop emulator.

Prints, for N consenting customers: the first run (the discount created, codes added 250 per bulk add) against the
minimum the API allows (one title lookup, the create, and per 250 codes a bulk add plus one read of its bulk
creation); the unchanged rerun (must be 0 calls); a rerun whose warehouse state was lost (no second discount; the
discount's codes read once instead of re-adding them); and every hundredth customer leaving (the discount's codes
read until all are found, then one bulk delete and one job read per 250). The shipped rate limit is lifted so the
figures are the connector's, not the token bucket's; the emulator's cost bucket still applies (its THROTTLED
answers are retried and counted as calls).

    python bench/bench_referral_codes.py              # 20,000 customers
    python bench/bench_referral_codes.py --quick      # 2,000 customers
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from narrowcast.activation import load_syncs, run_sync  # noqa: E402
from narrowcast.activation.spec import RateLimit  # noqa: E402
from narrowcast.contracts.connections import Connection  # noqa: E402
from narrowcast.sandbox.framework import SANDBOX_TOKEN  # noqa: E402
from narrowcast.sandbox.server import SandboxServer  # noqa: E402


def write_model(path: Path, customers: range, leave_every: int = 0) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("""create or replace table customer_referral_codes (customer_id varchar, email varchar,
            referral_code varchar, referral_link varchar, referred_orders bigint, referred_customers bigint)""")
        con.execute("""insert into customer_referral_codes
            select 'c' || i, 'c' || i || '@example.com', 'REF-' || lpad(upper(printf('%x', i)), 10, '0'), '', 0, 0
            from range(?, ?) t(i) where ? = 0 or i % ? <> 0""",
                    [customers.start, customers.stop, leave_every, leave_every])


def timed(label: str, run: object, minimum: int | None = None) -> None:
    started = time.perf_counter()
    report = run()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    floor = f" (minimum {minimum})" if minimum is not None else ""
    print(f"{label:<34} planned {report.planned:>7,}  accepted {report.accepted:>7,}  rejected {report.rejected:>4}  "
          f"calls {report.api_calls:>5,}{floor}  {seconds:7.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    customers = 2_000 if args.quick else args.customers
    spec = dataclasses.replace(next(s for s in load_syncs() if s.id == "referral_codes_shop"), enabled=True,
                               rate_limit=RateLimit(rps=1_000.0, burst=1_000.0, concurrency=1))
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(None, only=["shopify_checkouts"]) as server:
        conn = {"narrowcast_shopify": Connection("narrowcast_shopify", f"{server.url}/shopify", password=SANDBOX_TOKEN,
                                                 extra={"poll_interval_seconds": 0.01})}
        warehouse, fresh = Path(tmp) / "warehouse.duckdb", Path(tmp) / "fresh.duckdb"
        write_model(warehouse, range(customers))
        batches = math.ceil(customers / spec.batch_size)
        print(f"referral_codes_shop, {customers:,} customers, batch {spec.batch_size}")
        timed("first run", lambda: run_sync(spec, connections=conn, warehouse=warehouse), 2 + 2 * batches)
        timed("unchanged rerun", lambda: run_sync(spec, connections=conn, warehouse=warehouse), 0)
        write_model(fresh, range(customers))
        timed("rerun after the state was lost", lambda: run_sync(spec, connections=conn, warehouse=fresh))
        leaving = len(range(0, customers, 100))
        write_model(warehouse, range(customers), leave_every=100)
        timed(f"{leaving:,} customers leave", lambda: run_sync(spec, connections=conn, warehouse=warehouse),
              1 + math.ceil(customers / 250) + 2 * math.ceil(leaving / spec.batch_size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
