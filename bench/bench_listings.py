"""Listing-creation benchmark: a catalogue listed on every marketplace through the sandbox emulators.

Per marketplace (eBay, Amazon, Etsy, the shop): API calls vs the minimum the API allows (eBay: inventory item,
offer and publish calls of 25 each, a variant group one PUT and one publish; Amazon: one PUT or PATCH per listing
plus one product type definition per run; Etsy: createDraftListing, updateListingInventory, one upload per image
and the activation per new listing, one updateListing per change, plus the shop's listings read once per run, 100
per page and state; the shop: one productSet per SKU plus one SKU lookup per batch), rows/s vs the declared
ceiling (eBay rps × 25 / 3 for creates, rps × 25 for changes; Amazon's putListingsItem usage plan of 5/s; Etsy and
the shop: the sync's rps over the calls a row needs), the unchanged rerun (must be 0 calls), the listing id registry
(every created listing registered), then a catalogue change (1 % titles, 1 % prices, new variants) timed until
every marketplace shows it: listing syncs for content and new SKUs, then the stock syncs, which address the
listings through the registry, for price. A new two-variant product is one listing on every marketplace: on Etsy
one listing with a product per variant (create, inventory, image, activate), in the shop one productSet.

    python bench/bench_listings.py                      # 10,000 SKUs on eBay and Amazon, 500 on Etsy, 2,000 in the shop
                                                        # (~1 h: Amazon 5/s, Etsy 3/s at 4 calls, the shop 4/s)
    python bench/bench_listings.py --ebay-skus 10000 --amazon-skus 1000
    python bench/bench_listings.py --quick              # 500 on eBay, 50 on Amazon, 20 on Etsy, 50 in the shop
    python bench/bench_listings.py --etsy-skus 0 --shop-skus 0   # eBay and Amazon only
"""

from __future__ import annotations

import argparse
import http.server
import math
import multiprocessing
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from narrowcast.activation import run_sync  # noqa: E402
from narrowcast.activation.report import SyncReport  # noqa: E402
from narrowcast.activation.spec import SyncSpec, parse_sync  # noqa: E402
from narrowcast.contracts.connections import Connection  # noqa: E402
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN  # noqa: E402
from narrowcast.sandbox.framework import SANDBOX_TOKEN  # noqa: E402

EMULATORS = ["ebay_inventory", "amazon_listings", "etsy", "shopify_products", "shopify_inventory"]
FIELDS = ("sku", "title", "description", "brand", "gtin", "mpn", "condition", "image_urls", "aspects", "price",
          "currency", "quantity", "missing_reason")
VARIANTS_PER_GROUP = 2
ETSY_PAGE, ETSY_STATES = 100, 3  # getListingsByShop's largest page; draft, active and inactive are read
CATEGORY = {"ebay": "57990", "amazon": "SHIRT", "etsy": "1187", "shop": "Shirts"}


@dataclass(frozen=True)
class Marketplace:
    """One marketplace's listing sync and the stock sync that addresses its listings through the registry."""

    name: str
    listing: SyncSpec
    stock: SyncSpec


def serve(port: int, ready: Any) -> None:
    from narrowcast.sandbox.server import SandboxServer

    with SandboxServer(None, port=port, only=EMULATORS):
        ready.set()
        while True:
            time.sleep(3600)


class _Images(http.server.BaseHTTPRequestHandler):
    """The merchant's image host: Etsy takes image files, so its listing sync downloads each image."""

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        body = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def category(column: str) -> str:
    return "case " + " ".join(f"when {column} = '{m}' then '{c}'" for m, c in CATEGORY.items()) + " end"


def build_mart(path: Path, skus: dict[str, int], image_host: str) -> None:
    markets = ", ".join(f"('{name}', {count})" for name, count in skus.items())
    with duckdb.connect(str(path)) as con:
        con.execute(f"""create or replace table marketplace_listing_content as
            select 'SKU-' || lpad(i::varchar, 6, '0') as sku, m.marketplace, 'Linen shirt ' || i as title,
                   'A linen shirt.' as description, 'Narrowcast Wear' as brand, (4006381000000 + i)::varchar as gtin,
                   'LS-' || i as mpn, 'new' as condition, '{image_host}/' || i || '.jpg' as image_urls,
                   {category("m.marketplace")} as marketplace_category,
                   '{{"size": "M", "Colour": "Blue"}}' as aspects, 29.99::decimal(18, 2) as price, 'EUR' as currency,
                   5 as quantity, null::varchar as missing_reason, null::varchar as parent_sku,
                   null::varchar as variant_skus, null::varchar as varies_by, 'catalogue_file' as content_source
            from range({max(skus.values())}) t(i)
            cross join (values {markets}) m(marketplace, skus)
            where i < m.skus""")


def build_feed(path: Path) -> None:
    """The stock feed as marketplace_listing_feed gives it for listings Narrowcast created: ids from the registry."""
    with duckdb.connect(str(path)) as con:
        con.execute("""create or replace table marketplace_listing_feed as
            select c.sku, c.marketplace, l.remote_id as listing_id, c.quantity, c.price, c.currency,
                   case when c.quantity > 0 then 'active' else 'withdrawn' end as status
            from marketplace_listing_content c
            join activation.listing_ids l on l.record_key = c.sku and l.marketplace = c.marketplace
            where l.ended_at is null""")


def change_catalogue(path: Path, groups: int, image_host: str) -> None:
    """1 % of titles, another 1 % of prices, and ``groups`` new products of two variants on every marketplace."""
    with duckdb.connect(str(path)) as con:
        con.execute("update marketplace_listing_content set title = title || ' (new)' where hash(sku) % 100 = 0")
        con.execute("update marketplace_listing_content set price = price + 2 where hash(sku) % 100 = 1")
        con.execute(f"""insert into marketplace_listing_content
            select 'NEW-' || g || '-' || s as sku, m.marketplace, 'Linen dress ' || g as title, 'A linen dress.',
                   'Narrowcast Wear', (4006382000000 + g * 10 + (s = 'L')::int)::varchar, 'LD-' || g, 'new', '{image_host}/d.jpg',
                   {category("m.marketplace")},
                   -- each marketplace's name for the aspect (seed listing_attribute_map): Amazon's 'size', 'Size' elsewhere
                   '{{"' || case when m.marketplace = 'amazon' then 'size' else 'Size' end || '": "' || s || '"}}',
                   49.99, 'EUR', 3, null, 'NEW-' || g,
                   'NEW-' || g || '-M|NEW-' || g || '-L', '{{"Size": ["M", "L"]}}', 'catalogue_file'
            from range({groups}) t(g) cross join (values ('M'), ('L')) v(s)
            cross join (select distinct marketplace from marketplace_listing_content) m""")


def specs(ebay_rps: float) -> list[Marketplace]:
    fields = {name: name for name in FIELDS}
    common = {"model": "marketplace_listing_content", "key": "sku", "mode": "mirror", "schedule": "inventory"}
    stock = {"model": "marketplace_listing_feed", "key": "sku", "mode": "mirror", "schedule": "inventory"}
    return [
        Marketplace(
            "ebay",
            parse_sync({**common, "id": "bench_listings_ebay", "filter": {"marketplace": "ebay"},
                        "destination": "ebay_listings", "connection": "narrowcast_ebay", "object": "listing",
                        "fields": {**fields, "category_id": "marketplace_category", "parent_sku": "parent_sku",
                                   "variant_skus": "variant_skus", "varies_by": "varies_by"},
                        "batch_size": 25, "rate_limit": {"rps": ebay_rps, "burst": ebay_rps, "concurrency": 2}}),
            parse_sync({**stock, "id": "bench_stock_ebay", "filter": {"marketplace": "ebay"},
                        "destination": "ebay_inventory", "connection": "narrowcast_ebay", "object": "offer",
                        "fields": {"sku": "sku", "offerId": "listing_id", "quantity": "quantity", "price": "price",
                                   "currency": "currency", "status": "status"},
                        "batch_size": 25, "rate_limit": {"rps": ebay_rps, "burst": ebay_rps, "concurrency": 2}})),
        Marketplace(
            "amazon",
            parse_sync({**common, "id": "bench_listings_amazon", "filter": {"marketplace": "amazon"},
                        "destination": "amazon_listing_content", "connection": "narrowcast_amazon",
                        "object": "listing", "fields": {**fields, "product_type": "marketplace_category"},
                        "batch_size": 100, "rate_limit": {"rps": 5, "burst": 10, "concurrency": 1}}),
            parse_sync({**stock, "id": "bench_stock_amazon", "filter": {"marketplace": "amazon"},
                        "destination": "amazon_listings", "connection": "narrowcast_amazon", "object": "listing",
                        "fields": {"sku": "listing_id", "quantity": "quantity", "price": "price",
                                   "currency": "currency", "status": "status"},
                        "batch_size": 25000, "rate_limit": {"rps": 5, "burst": 5, "concurrency": 1}})),
        Marketplace(
            "etsy",
            parse_sync({**common, "id": "bench_listings_etsy", "filter": {"marketplace": "etsy"},
                        "destination": "etsy_listing_content", "connection": "narrowcast_etsy", "object": "listing",
                        "fields": {name: name for name in ("sku", "title", "description", "image_urls", "price",
                                                           "currency", "quantity", "missing_reason", "parent_sku",
                                                           "variant_skus", "varies_by", "aspects")}
                        | {"taxonomy_id": "marketplace_category"},
                        "batch_size": 20, "rate_limit": {"rps": 3, "burst": 3, "concurrency": 1}}),
            parse_sync({**stock, "id": "bench_stock_etsy", "filter": {"marketplace": "etsy"},
                        "destination": "etsy_listings", "connection": "narrowcast_etsy",
                        "object": "listing_inventory",
                        "fields": {"sku": "sku", "listing_id": "listing_id", "quantity": "quantity", "price": "price",
                                   "status": "status"},
                        "batch_size": 20, "rate_limit": {"rps": 3, "burst": 3, "concurrency": 1}})),
        Marketplace(
            "shop",
            parse_sync({**common, "id": "bench_listings_shop",
                        "filter": {"marketplace": "shop", "content_source": "catalogue_file"},
                        "destination": "shopify_products", "connection": "narrowcast_shopify", "object": "product",
                        "fields": {name: name for name in ("sku", "title", "description", "brand", "image_urls",
                                                           "price", "missing_reason", "parent_sku", "variant_skus",
                                                           "varies_by", "aspects")}
                        | {"product_type": "marketplace_category"},
                        "batch_size": 25, "rate_limit": {"rps": 4, "burst": 4, "concurrency": 1}}),
            parse_sync({**stock, "id": "bench_stock_shop", "filter": {"marketplace": "shop"},
                        "destination": "shopify_inventory", "connection": "narrowcast_shopify",
                        "object": "inventory_level",
                        "fields": {"sku": "sku", "inventory_item_id": "listing_id", "available": "quantity",
                                   "status": "status"},
                        "batch_size": 250, "rate_limit": {"rps": 4, "burst": 4, "concurrency": 2}})),
    ]


def minimum_calls(name: str, adds: int, changes: int, groups: int = 0, listed: int = 0) -> int:
    """The fewest calls the API allows for ``adds`` (``groups`` variant groups among them) and ``changes``.

    ``listed``: the listings the marketplace holds before the run (Etsy reads them all once per run). A variant
    group is one listing: on Etsy the four calls of a single SKU's, in the shop one productSet.
    """
    variant_rows = groups * VARIANTS_PER_GROUP
    if name == "etsy":
        reads = ETSY_STATES - 1 + max(1, math.ceil(listed / ETSY_PAGE)) if adds or changes else 0
        return reads + (adds - variant_rows + groups) * 4 + changes  # create, inventory, one image, activate
    if name == "shop":
        return math.ceil((adds + changes) / 25) + adds - variant_rows + groups + changes
    if name == "ebay":
        singles = adds - groups * VARIANTS_PER_GROUP
        # items for every row, offers for every new row, bulk publish for new singles, PUT + publish per group
        return math.ceil((adds + changes) / 25) + math.ceil(adds / 25) + math.ceil(singles / 25) + 2 * groups
    # one definition for the single product type, then one request per listing (the schema document is
    # downloaded once per process and checksum, so the first run pays one call more)
    return (1 if adds or changes else 0) + adds + changes


def ceiling_rows_per_second(name: str, spec: SyncSpec, changes_only: bool) -> float:
    if name == "ebay":
        return spec.rate_limit.rps * 25 / (1 if changes_only else 3)
    if name == "etsy":
        return spec.rate_limit.rps / (1 if changes_only else 4)
    if name == "shop":
        return spec.rate_limit.rps * 25 / 26
    return spec.rate_limit.rps


def line(name: str, label: str, report: SyncReport, spec: SyncSpec, seconds: float, groups: int = 0,
         listed: int = 0) -> None:
    rows = report.planned
    minimum = minimum_calls(name, report.planned_adds, report.planned_changes, groups, listed)
    ratio = report.api_calls / minimum if minimum else (0.0 if report.api_calls == 0 else float("inf"))
    # rows skipped unsent take no time: the rate counts the rows sent
    rate = (rows - report.skipped) / seconds if seconds else 0.0
    ceiling = ceiling_rows_per_second(name, spec, changes_only=report.planned_adds == 0)
    print(f"{name:7s} {label:16s} rows={rows:>7,d} calls={report.api_calls:>6,d} min={minimum:>6,d} "
          f"ratio={ratio:5.3f} time={seconds:8.2f}s rows/s={rate:>8,.1f} ceiling={ceiling:>7,.1f} "
          f"({(rate / ceiling if rows else 0):6.1%}) accepted={report.accepted:,} skipped={report.skipped:,} "
          f"rejected={report.rejected}", flush=True)


def timed(spec: SyncSpec, conns: dict[str, Connection], warehouse: Path) -> tuple[SyncReport, float]:
    started = time.monotonic()
    report = run_sync(spec, connections=conns, warehouse=warehouse, confirm_removals=True)
    return report, time.monotonic() - started


def registry_line(warehouse: Path, markets: list[Marketplace], expected: dict[str, int]) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = dict(con.execute("select marketplace, count(*) from activation.listing_ids "
                                  "where ended_at is null group by 1").fetchall())
    verdict = "ok" if all(counts.get(m.name, 0) == expected[m.name] for m in markets) else "MISSING IDS"
    print("registry          " + " ".join(f"{m.name}={counts.get(m.name, 0):,}/{expected[m.name]:,}" for m in markets)
          + f" live listing ids ({verdict})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ebay-skus", type=int, default=10_000)
    parser.add_argument("--amazon-skus", type=int, default=10_000)
    parser.add_argument("--etsy-skus", type=int, default=500, help="Etsy: 4 calls per new listing at 3/s")
    parser.add_argument("--shop-skus", type=int, default=2_000)
    parser.add_argument("--ebay-rps", type=float, default=10.0)
    parser.add_argument("--groups", type=int, default=None, help="new two-variant products in the catalogue change")
    parser.add_argument("--port", type=int, default=18766)
    parser.add_argument("--quick", action="store_true", help="500 SKUs on eBay, 50 on Amazon unless sizes are given")
    args = parser.parse_args()
    if args.quick:
        given = " ".join(sys.argv[1:])
        args.ebay_skus = args.ebay_skus if "--ebay-skus" in given else 500
        args.amazon_skus = args.amazon_skus if "--amazon-skus" in given else 50
        args.etsy_skus = args.etsy_skus if "--etsy-skus" in given else 20
        args.shop_skus = args.shop_skus if "--shop-skus" in given else 50
    skus = {"ebay": args.ebay_skus, "amazon": args.amazon_skus, "etsy": args.etsy_skus, "shop": args.shop_skus}
    groups = args.groups if args.groups is not None else max(1, min(args.ebay_skus, args.amazon_skus) // 1000)

    images = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    warehouse = Path(tempfile.mkdtemp(prefix="bench_listings_")) / "warehouse.duckdb"
    image_host = f"http://127.0.0.1:{images.server_address[1]}"
    build_mart(warehouse, {name: count for name, count in skus.items() if count}, image_host)
    ready = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(args.port, ready), daemon=True)
    child.start()
    if not ready.wait(60):
        raise SystemExit("sandbox did not start")
    url = f"http://127.0.0.1:{args.port}"
    extra = {"timeout_seconds": 120, "merchant_location_key": "WH-1", "fulfillment_policy_id": "1",
             "payment_policy_id": "2", "return_policy_id": "3"}
    conns = {"narrowcast_ebay": Connection("narrowcast_ebay", f"{url}/ebay", password=SANDBOX_TOKEN, extra=extra),
             "narrowcast_amazon": Connection("narrowcast_amazon", f"{url}/amazon", password=SANDBOX_TOKEN,
                                             extra={**extra, "seller_id": "A2BENCH",
                                                    "marketplace_id": "A1PA6795UKMFR9"}),
             "narrowcast_shopify": Connection("narrowcast_shopify", f"{url}/shopify", password=SANDBOX_TOKEN,
                                              extra={**extra, "location_id": 1}),
             "narrowcast_etsy": Connection(
                 "narrowcast_etsy", f"{url}/etsy", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
                 extra={**extra, "shop_id": "27182818", "refresh_token": LOCAL_REFRESH_TOKEN,
                        "shipping_profile_id": "234107945503", "token_url": f"{url}/etsy/v3/public/oauth/token"})}
    markets = [m for m in specs(args.ebay_rps) if skus[m.name]]
    print(" ".join(f"{name}_skus={count:,}" for name, count in skus.items())
          + f" new variant groups={groups}; declared rps ebay={args.ebay_rps} amazon=5 etsy=3 shop=4", flush=True)
    try:
        for market in markets:
            for label in ("initial", "unchanged"):
                report, seconds = timed(market.listing, conns, warehouse)
                line(market.name, label, report, market.listing, seconds)
        registry_line(warehouse, markets, skus)
        build_feed(warehouse)
        for market in markets:
            report, seconds = timed(market.stock, conns, warehouse)
            print(f"{market.name:7s} {'stock (registry)':16s} rows={report.planned:>7,d} calls={report.api_calls:>6,d} "
                  f"time={seconds:8.2f}s accepted={report.accepted:,} rejected={report.rejected}", flush=True)

        change_catalogue(warehouse, groups, image_host)
        started = time.monotonic()
        for market in markets:
            report, seconds = timed(market.listing, conns, warehouse)
            line(market.name, "catalogue change", report, market.listing, seconds, groups=groups,
                 listed=skus[market.name])
        build_feed(warehouse)
        for market in markets:
            report, seconds = timed(market.stock, conns, warehouse)
            print(f"{market.name:7s} {'price via stock':16s} rows={report.planned:>7,d} calls={report.api_calls:>6,d} "
                  f"time={seconds:8.2f}s accepted={report.accepted:,} rejected={report.rejected}", flush=True)
        print(f"catalogue change -> every marketplace: {time.monotonic() - started:.2f}s", flush=True)
        # Every marketplace registers each variant SKU (on Etsy under its listing, in the shop its inventory item).
        registry_line(warehouse, markets, {name: count + groups * VARIANTS_PER_GROUP for name, count in skus.items()})
    finally:
        child.terminate()
        child.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
