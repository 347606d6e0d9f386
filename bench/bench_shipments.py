"""Shipment benchmark: tracking pushes to eBay, Amazon and Etsy through the shipped shipments_* syncs and the
sandbox emulators.

Prints, per marketplace: API calls vs the minimum (one write per shipment: createShippingFulfillment,
confirmShipment, createReceiptShipment) — a clean run's expected ratio is 1.000: each shipment's intent is
journalled in the warehouse before the send, and only a shipment an earlier run left in doubt (a crash between
the marketplace's answer and the state commit) costs a pre-send read (getShippingFulfillments, getOrder,
getShopReceipt); before the journal every shipment was read first, 2.000 —, then rows/s vs the declared ceiling
and the unchanged rerun (must be 0 calls).

The syncs run with the bench's own rate limit (--rps) so the pipeline's own speed is measured; the ceilings are
what the shipped declarations and the APIs allow: eBay the sync's 5 rows/s (eBay states only a daily call
limit), Etsy the sync's 3 rows/s (declared for the app's 10 requests/s), Amazon confirmShipment's usage plan of
2/s (burst 10). Amazon's client paces itself by that plan whatever the sync allows, so its waits are
taken on a virtual clock and added to its time: its rows/s is the paced rate a real backlog would see.

    python bench/bench_shipments.py            # 10,000 pushes: 4,000 eBay, 3,000 Amazon, 3,000 Etsy
    python bench/bench_shipments.py --quick    # 300 pushes, 100 each (what `make bench` runs)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from narrowcast.activation import run_sync  # noqa: E402
from narrowcast.activation.spec import SyncSpec, parse_sync  # noqa: E402
from narrowcast.apis import amazon  # noqa: E402
from narrowcast.contracts.connections import Connection  # noqa: E402
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN  # noqa: E402
from narrowcast.sandbox.framework import SANDBOX_TOKEN  # noqa: E402

SYNCS = Path(__file__).resolve().parents[1] / "include" / "syncs"
EMULATORS = ["ebay_shipping", "amazon_shipments", "etsy"]
MARKETPLACE_ID = "A1PA6795UKMFR9"
# Declared ceilings in shipments per second (see the module docstring for where each comes from).
CEILINGS = {"ebay": 5.0, "amazon": amazon.USAGE_PLANS["confirmShipment"].rate, "etsy": 3.0}
CARRIERS = {"ebay": "DHL", "amazon": "DHL", "etsy": "dhl-germany"}


def order_id(marketplace: str, n: int) -> str:
    return {"ebay": f"12-{n:05d}-00001", "amazon": f"305-{n:07d}-0000001", "etsy": str(3_000_000_000 + n)}[marketplace]


def serve(port: int, sizes: dict[str, int], ready: Any) -> None:
    from narrowcast.sandbox.server import SandboxServer

    with SandboxServer(None, port=port, only=EMULATORS) as server:
        found = server.app.state.emulators
        found["ebay_shipping"].seed_orders({order_id("ebay", n): {f"{n}01": ("SKU-1", 1)}
                                            for n in range(sizes["ebay"])})
        found["amazon_shipments"].seed_orders({order_id("amazon", n): {f"{n}01": ("SKU-1", 1)}
                                               for n in range(sizes["amazon"])}, MARKETPLACE_ID)
        found["etsy"].seed_receipts([{"receipt_id": int(order_id("etsy", n)), "create_timestamp": 1761800000,
                                      "update_timestamp": 1761800000, "is_shipped": False}
                                     for n in range(sizes["etsy"])])
        ready.set()
        while True:
            time.sleep(3600)


def build_mart(path: Path, sizes: dict[str, int]) -> None:
    rows = [{"shipment_id": f"{m}:{order_id(m, n)}:T{n:010d}", "marketplace": m, "marketplace_order_id": order_id(m, n),
             "package_reference_id": 1, "carrier": "DHL", "carrier_code": CARRIERS[m], "carrier_name": None,
             "tracking_number": f"T{n:010d}", "shipped_at_iso": "2026-10-30T14:05:00.000Z",
             "line_items": json.dumps([{"line_item_id": f"{n}01", "quantity": 1}]), "status": "ready",
             "status_reason": None, "source": "shipment_file"}
            for m, size in sizes.items() for n in range(size)]
    with duckdb.connect(str(path)) as con:
        con.execute("""create or replace table marketplace_shipments (
            shipment_id varchar, marketplace varchar, marketplace_order_id varchar, package_reference_id bigint,
            carrier varchar, carrier_code varchar, carrier_name varchar, tracking_number varchar,
            shipped_at timestamp, shipped_at_iso varchar, line_items varchar, status varchar,
            status_reason varchar, source varchar)""")
        con.executemany("insert into marketplace_shipments by name select * from (select ? as shipment_id, "
                        "? as marketplace, ? as marketplace_order_id, ? as package_reference_id, ? as carrier, "
                        "? as carrier_code, ? as carrier_name, ? as tracking_number, ? as shipped_at_iso, "
                        "? as line_items, ? as status, ? as status_reason, ? as source)",
                        [[r[k] for k in ("shipment_id", "marketplace", "marketplace_order_id",
                                         "package_reference_id", "carrier", "carrier_code", "carrier_name",
                                         "tracking_number", "shipped_at_iso", "line_items", "status",
                                         "status_reason", "source")] for r in rows])


def sync(marketplace: str, rps: float) -> SyncSpec:
    raw = yaml.safe_load((SYNCS / f"shipments_{marketplace}.yml").read_text())
    return parse_sync({**raw, "id": f"bench_shipments_{marketplace}",
                       "rate_limit": {"rps": rps, "burst": rps, "concurrency": 1}})


class VirtualWaits:
    """Amazon's usage-plan waits, counted instead of slept."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def sleep(self, seconds: float) -> None:
        self.seconds += max(0.0, seconds)


def pace_amazon_virtually(waits: VirtualWaits) -> None:
    original = amazon.SellingPartnerApi.__init__

    def init(self: Any, base_url: str, **http: Any) -> None:
        original(self, base_url, **{**http, "sleep": waits.sleep})

    amazon.SellingPartnerApi.__init__ = init  # type: ignore[method-assign]


def connections(url: str) -> dict[str, Connection]:
    common = {"timeout_seconds": 120, "retry_base_delay": 0.05}
    return {
        "narrowcast_ebay": Connection("narrowcast_ebay", f"{url}/ebay", password=SANDBOX_TOKEN, extra=common),
        "narrowcast_amazon": Connection("narrowcast_amazon", f"{url}/amazon", password=SANDBOX_TOKEN,
                                        extra={**common, "seller_id": "A2BENCH", "marketplace_id": MARKETPLACE_ID}),
        "narrowcast_etsy": Connection("narrowcast_etsy", f"{url}/etsy", login=LOCAL_CLIENT_ID,
                                      password=LOCAL_CLIENT_SECRET,
                                      extra={**common, "shop_id": "27182818", "refresh_token": LOCAL_REFRESH_TOKEN,
                                             "token_url": f"{url}/etsy/v3/public/oauth/token"}),
    }


def line(name: str, label: str, report: Any, seconds: float) -> None:
    rows, minimum = report.planned, report.planned_adds
    ratio = report.api_calls / minimum if minimum else (0.0 if report.api_calls == 0 else float("inf"))
    rate = rows / seconds if seconds and rows else 0.0
    ceiling = CEILINGS[name]
    print(f"{name:7s} {label:10s} rows={rows:>6,d} calls={report.api_calls:>6,d} min={minimum:>6,d} "
          f"ratio={ratio:5.3f} time={seconds:9.2f}s rows/s={rate:>8,.1f} ceiling={ceiling:>4.1f} "
          f"({(rate / ceiling if rows else 0):8.1%}) accepted={report.accepted:,} sent={report.sent:,} "
          f"rejected={report.rejected}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ebay", type=int, default=4_000)
    parser.add_argument("--amazon", type=int, default=3_000)
    parser.add_argument("--etsy", type=int, default=3_000)
    parser.add_argument("--rps", type=float, default=1_000.0, help="the bench syncs' own rate limit")
    parser.add_argument("--port", type=int, default=18767)
    parser.add_argument("--quick", action="store_true", help="100 pushes per marketplace unless sizes are given")
    args = parser.parse_args()
    if args.quick:
        given = " ".join(sys.argv[1:])
        for name in ("ebay", "amazon", "etsy"):
            if f"--{name}" not in given:
                setattr(args, name, 100)
    sizes = {"ebay": args.ebay, "amazon": args.amazon, "etsy": args.etsy}

    warehouse = Path(tempfile.mkdtemp(prefix="bench_shipments_")) / "warehouse.duckdb"
    build_mart(warehouse, sizes)
    ready = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(args.port, sizes, ready), daemon=True)
    child.start()
    if not ready.wait(120):
        raise SystemExit("sandbox did not start")
    waits = VirtualWaits()
    pace_amazon_virtually(waits)
    conns = connections(f"http://127.0.0.1:{args.port}")
    print(f"pushes ebay={sizes['ebay']:,} amazon={sizes['amazon']:,} etsy={sizes['etsy']:,} "
          f"(total {sum(sizes.values()):,}); bench rps={args.rps:g}", flush=True)
    try:
        for name in sizes:
            spec = sync(name, args.rps)
            for label in ("initial", "unchanged"):
                waited_before = waits.seconds
                started = time.monotonic()
                report = run_sync(spec, connections=conns, warehouse=warehouse)
                line(name, label, report, time.monotonic() - started + waits.seconds - waited_before)
        backlog_hours = sum(size / CEILINGS[name] for name, size in sizes.items()) / 3600
        print(f"at the declared ceilings, one after the other, this backlog takes {backlog_hours:.1f} h "
              f"(the three syncs run in parallel in production: {max(s / CEILINGS[n] for n, s in sizes.items()) / 3600:.1f} h)",
              flush=True)
    finally:
        child.terminate()
        child.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
