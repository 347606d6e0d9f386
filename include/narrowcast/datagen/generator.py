"""``generate``: build the whole synthetic shop world for a seed and write every output file.

Each stage draws from its own random stream (``default_rng([seed, stage])``), so outputs depend only on the seed
and the arguments, never on the date, the machine or the order other stages consume randomness in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen import defects as dirt
from narrowcast.datagen import referrals
from narrowcast.datagen.ad_stats import build_ad_stats
from narrowcast.datagen.campaign_metadata import build_campaign_metadata
from narrowcast.datagen.catalog import build_catalog, products_table
from narrowcast.datagen.customers import build_customers
from narrowcast.datagen.ga4_export import Ga4Writing, event_file_name, start_ga4_exports
from narrowcast.datagen.inbox import budget_plan, erp_stock, month_labels, orders_export, privacy_requests
from narrowcast.datagen.klaviyo_signups import build_klaviyo_signups
from narrowcast.datagen.lead_events import LeadEvents, chained
from narrowcast.datagen.marketplaces import build_amazon_orders, build_ebay_orders, build_listings
from narrowcast.datagen.report import GenerationError, GenerationReport
from narrowcast.datagen.sessions import Sessions, build_sessions, pseudo_ids, sessions_table
from narrowcast.datagen.table_writer import write_csv, write_parquet
from narrowcast.datagen.traffic import AFFILIATE, CHANNELS, TrafficSource, campaigns, traffic_sources
from narrowcast.datagen.web_orders import WebOrders, build_web_orders, with_sites

MIN_CUSTOMERS, MAX_CUSTOMERS = 50, 20_000_000
MIN_DAYS, MAX_DAYS = 7, 731
MIN_START, MAX_START = date(2000, 1, 1), date(2099, 1, 1)
# Generator-owned file patterns, cleared before a run so a folder always holds exactly one run's output.
OWNED = {"world": ("*.parquet", "defects.json"), "exports/ga4": ("events_*.ndjson", "events_*.ndjson.gz"),
         "inbox": ("erp_stock_*.csv", "budget_plan_*.csv", "marketplace_listings.csv", "privacy_requests_*.csv",
                   "orders_export_*.csv", "partner_list_*.csv", "*.csv.done")}


def validate(customers: int, days: int, start: date, seed: int) -> None:
    """Raise GenerationError naming the bad argument and the accepted range."""
    if isinstance(customers, bool) or not isinstance(customers, int) or not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        raise GenerationError(f"customers={customers!r} is out of range: use an integer from {MIN_CUSTOMERS:,} "
                              f"to {MAX_CUSTOMERS:,}")
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise GenerationError(f"days={days!r} is out of range: use an integer from {MIN_DAYS} to {MAX_DAYS}")
    if not isinstance(start, date) or not MIN_START <= start <= MAX_START:
        raise GenerationError(f"start={start!r} is out of range: use a date from {MIN_START} to {MAX_START} "
                              "(YYYY-MM-DD)")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise GenerationError(f"seed={seed!r} is invalid: use a non-negative integer below 2**63")


def _prepare(data_dir: Path) -> dict[str, Path]:
    folders = {name: data_dir / name for name in OWNED}
    try:
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".narrowcast-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        for name, patterns in OWNED.items():
            for pattern in patterns:
                for old in folders[name].glob(pattern):
                    old.unlink()
    except OSError as exc:
        raise GenerationError(f"data directory {data_dir} is not writable ({exc.strerror or exc}): pass a "
                              "writable --data-dir or set NARROWCAST_DATA_DIR") from exc
    return folders


def generate(data_dir: Path, *, customers: int = 5000, days: int = 92, start: date = date(2026, 8, 1),
             seed: int = 42, dirty: bool = False, ga4_gzip: bool = False,
             progress: Callable[[str], None] | None = None) -> GenerationReport:
    """Write the world (Parquet), GA4 export files and inbox drops under ``data_dir``; see docs/data-contracts.md.

    ``ga4_gzip`` writes the GA4 export as gzip-compressed NDJSON (``events_YYYYMMDD.ndjson.gz``, as BigQuery's
    extract writes JSON with GZIP compression): ~14x less disk for the same lines."""
    validate(customers, days, start, seed)
    began = time.monotonic()
    say = progress or (lambda _msg: None)
    data_dir = Path(data_dir)
    folders = _prepare(data_dir)
    world, ga4_dir, inbox = folders["world"], folders["exports/ga4"], folders["inbox"]
    report = GenerationReport(data_dir, customers, days, start, seed, dirty)

    def rng(stage: int) -> np.random.Generator:
        return np.random.default_rng([seed, stage])

    def record(path: Path, rows: int) -> None:
        report.rows[path.relative_to(data_dir).as_posix()] = rows

    # Parquet encoding and compression release the GIL: one writer thread encodes each world table while the
    # next one is being built, so the second core is busy before the GA4 phase too.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
    written: list[Future[int]] = []
    ga4: list[Ga4Writing] = []  # the GA4 days being written, cancelled when the run fails before they are done

    def parquet(name: str, table: pa.Table) -> None:
        path = world / f"{name}.parquet"
        record(path, table.num_rows)
        written.append(writer.submit(write_parquet, table, path))

    try:
        with _without_numpy_hugepages():
            return _generate(data_dir, world, ga4_dir, inbox, report, rng, record, parquet, customers=customers,
                             days=days, start=start, seed=seed, dirty=dirty, ga4_gzip=ga4_gzip, say=say,
                             began=began, written=written, ga4=ga4)
    finally:
        for writing in ga4:
            writing.cancel()
        writer.shutdown(wait=True)


@contextmanager
def _without_numpy_hugepages() -> Iterator[None]:
    """NumPy asks Linux for transparent huge pages on every array of 4 MiB or more (the run-time form of
    ``NUMPY_MADVISE_HUGEPAGE=0``). The world is built from hundreds of short-lived arrays of that size, and where
    the kernel compacts memory for such requests (``transparent_hugepage/defrag`` = ``madvise``, a common
    default) each new array costs a 2-MiB page clear and compaction in the kernel: at 300k customers that was
    5.7 of the session build's 10.5 CPU-s, 2.6 of 7.9 without the advice (perf: clear_page_erms)."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined]
    except ImportError:  # NumPy 1.x, or a NumPy without the switch
        try:
            from numpy.core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined,no-redef]
        except ImportError:
            yield
            return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


def _generate(data_dir: Path, world: Path, ga4_dir: Path, inbox: Path, report: GenerationReport,
              rng: Callable[[int], np.random.Generator], record: Callable[[Path, int], None],
              parquet: Callable[[str, pa.Table], None], *, customers: int, days: int, start: date, seed: int,
              dirty: bool, ga4_gzip: bool, say: Callable[[str], None], began: float,
              written: list[Future[int]], ga4: list[Ga4Writing]) -> GenerationReport:
    start_s = int((np.datetime64(start, "s") - np.datetime64(0, "s")).astype(np.int64))
    end_s = start_s + days * 86400
    last_day = start + timedelta(days=days - 1)

    say(f"catalogue and {customers:,} customers")
    catalog = build_catalog(rng(1), customers)
    parquet("products", products_table(catalog, rng(2), start))
    parquet("product_pairs", catalog.pairs)
    people = build_customers(rng(3), customers, start_s, end_s)
    parquet("customers", people.table)

    say("web orders")
    orders = build_web_orders(rng(4), people, catalog, start_s, end_s)
    all_campaigns = campaigns(days)
    # The advocates' shared referral links come last, so every other source keeps its index.
    sources = traffic_sources(all_campaigns) + referrals.referral_sources(people)
    say(f"{orders.size:,} orders; sessions")
    sessions = build_sessions(rng(5), people, orders, catalog, all_campaigns, sources, start_s, days)
    # The GA4 export needs only what exists now: its workers write it while the rest of the world is built. They
    # fork, so the Parquet writer thread must be idle first (a fork copies no running thread).
    for future in written:
        future.result()  # a failed write raises here
    say(f"{sessions.size:,} sessions; GA4 export files for {days} days start")
    hook = dirt.Ga4Defects(seed, start, days, gzipped=ga4_gzip) if dirty else None
    ga4.append(start_ga4_exports(ga4_dir, seed, sessions, people, orders, catalog, sources, start, days,
                                 hook=chained(LeadEvents(seed), hook), progress=say, gzipped=ga4_gzip,
                                 tally=hook.take_counts if hook else None, merge=hook.add_counts if hook else None))
    say("ad platform statistics")
    meta, google = build_ad_stats(rng(6), sessions, orders, all_campaigns, sources, start_s, days)

    # The converting session decides the order's landing and referring site.
    landing, referring = _order_sites(sessions, orders.size, sources)
    orders_table = with_sites(orders.orders, landing, referring)
    orders_table = referrals.with_referral_codes(rng(15), orders_table, people)
    if dirty:
        orders_table, entries = dirt.corrupt_orders(rng(101), orders_table, end_s)
        report.defects += entries
    parquet("orders", orders_table)
    parquet("order_lines", orders.lines)
    parquet("refunds", orders.refunds)
    parquet("meta_insights", meta)
    parquet("google_ads_stats", google)
    for name, table in build_campaign_metadata(all_campaigns, start_s).items():
        parquet(name, table)
    parquet("klaviyo_signups", build_klaviyo_signups(rng(17), people, start_s, end_s))
    parquet("ga4_sessions", sessions_table(sessions, people, sources, pseudo_ids(sessions.visitor,
                                                                                 sessions.first_touch)))

    say("marketplace orders and listings")
    ebay = build_ebay_orders(rng(8), people, catalog, max(5, orders.size // 7), start_s, end_s)
    amazon = build_amazon_orders(rng(9), people, catalog, max(5, orders.size // 4), start_s, end_s)
    listings = build_listings(rng(10), catalog)
    parquet("ebay_orders", ebay)
    parquet("amazon_orders", amazon)
    parquet("listings", listings)

    say("inbox files")
    inbox_files: dict[str, pa.Table] = {
        f"erp_stock_{last_day:%Y%m%d}.csv": erp_stock(rng(11), catalog, end_s - 19 * 3600),
        "marketplace_listings.csv": listings,
        f"privacy_requests_{last_day:%Y%m%d}.csv": privacy_requests(rng(12), people, end_s),
        f"orders_export_{last_day:%Y%m%d}.csv": orders_export(rng(13), people, catalog, start_s, end_s,
                                                              max(10, orders.size // 30)),
        f"partner_list_{last_day:%Y%m%d}.csv": referrals.partner_list(rng(16), people, end_s),
    }
    months = month_labels(start, days)
    plan = budget_plan(rng(14), months, _actuals(months, sessions, orders, sources, meta, google, ebay, amazon))
    for year in sorted({m[:4] for m in months}):
        inbox_files[f"budget_plan_{year}.csv"] = plan.filter(pc.starts_with(plan.column("month"), year))
    if dirty:
        extra, entries = dirt.corrupt_inbox(rng(102), inbox_files, catalog, last_day)
        inbox_files.update(extra)
        report.defects += entries
    for name, table in sorted(inbox_files.items()):
        path = inbox / name
        record(path, write_csv(table, path))
        marker = path.with_name(name + ".done")  # written whole: the inbox may read it without waiting to settle
        marker.touch()
        record(marker, 0)

    say(f"world and inbox written; waiting for the GA4 export of {days} days")
    per_day = ga4[0].wait()
    for future in written:
        future.result()
    for day, rows in per_day.items():
        record(ga4_dir / event_file_name(day, ga4_gzip), rows)
    if hook is not None:
        report.defects += hook.finish(ga4_dir)
    if dirty:
        report.defects.sort(key=lambda e: (str(e["target"]), str(e["where"]), str(e["rule"])))
        (world / "defects.json").write_text(json.dumps(report.defects, indent=2) + "\n", encoding="utf-8")
    report.seconds = time.monotonic() - began
    say(report.summary())
    return report


def _order_sites(sessions: Sessions, n_orders: int, sources: list[TrafficSource]) -> tuple[pa.Array, pa.Array]:
    bought = sessions.order >= 0
    src = np.zeros(n_orders, dtype=np.int64)
    has = np.zeros(n_orders, dtype=bool)
    src[sessions.order[bought]] = sessions.source[bought]
    has[sessions.order[bought]] = True
    landing = pa.array(["/" + t.landing_query.replace("?gclid=", "") for t in sources], pa.string())
    referrer = pa.array([t.referrer for t in sources], pa.string())
    idx = pa.array(src, mask=~has)  # test orders have no session
    return landing.take(idx), referrer.take(idx)


def _actuals(months: list[str], sessions: Sessions, orders: WebOrders, sources: list[TrafficSource],
             meta: pa.Table, google: pa.Table, ebay: pa.Table, amazon: pa.Table) -> dict[str, np.ndarray]:
    """What really happened per month × channel, the basis the budget plan is drawn around."""
    n_m, n_c = len(months), len(CHANNELS)
    first_month = np.datetime64(months[0], "M")

    def month_of(epoch_s: np.ndarray) -> np.ndarray:
        return (np.asarray(epoch_s).astype("datetime64[s]").astype("datetime64[M]") - first_month).astype(np.int64)

    channel_of = np.array([t.channel for t in sources])
    s_month = np.clip(month_of(sessions.start), 0, n_m - 1)
    s_chan = channel_of[sessions.source]
    sess = np.bincount(s_month * n_c + s_chan, minlength=n_m * n_c).reshape(n_m, n_c)
    bought = sessions.order >= 0
    o = sessions.order[bought]
    o_key = np.clip(month_of(orders.created_at[o]), 0, n_m - 1) * n_c + s_chan[bought]
    n_orders = np.bincount(o_key, minlength=n_m * n_c).reshape(n_m, n_c)
    revenue = np.bincount(o_key, weights=orders.total_cents[o], minlength=n_m * n_c).reshape(n_m, n_c)
    spend = np.zeros((n_m, n_c))
    for table, col, chan, scale in ((meta, "spend", 0, 100), (google, "cost_micros", 1, 1 / 10_000)):
        days_ = table.column("date").cast(pa.int32()).to_numpy().astype(np.int64) * 86400
        values = table.column(col).cast(pa.float64()).to_numpy() * scale
        spend[:, chan] += np.bincount(np.clip(month_of(days_), 0, n_m - 1), weights=values, minlength=n_m)
    # Affiliate commissions are invoiced by the network, a cost no source of the pipeline carries: the plan
    # budgets spend only where the warehouse sees the cost (the ad platforms), so plan and actual compare.
    spend[:, AFFILIATE] = 0
    mp = CHANNELS.index("marketplace")
    for table, id_col, time_col, price_col in ((ebay, "order_id", "creation_date", "line_item_cost"),
                                               (amazon, "amazon_order_id", "purchase_date", "item_price")):
        t_s = table.column(time_col).cast(pa.int64()).to_numpy() // 1_000_000
        m = np.clip(month_of(t_s), 0, n_m - 1)
        revenue[:, mp] += np.bincount(m, weights=table.column(price_col).cast(pa.float64()).to_numpy() * 100,
                                      minlength=n_m)
        ids = table.column(id_col).to_numpy(zero_copy_only=False)
        _, first = np.unique(ids, return_index=True)
        n_orders[:, mp] += np.bincount(m[first], minlength=n_m)
    return {"spend_cents": spend, "sessions": sess, "orders": n_orders, "revenue_cents": revenue}
