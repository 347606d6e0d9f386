"""Wall time of a full `dbt build` (seeds, every model, data tests and unit tests) at a given scale.

Usage: ``.venv/bin/python bench/bench_dbt.py --customers 100000 --orders 1000000 --events-per-order 3``
or point it at an existing warehouse (copied first, never modified): ``--warehouse data/warehouse/narrowcast.duckdb``.

Raw data comes from bench_rfm.generate_raw (shop customers, orders, refunds, GA4 events); prints the wall time
of the dbt process, the summed node time and the slowest nodes, models and data tests. ``--daily`` then appends one more day of orders
and events (the generated average per day; generated rows carry the load time of the day they happened, on the
benchmark's calendar, as a daily load would have stamped them) and times the next day's ``dbt build`` on the same warehouse (with
``--warehouse`` too, whose data must then end at ``--as-of-date``): the daily run, in which the event and session
models are incremental (3-day lookback), int_order_buyers and int_orders re-derive the orders whose inputs
changed (``_loaded_at``) and the rest rebuild (``--daily-full-refresh`` then rebuilds that day with ``--full-refresh``:
full vs incremental on the same data; ``--select`` builds some nodes only, e.g. ``--select +int_orders``). The daily
run passes var data_tests_since_date (its first
rebuilt day: 3 days back) so the data tests of the large incremental models read only the rebuilt days, as the
daily DAG does; ``--daily-full-tests`` tests every row instead. Like the DAGs, the builds leave dbt's unit
tests out (``narrowcast_airflow.defaults.dbt_env``); ``--unit-tests`` runs them too. Each build prints the 1-minute load average before
and after, the dbt process's peak RSS and the warehouse file size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from narrowcast_airflow.defaults import dbt_env

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rfm import ROOT, generate_raw, insert_events  # noqa: E402


def build(warehouse: Path, target: Path, as_of_date: str | None, tests_since: str | None = None,
          options: list[str] | None = None) -> tuple[float, list[dict[str, object]]]:
    # The environment the DAGs give dbt (narrowcast_airflow.defaults.dbt_env and dbt_dates_env): unit tests left
    # out unless NARROWCAST_DBT_UNIT_TESTS_IN_RUNS=true (--unit-tests sets it); the run's dates, and with
    # ``tests_since`` (a daily run's first rebuilt day) the data tests scoped to the days it rebuilt.
    env = {"NARROWCAST_WAREHOUSE": str(warehouse), "PATH": str(Path(sys.executable).parent), **dbt_env()}
    if as_of_date:
        env["NARROWCAST_AS_OF_DATE"] = as_of_date
    if tests_since:
        env.update({"NARROWCAST_DATA_TESTS_SINCE_DATE": tests_since, "NARROWCAST_DBT_SCOPED_TESTS": "true"})
    args = [str(Path(sys.executable).with_name("dbt")), "build",
            "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
            "--target-path", str(target), "--log-path", str(target / "logs"), *(options or [])]
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    print(f"load average after: {os.getloadavg()[0]:.2f}; dbt peak RSS "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:,.0f} MiB; warehouse "
          f"{warehouse.stat().st_size / 2**20:,.0f} MiB", flush=True)
    run_results = json.loads((target / "run_results.json").read_text())
    results = run_results["results"]
    # dbt's own time before the first node and after the last (start-up, parsing the project — partly, as the dates
    # come in the environment —, the adapter cache, writing artifacts).
    threads = re.findall(r"Concurrency: (\d+) threads", (target / "logs" / "dbt.log").read_text(errors="replace"))
    print(f"outside the nodes: {wall - float(run_results['elapsed_time']):.1f} s of {wall:.1f} s; dbt threads "
          f"{threads[-1] if threads else '?'} (profile: NARROWCAST_DBT_THREADS)", flush=True)
    if completed.returncode != 0:
        failed = [f"{r['unique_id']}: {r['message']}" for r in results if r["status"] in {"error", "fail"}]
        raise SystemExit("dbt build failed:\n" + ("\n".join(failed) or completed.stdout[-3000:]))
    return wall, results


def append_day(warehouse: Path, day: str, orders: int, events_per_order: int) -> None:
    """One more day of shop orders (new ids, random existing customers) and their GA4 events."""
    with duckdb.connect(str(warehouse)) as con:
        customers, first_id = con.execute("select count(*), (select max(id) from raw.shop_orders) "
                                          "from raw.shop_customers").fetchone()
        con.execute(f"""
            insert into raw.shop_orders (id, order_number, customer_id, created_at, updated_at, financial_status,
                fulfillment_status, currency, subtotal_price, total_discounts, total_tax, total_shipping,
                total_price, test, _loaded_at)
            select {first_id} + i, cast({first_id} + i as varchar), 1 + cast(floor(random() * {customers}) as bigint),
                timestamp '{day}' + to_seconds(cast(floor(random() * 86400) as bigint)), timestamp '{day}',
                'paid', 'fulfilled', 'EUR', cast(5 + random() * 195 as decimal(18, 2)), 0, 0, 4.90, 0, false, now()
            from range(1, {orders} + 1) as t(i)
        """)
        if events_per_order:
            insert_events(con, events_per_order, after_order_id=first_id)


# The generated rows' load times, on the benchmark's calendar rather than the clock of the machine: each row as
# loaded when it happened (an order, a refund, a customer at its created_at, a GA4 row on its day). With the
# machine's clock every row would be loaded "after" the daily run's first rebuilt day (var data_tests_since_date),
# and the data tests scoped by load time (raw and staged Shopify rows, int_order_buyers) would read every row.
LOADED_WHEN_IT_HAPPENED = {
    "shop_customers": "created_at",
    "shop_orders": "created_at",
    "shop_refunds": "created_at",
    "ga4_events": "cast(event_date as timestamp)",
    "ga4_event_params": "cast(event_date as timestamp)",
}


def stamp_load_times(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for table, happened in LOADED_WHEN_IT_HAPPENED.items():
            con.execute(f"update raw.{table} set _loaded_at = {happened}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--events-per-order", type=int, default=3)
    parser.add_argument("--warehouse", type=Path, help="existing warehouse to copy instead of generating one")
    parser.add_argument("--as-of-date", default="2026-03-31")
    parser.add_argument("--quick", action="store_true", help="small scale (what `make bench` runs)")
    parser.add_argument("--daily", action="store_true", help="then time the next day's incremental build")
    parser.add_argument("--daily-full-tests", action="store_true",
                        help="daily build tests every row (default: only the incremental window)")
    parser.add_argument("--select", nargs="+", help="build only these dbt nodes (dbt --select syntax)")
    parser.add_argument("--daily-full-refresh", action="store_true",
                        help="after the daily build, rebuild the same day with --full-refresh (full vs incremental)")
    parser.add_argument("--unit-tests", action="store_true",
                        help="run dbt's unit tests in the builds too (the DAGs leave them out; CI runs them)")
    args = parser.parse_args()
    if args.unit_tests:
        os.environ["NARROWCAST_DBT_UNIT_TESTS_IN_RUNS"] = "true"
    if args.quick:
        args.customers, args.orders = 2_000, 20_000
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        warehouse = Path(tmp) / "bench.duckdb"
        if args.warehouse:
            shutil.copyfile(args.warehouse, warehouse)
            print(f"copied {args.warehouse}")
        else:
            started = time.perf_counter()
            generate_raw(warehouse, args.customers, args.orders, args.events_per_order)
            print(f"generated {args.customers:,} customers / {args.orders:,} orders / "
                  f"{args.orders * args.events_per_order:,} GA4 events in {time.perf_counter() - started:.1f}s")
            stamp_load_times(warehouse)
        # cautious: data tests that also read nodes outside the selection are left out
        options = ["--select", *args.select, "--indirect-selection", "cautious"] if args.select else []
        wall, results = build(warehouse, Path(tmp) / "target", args.as_of_date, options=options)
        report("full dbt build", wall, results)
        if args.daily:
            next_day = (date.fromisoformat(args.as_of_date) + timedelta(days=1)).isoformat()
            with duckdb.connect(str(warehouse), read_only=True) as con:
                orders = con.execute("select count(*) from raw.shop_orders").fetchone()[0]
            per_day = max(orders // 730, 1)  # generate_raw spreads the orders over two years
            append_day(warehouse, next_day, per_day, args.events_per_order)
            if not args.warehouse:
                stamp_load_times(warehouse)
            print(f"appended {next_day}: {per_day:,} orders, {per_day * args.events_per_order:,} GA4 events")
            since = (date.fromisoformat(next_day) - timedelta(days=3)).isoformat()
            test_window = None if args.daily_full_tests else since
            wall, results = build(warehouse, Path(tmp) / "target", next_day, test_window, options)
            report("daily dbt build", wall, results)
            if args.daily_full_refresh:
                wall, results = build(warehouse, Path(tmp) / "target", next_day, test_window,
                                      [*options, "--full-refresh"])
                report("same day, --full-refresh", wall, results)


def report(label: str, wall: float, results: list[dict[str, object]]) -> None:
    nodes = sum(float(r["execution_time"]) for r in results)
    print(f"{label + ' wall time':26s}: {wall:8.1f} s  ({len(results)} nodes, summed node time {nodes:.1f} s, "
          "see dbt threads above)")
    by_type: dict[str, float] = {}
    for r in results:
        kind = str(r["unique_id"]).split(".")[0]
        by_type[kind] = by_type.get(kind, 0.0) + float(r["execution_time"])
    print("  node time by type: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(by_type.items())))
    for r in sorted(results, key=lambda r: -float(r["execution_time"]))[:15]:
        print(f"  {float(r['execution_time']):7.2f} s  {r['unique_id']}")
    for kind, shown in (("model", 20), ("test", 8)):
        slowest = sorted((r for r in results if str(r["unique_id"]).startswith(kind + ".")),
                         key=lambda r: -float(r["execution_time"]))
        print(f"  slowest {kind}s: " + ", ".join(
            f"{str(r['unique_id']).split('.')[2]} {float(r['execution_time']):.1f} s" for r in slowest[:shown]))


if __name__ == "__main__":
    main()
