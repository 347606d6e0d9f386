"""Benchmark one day of the whole pipeline through Airflow: every extract for the day, the transform, every sync.

    PYTHONPATH=include .venv/bin/python bench/bench_daily_pipeline.py --customers 20000     # 30 days by default
    PYTHONPATH=include .venv/bin/python bench/bench_daily_pipeline.py --quick   # 200 customers × 14 days
    PYTHONPATH=include .venv/bin/python bench/bench_daily_pipeline.py --customers 1000000 \
        --ga4-history-days 1 --ga4-gzip --without-privacy-requests     # the short history (below)

Generates a shop of N customers × D days and runs the demo's machinery (:mod:`narrowcast.demo`: the sandbox APIs,
``run_dags`` with the one-process runner :mod:`narrowcast_airflow.runner`) in a temporary data directory, Airflow
home and sandbox port (``bench_demo.isolated_env``):

1. history (untimed): every extract over ``[start, last day)`` (entity sources from their first-load start), the
   audience-entry transform when the world is long enough for one (``--days`` ≥ 47), the transform as of the last
   day, every activation DAG (the first syncs); it prints seconds per phase (generator, set-up and the sandbox
   loading the world, each history DAG run);
2. the day (timed): :func:`narrowcast.demo.range_plan` for ``[last day, end)`` — each extract with a one-day
   window (entity sources too: what changed that day), the transform with ``as_of_date`` the next day (a daily
   run: incremental models, data tests of the large models over the rebuilt days only, as the transform DAG's
   ``data_tests_since_date`` gives), each activation DAG.

It prints seconds per DAG run and per task (and dbt's own build time from the transform's log), rows each source
received that day (``meta.batches``) beside its history and its average day, sync calls (``activation.sync_runs``),
the wall total, the CPU seconds of all processes (the bench, the runner, dbt, the sandbox) and the 1-minute load
average before and after. A source whose one-day extract receives more than 3× its average day times the days it
should read (the window plus its declared lookback) is flagged: that is an extract re-reading history.

The GA4 export of the last day is held back from the history run (the source loads every new export file
whatever the window) and put back for the day. The inbox's files are whole-period snapshots the generator writes
once, so the day has none: its extract_inbox measures a run that finds no new file.

The short history, for large worlds (the day itself is unchanged: the same plan, DAGs and windows):

- ``--ga4-history-days K``: of the GA4 exports before the day only the last K are loaded (the web extract's window
  starts there, so no day is reported missing); the older files stay out of the export folder for the whole run.
  The customer base, the orders and every other source keep their whole history. Not exercised: the web events
  of the older days, so the models that scan every event or session (attribution of the older orders, the
  sessions behind the KPI marts' older dates) hold K days of web data instead of D - 1, and the day's
  incremental web models rebuild their 3-day lookback over fewer earlier days. K ≥ 3 covers that lookback.
- ``--ga4-gzip``: the generator writes the export as ``.ndjson.gz`` (as BigQuery's extract writes JSON with
  GZIP), ~14x less disk; 1M customers × 30 days are ~87M events, ~78 GB of plain NDJSON.
- ``--without-privacy-requests``: the inbox's privacy-request drop is never loaded. The generator writes 0.2%
  of the customers' opt-outs and deletions; each deletion is a Klaviyo ``data-privacy-deletion-jobs`` request,
  which Klaviyo limits to 60/min steady (3/s burst): 1,000 deletions at 1M customers are ~17 minutes of pacing
  in the history's extract_inbox. Not exercised: the privacy purge, and those customers' suppression from the
  audiences the day syncs (0.2% of them).

Measured December 2026 on the shared 2-core machine, 30-day worlds (``--days 30``), "the day" only, one run
each (other work on the machine; CPU seconds of all processes are the steadier figure). N = 20,000, the same
world and rows twice: the shop's day read page by page (before a short window was counted), then counted and
sent to bulk (``ordersCount`` 758 > ``BULK_ABOVE_ORDERS`` = 25):

    stage (seconds)                    paged (load 7.2 → 10.2)        counted → bulk (load 13.3 → 9.1)
    runner start (parse-dags)                11.3                           18.6
    extract_inbox (no new file)              22.2                           21.6
    extract_shop                            243.2  (758 orders)             10.1  (758 orders)
      extract_shopify task                  232.5                            2.4  (one bulk operation; 150
                                                                                   customers still paged)
    extract_web_events (one GA4 file)        12.9  (52,043 events)           7.8
    extract_ad_costs                          5.0                            6.2
    extract_marketplace_orders                7.7                            5.4
    transform                               133.5                          124.5
      dbt build task / dbt's own time   102.4 / 70.3                    91.6 / 60.3
      generate_dbt_docs                      28.9                           26.5
    activate_audiences                       28.5                           20.9
    activate_inventory                       82.3  (stock_amazon 243 calls) 80.1  (the same calls)
    wall / CPU, all processes           557.9 / 101.0                  306.1 / 97.2
    rows extracted that day             275,010 of 8.75M (3.1%) both runs, 349 sync API calls both runs
(Earlier, with a generator that wrote 370 orders for that day, at load 1.4 → 0.7: 240.4 s wall / 94.8 CPU-s,
extract_shop 113.5 s of which 103.0 s waiting on the bucket; 5,000 customers at load 3.2 → 3.8: 123.0 s /
86.9 CPU-s, extract_shop 15.3 s for 74 orders. The day holds 3.1% of the history's rows, about 1/29.)

Every source read its window: no one-day extract received more than its window plus its declared lookback (Meta
and Google Ads stats re-read 7 days, as their sources declare for restatements; the campaign lists are 4-row
snapshots). What the day waits for is not CPU (97-101 CPU-s in both runs):

- extract_shop, paged: ``ORDERS_PAGE`` = 5 orders a query, each asking 787 cost points of a bucket refilled at
  100 points/s (Shopify's standard plan) and charged its actual ~32 points an order: ~0.3 s per order, 232 s
  for 758. Counted: ``ordersCount`` (one point) says 758, more than the 25 orders paging reads in the ~8 s
  budgeted for a bulk operation (``settings.BULK_ABOVE_ORDERS``), so the orders are one bulk operation; the
  sandbox completes it on its second poll, 0.25 s after it starts, so the task takes 2.4 s. Shopify documents
  no duration for a bulk operation: on a real shop the task waits for however long the operation runs.
- activate_inventory: stock_amazon is one Listings Items call per changed SKU, paced at Amazon's 5 requests/s;
  the generator's catalogue grows with the customers (250 → 1,000 products).
- The transform (dbt's own run time 60-70 s at this load) and the fixed costs (runner start, GX import in
  extract_inbox) stay flat.

Extrapolation to 1M customers (×50 the 20,000 run; an extrapolation, not a measurement): paged, the shop's
~38,000 orders of such a day (~21,000 on an average day) would be ~7,600 queries at 100 points/s, over three
hours; counted, they are one bulk operation per resource (the ~7,500 changed customers too, above their
threshold of 200), whose run time on Shopify's side is not published, and a JSONL download. The generator's
catalogue stops at 2,000 products (``datagen.catalog.product_count``; 1,000 at 20,000 customers), so stock_amazon
changes at most 2,000 SKUs a day: ≤ 400 s of PATCHes at 5/s, or one JSON_LISTINGS_FEED (Amazon advises a feed
from 1,500 updates) whose queue and processing time Amazon does not publish. dbt's daily build measured 86-200 s
at 1M (docs/scaling.md, bench_dbt.py --daily); one GA4 day is ~2.9M events at 1M.

Measured December 2026, same machine, 30-day worlds, the day only (seconds), with the docs step reusing the
build's manifest and parse (narrowcast_airflow.dbt_docs). 100k with the short history above (``--ga4-history-days 1
--ga4-gzip --without-privacy-requests``); the machine went quiet during that day. The 20k day ran before the docs
step reused the build's parse:

    stage (seconds)                     20k (load 13.0 → 11.1)          100k (load 8.7 → 6.0)
    runner start (parse-dags)                 16.3                           4.3 (+3.9 second runner)
    extract_inbox (no new file)               16.9                           4.9
    extract_shop                               7.7  (758 orders)             4.4  (3,575 orders, bulk)
    extract_web_events                         8.2  (52,043 events)          5.0  (246,664 events)
    extract_ad_costs / marketplace        3.5 / 7.3                     1.9 / 2.5
    transform                                148.3                          34.1
      dbt build task / dbt's own time  111.7 / 76.5                   26.1 / 18.0
      generate_dbt_docs                       32.6  (compile skipped,         3.4
                                                    full parse)
      export_profile_snapshot                  2.8                           3.9
    activate_audiences                        23.2                          33.1  FAILED: cross_sell_meta
    activate_inventory                        80.1  (stock_amazon 243)     189.2  (stock_amazon 782 calls,
                                                                                  155.5 s at Amazon's 5/s)
    wall / CPU, all processes          319.8 / 97.4                   288.7 / 104.3
    rows extracted that day                 275,010                      1,305,508; 962 sync API calls

The 100k history (untimed): generate 46.8, Airflow DB + dbt parse 68.1 beside the sandbox loading the world
95.6, extract_inbox 30.9 (109.5 with the privacy requests: 100 Klaviyo deletions paced at 60/min), extract_shop
73.7 (the first load: 100k customers, 66k orders), one GA4 day 35.2, marketplaces 40.6, transform 132.1 (the full
build), activate_audiences 52.2 and activate_inventory 135.9 (the first syncs), at a load of 16-20. The 20k
history with every GA4 day: extract_web_events 168.2 (29 files, 1.69M events), transform 162.7,
activate_inventory 257.9.

The 100k day's activate_audiences failed: cross_sell_meta removed 4,004 members, and a Meta removal batch is a
DELETE whose parameters (the hashed rows) travel in the query string (activation/destinations/meta_audiences.py),
a URL of over 300 KB that the sandbox's HTTP server refuses ("Invalid HTTP request received"); the 1,098 removals
of the 20k day passed. The bench records a failed DAG run and runs the rest of the day in a second runner.

At 1M (December 2026, after the Shopify emulator's bulk operations became asynchronous and the extract
stopped holding a bulk result in memory) the history ran in full and the day ran through its extracts in 81.7 s
(shop 11.0, GA4 35.7, marketplaces 21.6); then the sandbox's 15.3 GB and dbt's daily build (7.25 GB) left the
2-core, 23.5 GiB machine 22 MB and it thrashed until the run was killed. Once the Shopify emulator kept its world
in Arrow tables (the sandbox 4.6-5.8 GB at 1M) the 1M day ran to the end: 519.2 s wall, 369.4 CPU-s; extracts
103.7, transform 122.1, activate_audiences 156.6 after it, activate_inventory 406.3 beside them (stock_ebay 236.5,
stock_amazon 150.0 at Amazon's 5 requests/s). Then, with syncs that keep sending while dbt holds the warehouse,
eBay's out-of-stock option in the shipped rules (stock_ebay 829 changes in 34 calls, 6.2 s) and the audiences
starting when the marts are published: 423.9 s wall, 408.5 CPU-s; extracts 93.1, transform 140.2,
activate_inventory 183.4 (stock_amazon 150.7), activate_audiences 182.5 (cross_sell_meta 117.1: 584 calls at
our old Meta default of 5/s). With Meta's documented budget (8 writes/s of its 10): 370.1 s wall, 396.2 CPU-s;
activate_audiences 134.3 (cross_sell_meta 73.2), activate_inventory 184.2. Figures and the side-by-side limits
in docs/scaling.md ("The whole day through Airflow").
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil
from bench_demo import isolated_env

from narrowcast import demo, settings
from narrowcast.sources.ga4.reader import export_files
from narrowcast.sources.registry import source as source_spec
from narrowcast.warehouse import read_only

ROOT = Path(__file__).resolve().parents[1]
# dbt's closing line in the transform's log: "Finished running … in 0 hours 0 minutes and 23.45 seconds (23.45s)."
DBT_FINISHED = re.compile(r"Finished running .*\((?P<seconds>\d+(?:\.\d+)?)s\)")
# DAG.test's own lines around each task it runs, in every run's log.
TASK_EDGE = re.compile(r"^(?P<at>\S+) .*\[DAG TEST\] (?P<edge>starting|end task) task_id=(?P<task>\S+)", re.MULTILINE)
# The exception a failed task's log reports (Airflow's "Task failed with exception" traceback ends on it).
FAILURE = re.compile(r"^(?:\w+\.)*\w+(?:Error|Failed|Exception): .+$", re.MULTILINE)
# Tasks shorter than this are left out of the per-task lines.
TASK_SHOWN_FROM = 1.0
# A one-day extract receiving more than this many times the days it should read (its window plus the lookback
# its source declares, averaged over the history) is re-reading history; below this many rows nobody cares.
REREAD_FACTOR = 3
REREAD_MIN_ROWS = 20
# The sandbox loads the whole world before it answers: 225 s (and 14 GB) for 1M customers on this machine.
SANDBOX_START_SECONDS = 1800


def cpu_seconds() -> float:
    """User + system CPU of this process, its finished children, and its live descendants (the sandbox)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def load_1min() -> float:
    return os.getloadavg()[0]


def batches(warehouse: Path) -> dict[str, tuple[str, str, int, str, str]]:
    """``meta.batches`` by batch id: source, entity, rows received, interval start and end."""
    with read_only(warehouse) as con:
        if con is None:
            return {}
        rows = con.fetchall("select batch_id, source, entity, coalesce(received, 0), cast(interval_start as varchar),"
                            " cast(interval_end as varchar) from meta.batches")
    return {r[0]: tuple(r[1:]) for r in rows}


def sync_runs(warehouse: Path) -> dict[str, tuple]:
    """``activation.sync_runs`` by run id: sync, status, planned adds/changes/removes, sent, API calls, seconds."""
    with read_only(warehouse) as con:
        if con is None:
            return {}
        rows = con.fetchall("select run_id, sync_id, status, coalesce(planned_adds, 0), coalesce(planned_changes, 0),"
                            " coalesce(planned_removes, 0), coalesce(sent, 0), coalesce(api_calls, 0),"
                            " coalesce(duration_seconds, 0) from activation.sync_runs")
    return {r[0]: tuple(r[1:]) for r in rows}


def rows_by_entity(found: dict[str, tuple]) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    for source, entity, received, *_ in found.values():
        totals[(source, entity)] = totals.get((source, entity), 0) + received
    return totals


def lookback_days(name: str) -> float:
    """The lookback the source declares: a daily run re-reads that much before its window (restatements)."""
    try:
        return source_spec(name).lookback.total_seconds() / 86400
    except KeyError:
        return 0.0


def task_seconds(log_file: Path) -> dict[str, float]:
    """Seconds per task of one DAG run (a mapped task's instances summed), from DAG.test's lines in its log."""
    if not log_file.exists():
        return {}
    started: dict[str, datetime] = {}
    seconds: dict[str, float] = {}
    for edge in TASK_EDGE.finditer(log_file.read_text(errors="replace")):
        at = datetime.fromisoformat(edge["at"].replace("Z", "+00:00"))
        if edge["edge"] == "starting":
            started[edge["task"]] = at
        elif edge["task"] in started:
            elapsed = (at - started.pop(edge["task"])).total_seconds()
            seconds[edge["task"]] = seconds.get(edge["task"], 0.0) + elapsed
    return seconds


def dbt_build_seconds(log_file: Path) -> list[float]:
    if not log_file.exists():
        return []
    return [float(m["seconds"]) for m in DBT_FINISHED.finditer(log_file.read_text(errors="replace"))]


def report_rows(history: dict[str, tuple], day: dict[str, tuple], history_days: int,
                days_of: dict[str, int] | None = None) -> None:
    """Rows per source and entity that day beside the history; ``days_of`` the history days of a source whose
    history is shorter than the world's (``--ga4-history-days``), its average day taken over those."""
    before, today = rows_by_entity(history), rows_by_entity({k: v for k, v in day.items() if k not in history})
    windows: dict[tuple[str, str], set[str]] = {}
    for batch_id, (source, entity, _, start, end) in day.items():
        if batch_id not in history:
            windows.setdefault((source, entity), set()).add(f"[{(start or '?')[:16]}, {(end or '?')[:16]})")
    print(f"\n{'source.entity':<44}{'day rows':>10}{'history':>11}{'share':>8}{'× avg day':>10}{'lookback':>9}"
          "  window asked")
    rereads = []
    for key in sorted(set(before) | set(today)):
        rows, past = today.get(key, 0), before.get(key, 0)
        source_days = (days_of or {}).get(key[0], history_days)
        per_day = past / source_days if source_days else 0
        ratio = rows / per_day if per_day else float("nan")
        share = rows / past if past else float("nan")
        lookback = lookback_days(key[0])
        flag = ""
        if per_day and rows >= REREAD_MIN_ROWS and ratio > REREAD_FACTOR * (1 + lookback):
            flag = "  ← reads more than its window + lookback"
            rereads.append(f"{key[0]}.{key[1]}")
        print(f"{key[0] + '.' + key[1]:<44}{rows:>10,}{past:>11,}{share:>8.1%}{ratio:>10.1f}{lookback:>8.1f}d  "
              f"{', '.join(sorted(windows.get(key, {'(no batch: no new file)'})))}{flag}")
    total_today, total_past = sum(today.values()), sum(before.values())
    print(f"{'all sources':<44}{total_today:>10,}{total_past:>11,}"
          f"{(total_today / total_past if total_past else 0):>8.1%}   (one day of {history_days} is "
          f"{1 / history_days:.1%})")
    print("re-reading sources: " + (", ".join(rereads) if rereads else
                                    f"none (no source received > {REREAD_FACTOR}× its window + lookback)"))


def report_syncs(history: dict[str, tuple], day: dict[str, tuple]) -> None:
    print(f"\n{'sync':<36}{'status':>10}{'adds':>7}{'changes':>8}{'removes':>8}{'sent':>7}{'calls':>7}{'s':>7}")
    calls = 0
    for run_id, (sync_id, status, adds, changes, removes, sent, api_calls, seconds) in sorted(
            day.items(), key=lambda item: item[1][0]):
        if run_id in history:
            continue
        calls += api_calls
        print(f"{sync_id:<36}{status:>10}{adds:>7,}{changes:>8,}{removes:>8,}{sent:>7,}{api_calls:>7,}{seconds:>7.1f}")
    print(f"{'all syncs':<36}{'':>10}{'':>7}{'':>8}{'':>8}{'':>7}{calls:>7,}")


@contextmanager
def set_aside(files: list[Path], aside: Path) -> Iterator[list[str]]:
    """Move ``files`` into ``aside`` for the duration (a source finds none of them), then put them back."""
    aside.mkdir(exist_ok=True)
    for path in files:
        path.rename(aside / path.name)
    try:
        yield [path.name for path in files]
    finally:
        for path in files:
            (aside / path.name).rename(path)


def held_back_exports(data_dir: Path, days: Collection[date], aside_name: str = "held-back"):
    """Keep the GA4 exports of ``days`` out of their folder for the duration: the source loads every new export
    file whatever the run's window (files, not windows, decide), so a history run would otherwise load the day too,
    and the day's run every file the history left out (``--ga4-history-days``)."""
    exports = data_dir / source_spec("ga4").input_dir
    by_day = export_files(exports) if exports.is_dir() else {}
    return set_aside([path for day in sorted(days) for path in by_day.get(day, [])], data_dir / aside_name)


def privacy_request_files(data_dir: Path) -> list[Path]:
    """The inbox's privacy-request drops and their completion markers."""
    return sorted((data_dir / source_spec("inbox").input_dir).glob("privacy_requests_*"))


def ga4_days_left_out(start: date, last_day: date, ga4_history_days: int | None) -> list[date]:
    """The export days before the ``ga4_history_days`` days that precede ``last_day`` (none when not given)."""
    if ga4_history_days is None:
        return []
    first_loaded = max(start, last_day - timedelta(days=ga4_history_days))
    return [start + timedelta(days=n) for n in range((first_loaded - start).days)]


def history_plan(start: date, last_day: date, ga4_first_day: date, transforms_before: list[dict] | None = None
                 ) -> list[dict]:
    """The demo's plan for ``[start, last_day)`` (entity sources from their first-load start), the web events'
    extract from ``ga4_first_day``: its window says which export days are due, so none is reported missing."""
    plan = demo.range_plan(start, last_day, transforms_before=transforms_before)
    for run in plan:
        if run["dag_id"] == "extract_web_events":
            run["conf"] = {**run["conf"], "start": ga4_first_day.isoformat()}
    return plan


def day_plan(day: date, end: date) -> list[dict]:
    """The demo's plan for ``[day, end)``, its mirror syncs' removals confirmed: a small shop's daily membership
    change can exceed a sync's ``max_remove_share``, and a refused sync would end the benchmark, not measure it."""
    plan = demo.range_plan(day, end, first_load=False)
    for run in plan:
        if run["dag_id"] == "activate_audiences":
            run["conf"] = {**run["conf"], "confirm_removals": True}
    return plan


def run_day(plan: list[dict], env: dict[str, str], log_dir: Path) -> tuple[dict[str, float], dict[str, str],
                                                                            dict[str, Path]]:
    """The day's plan through the runner. A DAG run that fails is recorded (with the error its log ends on) and
    the runs that runner did not report go on in a new runner, whose start shows as another ``parse-dags``: every
    stage is measured.
    Returns seconds per step, the failures, and each step's log."""
    seconds: dict[str, float] = {}
    failed: dict[str, str] = {}
    logs: dict[str, Path] = {}
    remaining = list(plan)
    while remaining:
        part_dir = log_dir.with_name(f"{log_dir.name}-{len(failed)}") if failed else log_dir
        try:
            done = demo.run_dags(remaining, env, part_dir)
            remaining = []
        except demo.DemoError as exc:
            if exc.step is None:
                raise
            done = exc.seconds
            errors = FAILURE.findall((part_dir / f"{exc.step}.log").read_text(errors="replace"))
            failed[exc.step] = errors[-1] if errors else str(exc).splitlines()[0]
            print(f"  ✗ {exc.step:<32} {failed[exc.step][:160]}", flush=True)
            # what that runner did not report goes on in the next (a run side by side may have finished)
            steps = {run["step"] for run in remaining}
            remaining = _without_waits_on([run for run in remaining if run["step"] not in done], steps)
        for step, value in done.items():
            key = f"{step} (runner {len(failed) + 1})" if step in seconds else step
            seconds[key], logs[key] = value, part_dir / f"{step}.log"
    return seconds, failed, logs


def _without_waits_on(runs: list[dict], before: set[str]) -> list[dict]:
    """``runs`` with their ``after`` no longer naming runs that were in ``before`` and are not in ``runs``: a new
    runner starts them without what an earlier runner ran, or failed to run."""
    gone = before - {run["step"] for run in runs}
    kept = []
    for run in runs:
        after = run.get("after")
        waits = [after] if isinstance(after, str) else list(after or [])
        waits = [name for name in waits if name.partition(":")[0] not in gone]
        kept.append({**{k: v for k, v in run.items() if k != "after"}, **({"after": waits} if waits else {})})
    return kept


def generate_world(paths: settings.Paths, world: demo.WorldArgs, ga4_gzip: bool) -> None:
    """The demo's world; with ``ga4_gzip`` its GA4 export as ``.ndjson.gz`` (the demo writes plain NDJSON)."""
    if not ga4_gzip:
        demo.ensure_world(paths, world)
        return
    from narrowcast.datagen import generate

    started = time.monotonic()
    generate(paths.data_dir, customers=world.customers, days=world.days, start=date.fromisoformat(world.start),
             seed=world.seed, ga4_gzip=True, progress=lambda msg: print(f"    {msg}", flush=True))
    print(f"  ✓ {'generate (GA4 gzip)':<32} {time.monotonic() - started:6.1f}s")


def run_inner(customers: int, days: int, start: str, seed: int, ga4_history_days: int | None = None,
              ga4_gzip: bool = False, without_privacy_requests: bool = False) -> int:
    """Both phases, in the isolated environment this process was started in."""
    world = demo.WorldArgs(customers, days, start, seed)
    first_day, last_day = date.fromisoformat(start), world.end - timedelta(days=1)
    left_out = ga4_days_left_out(first_day, last_day, ga4_history_days)
    paths = settings.paths().ensure()
    env = demo.run_env()  # the demo's: its lock wait too (a full build at 1M held the file over the default 60 s)
    one_build_task = env["NARROWCAST_DBT_EXECUTION_MODE"] == "build"
    log_dir = paths.logs / "bench-daily"
    print(f"world: {customers:,} customers × {days} days from {start}; the day: {last_day} (logs: {log_dir})")
    if left_out:
        print(f"GA4 history: the {(last_day - first_day).days - len(left_out)} export days before the day; the "
              f"{len(left_out)} before {first_day + timedelta(days=len(left_out))} are never loaded")
    phases: dict[str, float] = {}
    try:
        print("\nhistory (untimed)")
        began = time.monotonic()
        generate_world(paths, world, ga4_gzip)
        phases["generate"] = time.monotonic() - began
        with demo.sandbox(paths, env, start_timeout=SANDBOX_START_SECONDS) as sandbox_ready, \
                held_back_exports(paths.data_dir, left_out, "ga4-not-loaded"), \
                set_aside(privacy_request_files(paths.data_dir) if without_privacy_requests else [],
                          paths.data_dir / "inbox-not-loaded") as not_loaded:
            if not_loaded:
                print(f"  (never loaded: {', '.join(not_loaded)})")
            began = time.monotonic()
            with ThreadPoolExecutor(max_workers=2) as setup:
                for step in [setup.submit(demo.ensure_airflow, env, log_dir),
                             setup.submit(demo.ensure_manifest, env, log_dir, world.end.isoformat())]:
                    step.result()
            phases["Airflow DB + dbt parse"] = time.monotonic() - began
            sandbox_ready()
            phases["sandbox start-up (world loaded), beside them"] = time.monotonic() - began
            entry = world.audience_entry
            plan = history_plan(first_day, last_day, first_day + timedelta(days=len(left_out)),
                                [demo.audience_entry_run(entry, one_build_task)]
                                if entry is not None and entry < last_day else None)
            with held_back_exports(paths.data_dir, [last_day]) as held:
                print(f"  (held back until the day: {', '.join(held) or 'no GA4 export of the day'})")
                history_steps = demo.run_dags(plan, env, log_dir / "history")
            phases.update({f"history {step}": value for step, value in history_steps.items()})
            history_batches, history_syncs = batches(paths.warehouse), sync_runs(paths.warehouse)

            print("\nthe day (timed)")
            load_before, cpu_before, started = load_1min(), cpu_seconds(), time.monotonic()
            seconds, failed, logs = run_day(day_plan(last_day, world.end), env, log_dir / "day")
            wall, cpu, load_after = time.monotonic() - started, cpu_seconds() - cpu_before, load_1min()
    except demo.DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\n{'history phase (untimed run)':<40}{'seconds':>9}")
    for phase, value in phases.items():
        print(f"{phase:<40}{value:>9.1f}")
    print(f"\n{'stage':<40}{'seconds':>9}")
    for step, value in seconds.items():
        note = " (runner start: Airflow + DAG-folder parse)" if step.startswith("parse-dags") else ""
        note += f" FAILED: {failed[step][:100]}" if step in failed else ""
        print(f"{step:<40}{value:>9.1f}{note}")
        for task, task_s in task_seconds(logs[step]).items():
            if task_s >= TASK_SHOWN_FROM:
                print(f"{'  task ' + task:<40}{task_s:>9.1f}")
        if step == "transform":
            for build in dbt_build_seconds(logs[step]):
                print(f"{'  dbt (its own reported run time)':<40}{build:>9.1f}")
    print(f"{'wall total':<40}{wall:>9.1f}")
    print(f"{'CPU, all processes':<40}{cpu:>9.1f}")
    print(f"{'load average (1 min) before / after':<40}{load_before:>9.1f} / {load_after:.1f}")
    print("(the day's audience syncs ran with their removals confirmed: see day_plan)")
    report_rows(history_batches, batches(paths.warehouse), (last_day - first_day).days,
                {"ga4": (last_day - first_day).days - len(left_out)})
    report_syncs(history_syncs, sync_runs(paths.warehouse))
    for step, error in failed.items():
        print(f"the day's {step} FAILED: {error}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default="2026-08-01")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="200 customers × 14 days (what `make bench` runs)")
    parser.add_argument("--ga4-history-days", type=int, default=None,
                        help="load only the GA4 exports of this many days before the day (default: every day)")
    parser.add_argument("--ga4-gzip", action="store_true", help="GA4 export as .ndjson.gz (~14x less disk)")
    parser.add_argument("--without-privacy-requests", action="store_true",
                        help="leave the inbox's privacy requests out (their Klaviyo deletions are paced at 60/min)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.days = 200, 14
    if args.customers < 10 or args.days < 2:
        parser.error(f"need --customers ≥ 10 and --days ≥ 2, got {args.customers} and {args.days}")
    if args.ga4_history_days is not None and args.ga4_history_days < 1:
        parser.error(f"need --ga4-history-days ≥ 1, got {args.ga4_history_days}")
    if args.inner:
        return run_inner(args.customers, args.days, args.start, args.seed, args.ga4_history_days, args.ga4_gzip,
                         args.without_privacy_requests)
    base = Path(tempfile.mkdtemp(prefix="narrowcast-bench-daily-"))
    try:
        # A process of its own, so every setting (sandbox port, data dir, Airflow home) is read from this environment.
        proc = subprocess.run([sys.executable, __file__, "--inner", "--customers", str(args.customers), "--days",
                               str(args.days), "--start", args.start, "--seed", str(args.seed),
                               *(["--ga4-history-days", str(args.ga4_history_days)] if args.ga4_history_days else []),
                               *(["--ga4-gzip"] if args.ga4_gzip else []),
                               *(["--without-privacy-requests"] if args.without_privacy_requests else [])],
                              env=isolated_env(base), cwd=ROOT)
        return proc.returncode
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
