"""Rows per second each source connector pulls from its sandbox emulator, over a freshly generated world.

Usage: ``PYTHONPATH=include python bench/bench_connectors.py [--customers 5000] [--days 92] [--world DIR]``.
Prints, per connector: rows, HTTP requests, seconds, rows/s; plus sandbox start-up time (loading the world).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.datagen import generate
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import free_port, wait_until_up
from narrowcast.sources import amazon, ebay, google_ads, klaviyo, meta_ads, shopify


@contextlib.contextmanager
def sandbox_process(world: Path) -> Iterator[str]:
    """The sandbox in its own process, as in the demo (in a thread it would share the client's GIL)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "include")}
    server = subprocess.Popen([sys.executable, "-m", "narrowcast.sandbox.server", "--port", str(port),
                               "--world", str(world)], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/_sandbox/health", timeout=120)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def first_value(world: Path, table: str, column: str) -> str:
    return str(pq.read_table(world / f"{table}.parquet", columns=[column]).column(0)[0].as_py())


def distinct(world: Path, table: str, column: str) -> list[str]:
    values = pq.read_table(world / f"{table}.parquet", columns=[column]).column(0).unique().to_pylist()
    return sorted(str(v) for v in values)


# Per entity: the world file and the key columns whose distinct count the pull must match.
WORLD_KEYS = {
    "shop_orders": ("orders", ["order_id"]),
    "shop_order_lines": ("order_lines", ["line_item_id"]),
    "shop_customers": ("customers", ["customer_id"]),
    "shop_products": ("products", ["variant_id"]),
    "meta_ad_insights": ("meta_insights", ["account_id", "campaign_id", "date"]),
    "google_ads_campaign_stats": ("google_ads_stats", ["customer_id", "campaign_id", "date"]),
    "ebay_orders": ("ebay_orders", ["order_id"]),
    "ebay_order_lines": ("ebay_orders", ["line_item_id"]),
    "amazon_orders": ("amazon_orders", ["amazon_order_id"]),
    "amazon_order_items": ("amazon_orders", ["order_item_id"]),
    "klaviyo_subscription_events": ("klaviyo_signups", ["event_id"]),
}


def world_count(world: Path, entity: str) -> int | None:
    if entity not in WORLD_KEYS:
        return None
    table, columns = WORLD_KEYS[entity]
    rows = pq.read_table(world / f"{table}.parquet", columns=columns).to_pylist()
    return len({tuple(r.values()) for r in rows})


def connectors(sandbox_url: str, world: Path) -> list[tuple[str, object, type, Connection]]:
    def conn(prefix: str, conn_id: str, **extra: object) -> Connection:
        return Connection(conn_id, f"{sandbox_url}/{prefix}", password=SANDBOX_TOKEN, extra=extra)

    return [
        ("shopify", shopify, shopify.ShopifyClient, conn("shopify", "narrowcast_shopify")),
        ("meta", meta_ads, meta_ads.MetaClient,
         conn("meta", "narrowcast_meta", ad_account_id=first_value(world, "meta_insights", "account_id"))),
        ("google_ads", google_ads, google_ads.GoogleAdsClient,
         conn("google_ads", "narrowcast_google_ads", developer_token="dev",
              customer_id=first_value(world, "google_ads_stats", "customer_id"))),
        ("ebay", ebay, ebay.EbayClient, conn("ebay", "narrowcast_ebay")),
        ("amazon", amazon, amazon.AmazonClient,
         conn("amazon", "narrowcast_amazon",
              marketplace_ids=",".join(distinct(world, "amazon_orders", "marketplace_id")))),
        ("klaviyo", klaviyo, klaviyo.KlaviyoEventsClient, conn("klaviyo", "narrowcast_klaviyo")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=92)
    parser.add_argument("--world", type=Path, help="an existing world directory (skips generation)")
    parser.add_argument("--keep", type=Path, help="generate into this data directory and keep it")
    parser.add_argument("--quick", action="store_true", help="small scale (what `make bench` runs)")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.days = 500, 14
    with tempfile.TemporaryDirectory() as tmp:
        world = args.world
        if world is None:
            data_dir = args.keep or Path(tmp)
            began = time.perf_counter()
            generate(data_dir, customers=args.customers, days=args.days)
            world = data_dir / "world"
            print(f"generated world: {args.customers} customers, {args.days} days "
                  f"in {time.perf_counter() - began:.1f}s")
        began = time.perf_counter()
        with sandbox_process(world) as sandbox_url:
            print(f"sandbox up (world loaded) in {time.perf_counter() - began:.1f}s")
            window = Window(datetime(2000, 1, 1), datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5))
            print(f"{'connector':<11} {'rows':>9} {'requests':>9} {'seconds':>8} {'rows/s':>9}  per entity")
            for name, module, client_cls, conn in connectors(sandbox_url, world):
                client = client_cls.from_connection(conn)
                counts: dict[str, int] = {}
                began = time.perf_counter()
                for page in module.extract(conn, window, client=client):
                    counts[page.entity] = counts.get(page.entity, 0) + len(page.records)
                seconds = time.perf_counter() - began
                rows = sum(counts.values())
                missing = {e: (n, world_count(world, e)) for e, n in counts.items()
                           if world_count(world, e) not in (None, n)}
                detail = ", ".join(f"{entity}={n}" for entity, n in counts.items())
                detail += f"  MISMATCH vs world (pulled, world): {missing}" if missing else "  (all world rows)"
                print(f"{name:<11} {rows:>9} {client.calls:>9} {seconds:>8.2f} {rows / seconds:>9.0f}  {detail}")


if __name__ == "__main__":
    main()
