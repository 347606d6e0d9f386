"""Activation benchmark: a large audience and a large catalogue synced to the sandbox emulators.

Prints, per sync (Klaviyo events included, declared as the shipped event syncs are): API calls vs the minimum the API allows (target ≤ 1.05×), rows/s vs the declared ceiling
(rps × rows per request, target ≥ 80 %), the unchanged rerun (must be 0 calls), a 1 % change, and the time
from a stock change to every marketplace showing it; plus the engine process's peak memory. The sandbox runs
in a child process so its CPU time is not counted against the engine.

    python bench/bench_activation.py                         # 1M members, 100k SKUs (Amazon), reduced eBay/shop
    python bench/bench_activation.py --members 200000 --skus 20000 --ebay-skus 2000 --shop-skus 200
    python bench/bench_activation.py --quick                 # small scale, seconds (what `make bench` runs)

The marts are built in a child process too (in production dbt writes them), so the peak RSS printed is the sync
engine's own: plan streaming, payloads, HTTP bodies and DuckDB's working memory for the diff.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from narrowcast.activation import run_sync  # noqa: E402
from narrowcast.activation.spec import SyncSpec, parse_sync  # noqa: E402
from narrowcast.contracts.connections import Connection  # noqa: E402
from narrowcast.sandbox.framework import SANDBOX_TOKEN  # noqa: E402

EMULATORS = ["meta_audiences", "ebay_inventory", "amazon_listings", "shopify_inventory", "klaviyo"]
SHIPPED_EVENT_SYNC = Path(__file__).resolve().parents[1] / "include" / "syncs" / "rfm_at_risk_klaviyo_event.yml"


def serve(world: Path, port: int, ready: Any) -> None:
    """Child process: the sandbox with Plus-plan Shopify GraphQL limits and Meta's minimum-size rule off."""
    from narrowcast.sandbox.server import SandboxServer

    server = SandboxServer(world, port=port, only=EMULATORS)
    found = server.app.state.emulators
    # Plus restores 1,000 GraphQL cost points/s (Standard: 50-100); an inventorySetQuantities mutation costs 10
    found["shopify_inventory"].bucket_size, found["shopify_inventory"].restore_rate = 2_000.0, 1_000.0
    with server:
        ready.set()
        while True:
            time.sleep(3600)


def build_world(world: Path, skus: int, ebay_skus: int, shop_skus: int) -> None:
    rows: list[dict[str, Any]] = []
    for i in range(max(skus, ebay_skus, shop_skus)):
        sku = f"SKU-{i:06d}"
        if i < ebay_skus:
            rows.append({"sku": sku, "marketplace": "ebay", "listing_id": str(500_000_000 + i), "enabled": True})
        if i < skus:
            rows.append({"sku": sku, "marketplace": "amazon", "listing_id": sku, "enabled": True})
        if i < shop_skus:
            rows.append({"sku": sku, "marketplace": "shop", "listing_id": str(900_000_000 + i), "enabled": True})
    pq.write_table(pa.Table.from_pylist(rows), world / "listings.parquet")


def build_marts(path: Path, members: int, skus: int, ebay_skus: int, shop_skus: int, events: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(f"""create or replace table audience_members as
            select 'rfm_champions_loyal' as audience_id, i::bigint as customer_id, 'c' || i || '@example.com' as email,
                   sha256('c' || i || '@example.com') as email_sha256,
                   case when i % 3 > 0 then sha256('49151' || i) end as phone_sha256, 'DE' as country_code,
                   'Champions' as rfm_segment, null::varchar as recommended_skus, null::varchar as discount_code,
                   false as is_holdout, true as consent_email, true as consent_ads
            from range({members}) t(i)""")
        con.execute(f"create or replace view bench_event_members as select * from audience_members "
                    f"where customer_id < {events}")
        con.execute(f"""create or replace table marketplace_listing_feed as
            select 'SKU-' || lpad(i::varchar, 6, '0') as sku, m.marketplace,
                   case m.marketplace when 'ebay' then (500000000 + i)::varchar
                                      when 'shop' then (900000000 + i)::varchar
                                      else 'SKU-' || lpad(i::varchar, 6, '0') end as listing_id,
                   (i % 40 + 1)::integer as quantity, (9.99 + i % 100)::decimal(18,2) as price, 'EUR' as currency,
                   'active' as status, 'in stock' as status_reason, (i % 40 + 1)::integer as available_quantity,
                   (i % 40 + 1)::integer as on_hand, 0 as open_order_quantity, (7.5 + i % 100)::decimal(18,2) as base_price
            from range({max(skus, ebay_skus, shop_skus)}) t(i),
                 (values ('ebay', {ebay_skus}), ('amazon', {skus}), ('shop', {shop_skus})) m(marketplace, n)
            where i < m.n""")


def specs(meta_rps: float, ebay_rps: float, shop_rps: float, events: int) -> dict[str, SyncSpec]:
    feed = {"model": "marketplace_listing_feed", "key": "sku", "schedule": "inventory"}
    # The shipped event sync's batch size, fields and rate, over the first ``events`` members of the bench audience.
    shipped = yaml.safe_load(SHIPPED_EVENT_SYNC.read_text())
    event_sync = {**shipped, "id": "bench_klaviyo_events", "filter": {"audience_id": "rfm_champions_loyal"},
                  "mode": "add_only", "model": "bench_event_members"}
    return {
        "events": parse_sync(event_sync),
        "meta": parse_sync({
            "id": "bench_meta", "model": "audience_members", "filter": {"audience_id": "rfm_champions_loyal"},
            "destination": "meta_audiences", "connection": "narrowcast_meta", "object": "custom_audience",
            "target": {"audience_id": "120210000000000001"}, "key": "customer_id", "schedule": "audiences",
            "fields": {"EMAIL": "email_sha256", "PHONE": "phone_sha256"}, "batch_size": 10_000,
            "rate_limit": {"rps": meta_rps, "burst": 2, "concurrency": 2}}),
        "ebay": parse_sync({**feed, "id": "bench_ebay", "filter": {"marketplace": "ebay"},
                            "destination": "ebay_inventory", "connection": "narrowcast_ebay", "object": "offer",
                            "fields": {"sku": "sku", "offerId": "listing_id", "quantity": "quantity", "price": "price",
                                       "currency": "currency", "status": "status"},
                            "rate_limit": {"rps": ebay_rps, "burst": 2, "concurrency": 4}}),
        "amazon": parse_sync({**feed, "id": "bench_amazon", "filter": {"marketplace": "amazon"},
                              "destination": "amazon_listings", "connection": "narrowcast_amazon", "object": "listing",
                              "fields": {"sku": "listing_id", "quantity": "quantity", "price": "price",
                                         "currency": "currency", "status": "status"},
                              "batch_size": 25_000, "rate_limit": {"rps": 5, "burst": 5, "concurrency": 2}}),
        "shop": parse_sync({**feed, "id": "bench_shop", "filter": {"marketplace": "shop"},
                            "destination": "shopify_inventory", "connection": "narrowcast_shopify",
                            "object": "inventory_level", "batch_size": 250,
                            "fields": {"inventory_item_id": "listing_id", "available": "quantity", "status": "status"},
                            "rate_limit": {"rps": shop_rps, "burst": 2, "concurrency": 2}}),
    }


def minimum_calls(name: str, rows: int, spec: SyncSpec) -> int:
    """Fewest requests the API allows for ``rows`` changes of one kind."""
    if rows == 0:
        return 0
    if name == "meta":
        return math.ceil(rows / 10_000)
    if name == "events":
        return math.ceil(rows / 1_000)  # bulk_create_events: up to 1,000 events per request
    if name == "ebay":
        return math.ceil(rows / 25)
    if name == "shop":
        # compare-and-set (required from Admin API 2026-04): a read of the current levels and a mutation per 250
        return 2 * math.ceil(rows / 250)
    # Amazon: up to 500 rows one PATCH each; above, one feed per 25,000 messages needing createFeedDocument,
    # upload, createFeed, getFeed until DONE (this emulator answers IN_PROGRESS once), getFeedDocument, download.
    return rows if rows <= 500 else 7 * math.ceil(rows / 25_000)


def ceiling_rows_per_second(name: str, spec: SyncSpec, rows: int) -> float | None:
    """rps × rows per request; None for Amazon's feed path, which is limited by feeds per 5 minutes instead."""
    if name == "amazon" and rows > 500:
        return None
    per_call = {"meta": 10_000, "ebay": 25, "shop": 250, "amazon": 1, "events": 1_000}[name]
    return spec.rate_limit.rps * per_call


def cpu_seconds() -> float:
    """CPU time of this (the engine's) process, all threads: a figure that, unlike wall time, barely moves when
    other work shares the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def line(name: str, label: str, report: Any, spec: SyncSpec, seconds: float, cpu: float) -> None:
    rows = report.planned
    minimum = minimum_calls(name, rows, spec)
    ratio = report.api_calls / minimum if minimum else (0.0 if report.api_calls == 0 else float("inf"))
    rate = rows / seconds if seconds else 0.0
    ceiling = ceiling_rows_per_second(name, spec, rows)
    versus = (f"ceiling={ceiling:>9,.0f} ({rate / ceiling:6.1%})" if ceiling and rows
              else "ceiling=      n/a          ")
    per_row = report.api_calls / rows if rows else 0.0
    print(f"{name:7s} {label:10s} rows={rows:>9,d} calls={report.api_calls:>6,d} calls/row={per_row:.4f} min={minimum:>6,d} "
          f"ratio={ratio:5.3f} time={seconds:8.2f}s rows/s={rate:>9,.0f} {versus} "
          f"engine_cpu={cpu:6.2f}s accepted={report.accepted:,} rejected={report.rejected}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=100_000, help="SKUs on Amazon (feed path)")
    parser.add_argument("--ebay-skus", type=int, default=10_000, help="SKUs on eBay (25 per call)")
    parser.add_argument("--shop-skus", type=int, default=600, help="SKUs in the shop (250 per mutation)")
    parser.add_argument("--events", type=int, default=100_000,
                        help="members entering the Klaviyo event sync (1,000 per call; Klaviyo allows 150 calls/min)")
    parser.add_argument("--meta-rps", type=float, default=5.0)
    parser.add_argument("--ebay-rps", type=float, default=10.0)
    parser.add_argument("--shop-rps", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--quick", action="store_true",
                        help="small scale (20k members, 2k SKUs, 200 on eBay, 40 in the shop) unless sizes are given")
    args = parser.parse_args()
    if args.quick:
        given = set(sys.argv[1:])
        for flag, small in (("--members", 20_000), ("--skus", 2_000), ("--ebay-skus", 200), ("--shop-skus", 40),
                            ("--events", 5_000)):
            if flag not in given and not any(a.startswith(flag + "=") for a in given):
                setattr(args, flag[2:].replace("-", "_"), small)

    tmp = Path(tempfile.mkdtemp(prefix="bench_activation_"))
    world = tmp / "world"
    world.mkdir()
    build_world(world, args.skus, args.ebay_skus, args.shop_skus)
    warehouse = tmp / "warehouse.duckdb"
    builder = multiprocessing.Process(target=build_marts,
                                      args=(warehouse, args.members, args.skus, args.ebay_skus, args.shop_skus,
                                            min(args.events, args.members)))
    builder.start()
    builder.join()
    if builder.exitcode != 0:
        raise SystemExit(f"building the marts failed (exit code {builder.exitcode})")
    ready = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(world, args.port, ready), daemon=True)
    child.start()
    if not ready.wait(60):
        raise SystemExit("sandbox did not start")
    url = f"http://127.0.0.1:{args.port}"
    extra = {"poll_interval_seconds": 0.2, "timeout_seconds": 120, "feed_threshold": 500}
    conns = {cid: Connection(cid, f"{url}/{prefix}", password=SANDBOX_TOKEN, extra={**extra, **more})
             for cid, prefix, more in [
                 ("narrowcast_meta", "meta", {}), ("narrowcast_ebay", "ebay", {}),
                 ("narrowcast_amazon", "amazon", {"seller_id": "A2BENCH", "marketplace_id": "A1PA6795UKMFR9"}),
                 ("narrowcast_shopify", "shopify", {"location_id": 1}), ("narrowcast_klaviyo", "klaviyo", {})]}
    syncs = specs(args.meta_rps, args.ebay_rps, args.shop_rps, args.events)
    setup_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members={args.members:,} amazon_skus={args.skus:,} ebay_skus={args.ebay_skus:,} "
          f"shop_skus={args.shop_skus:,}; declared rps meta={args.meta_rps} ebay={args.ebay_rps} amazon=5 "
          f"shop={args.shop_rps}", flush=True)
    try:
        for name, spec in syncs.items():
            for label in ("initial", "unchanged"):
                started, cpu = time.monotonic(), cpu_seconds()
                report = run_sync(spec, connections=conns, warehouse=warehouse)
                line(name, label, report, spec, time.monotonic() - started, cpu_seconds() - cpu)
        # a 1 % change of the audience: new phone numbers for every 100th member
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update audience_members set phone_sha256 = sha256('new' || customer_id) "
                        "where customer_id % 100 = 0")
        started, cpu = time.monotonic(), cpu_seconds()
        report = run_sync(syncs["meta"], connections=conns, warehouse=warehouse)
        line("meta", "1% change", report, syncs["meta"], time.monotonic() - started, cpu_seconds() - cpu)
        # a stock change: one SKU sells out on every marketplace; time until each shows it
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update marketplace_listing_feed set quantity = 0, status = 'withdrawn' where sku = 'SKU-000007'")
        changed_at = time.monotonic()
        for name in ("ebay", "amazon", "shop"):
            report = run_sync(syncs[name], connections=conns, warehouse=warehouse)
            shown = _shows_zero(url, name)
            print(f"{name:7s} stock->0   calls={report.api_calls} visible={shown} "
                  f"after {time.monotonic() - changed_at:.2f}s from the mart change", flush=True)
    finally:
        child.terminate()
        child.join(10)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine process peak RSS: {peak_mb:,.0f} MB (before the first sync: {setup_mb:,.0f} MB; "
          "the marts are built and the sandbox runs in separate processes)")
    return 0


def _shows_zero(url: str, name: str) -> bool:
    emulator = {"ebay": "ebay_inventory", "amazon": "amazon_listings", "shop": "shopify_inventory"}[name]
    snap = requests.get(f"{url}/_sandbox/received/{emulator}", timeout=60).json()
    if name == "ebay":
        return snap["offers"]["500000007"]["status"] == "UNPUBLISHED"
    if name == "amazon":
        return snap["listings"]["SKU-000007"]["quantity"] == 0
    return snap["levels"]["900000007@1"] == 0


if __name__ == "__main__":
    raise SystemExit(main())
