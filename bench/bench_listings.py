"""Listing-creation benchmark: a catalogue listed on eBay and Amazon through the sandbox emulators.

Prints, per marketplace: API calls vs the minimum the API allows (eBay: inventory item, offer and publish calls
of 25 each; Amazon: one PUT per listing plus one product type definition per run and one schema download per process), rows/s vs the
declared ceiling (eBay rps × 25 / 3, Amazon's putListingsItem usage plan of 5/s), the unchanged rerun (must be
0 calls) and a 1 % title change.

    python bench/bench_listings.py                      # 10,000 SKUs on eBay and on Amazon (Amazon: ~35 min at 5/s)
    python bench/bench_listings.py --ebay-skus 10000 --amazon-skus 1000
    python bench/bench_listings.py --quick              # 500 on eBay, 50 on Amazon (what `make bench` runs)
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from narrowcast.activation import run_sync  # noqa: E402
from narrowcast.activation.spec import SyncSpec, parse_sync  # noqa: E402
from narrowcast.contracts.connections import Connection  # noqa: E402
from narrowcast.sandbox.framework import SANDBOX_TOKEN  # noqa: E402

EMULATORS = ["ebay_inventory", "amazon_listings"]
FIELDS = ("sku", "title", "description", "brand", "gtin", "mpn", "condition", "image_urls", "aspects", "price",
          "currency", "quantity", "missing_reason")


def serve(port: int, ready: Any) -> None:
    from narrowcast.sandbox.server import SandboxServer

    with SandboxServer(None, port=port, only=EMULATORS):
        ready.set()
        while True:
            time.sleep(3600)


def build_mart(path: Path, ebay_skus: int, amazon_skus: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(f"""create or replace table marketplace_listing_content as
            select 'SKU-' || lpad(i::varchar, 6, '0') as sku, m.marketplace, 'Linen shirt ' || i as title,
                   'A linen shirt.' as description, 'Narrowcast Wear' as brand, (4006381000000 + i)::varchar as gtin,
                   'LS-' || i as mpn, 'new' as condition, 'https://img.example/' || i || '.jpg' as image_urls,
                   case m.marketplace when 'ebay' then '57990' else 'SHIRT' end as marketplace_category,
                   '{{"size": "M", "Colour": "Blue"}}' as aspects, 29.99::decimal(18, 2) as price, 'EUR' as currency,
                   5 as quantity, null::varchar as missing_reason
            from range({max(ebay_skus, amazon_skus)}) t(i)
            cross join (values ('ebay'), ('amazon')) m(marketplace)
            where (m.marketplace = 'ebay' and i < {ebay_skus}) or (m.marketplace = 'amazon' and i < {amazon_skus})""")


def specs(ebay_rps: float) -> dict[str, SyncSpec]:
    fields = {name: name for name in FIELDS}
    common = {"model": "marketplace_listing_content", "key": "sku", "mode": "mirror", "schedule": "inventory"}
    return {
        "ebay": parse_sync({**common, "id": "bench_listings_ebay", "filter": {"marketplace": "ebay"},
                            "destination": "ebay_listings", "connection": "narrowcast_ebay", "object": "listing",
                            "fields": {**fields, "category_id": "marketplace_category"}, "batch_size": 25,
                            "rate_limit": {"rps": ebay_rps, "burst": ebay_rps, "concurrency": 2}}),
        "amazon": parse_sync({**common, "id": "bench_listings_amazon", "filter": {"marketplace": "amazon"},
                              "destination": "amazon_listing_content", "connection": "narrowcast_amazon",
                              "object": "listing", "fields": {**fields, "product_type": "marketplace_category"},
                              "batch_size": 100, "rate_limit": {"rps": 5, "burst": 10, "concurrency": 1}}),
    }


def minimum_calls(name: str, adds: int, changes: int) -> int:
    if name == "ebay":
        return 3 * math.ceil(adds / 25) + math.ceil(changes / 25)
    # one definition for the single product type, then one request per listing (the schema document is
    # downloaded once per process and checksum, so the first run pays one call more)
    return (1 if adds or changes else 0) + adds + changes


def ceiling_rows_per_second(name: str, spec: SyncSpec, changes_only: bool) -> float:
    if name == "ebay":
        return spec.rate_limit.rps * 25 / (1 if changes_only else 3)
    return spec.rate_limit.rps


def line(name: str, label: str, report: Any, spec: SyncSpec, seconds: float) -> None:
    rows = report.planned
    minimum = minimum_calls(name, report.planned_adds, report.planned_changes)
    ratio = report.api_calls / minimum if minimum else (0.0 if report.api_calls == 0 else float("inf"))
    rate = rows / seconds if seconds else 0.0
    ceiling = ceiling_rows_per_second(name, spec, changes_only=report.planned_adds == 0)
    print(f"{name:7s} {label:10s} rows={rows:>7,d} calls={report.api_calls:>6,d} min={minimum:>6,d} "
          f"ratio={ratio:5.3f} time={seconds:8.2f}s rows/s={rate:>8,.1f} ceiling={ceiling:>7,.1f} "
          f"({(rate / ceiling if rows else 0):6.1%}) accepted={report.accepted:,} rejected={report.rejected}",
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ebay-skus", type=int, default=10_000)
    parser.add_argument("--amazon-skus", type=int, default=10_000)
    parser.add_argument("--ebay-rps", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18766)
    parser.add_argument("--quick", action="store_true", help="500 SKUs on eBay, 50 on Amazon unless sizes are given")
    args = parser.parse_args()
    if args.quick:
        given = " ".join(sys.argv[1:])
        args.ebay_skus = args.ebay_skus if "--ebay-skus" in given else 500
        args.amazon_skus = args.amazon_skus if "--amazon-skus" in given else 50

    warehouse = Path(tempfile.mkdtemp(prefix="bench_listings_")) / "warehouse.duckdb"
    build_mart(warehouse, args.ebay_skus, args.amazon_skus)
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
                                                    "marketplace_id": "A1PA6795UKMFR9"})}
    syncs = specs(args.ebay_rps)
    print(f"ebay_skus={args.ebay_skus:,} amazon_skus={args.amazon_skus:,}; declared rps ebay={args.ebay_rps} amazon=5",
          flush=True)
    try:
        for name, spec in syncs.items():
            for label in ("initial", "unchanged"):
                started = time.monotonic()
                report = run_sync(spec, connections=conns, warehouse=warehouse)
                line(name, label, report, spec, time.monotonic() - started)
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update marketplace_listing_content set title = title || ' (new)' "
                        "where hash(sku) % 100 = 0")
        for name, spec in syncs.items():
            started = time.monotonic()
            report = run_sync(spec, connections=conns, warehouse=warehouse)
            line(name, "1% change", report, spec, time.monotonic() - started)
    finally:
        child.terminate()
        child.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
