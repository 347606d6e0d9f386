"""Shopify webhook receiver: accepted deliveries per second with concurrent senders, and nothing lost.

Starts ``narrowcast serve webhooks`` in a child process (one uvicorn worker), sends signed ``checkouts/create``
deliveries of a realistic size over keep-alive connections, a share of them twice (Shopify's retries), and then
counts the files in the inbox: every distinct webhook id must have landed exactly once. Each landed file is
fsynced before the 200, so the figure includes the disk.

    python bench/bench_webhooks.py                 # 20,000 deliveries, 64 concurrent senders
    python bench/bench_webhooks.py --quick         # 2,000 deliveries, 16 senders (what `make bench` runs)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_load import request_bytes, run_load  # noqa: E402
from serve_process import serving  # noqa: E402

from narrowcast.serve.shopify_webhooks import PATH, signature  # noqa: E402
from narrowcast.serve.webhook_inbox import shopify_inbox  # noqa: E402

SECRET = "bench-client-secret"
SHOP = "bench-shop.myshopify.com"


def checkout(n: int) -> bytes:
    """A checkouts/create body of about 2 kB, with the fields Shopify's reference example has."""
    items = [{"id": n * 10 + i, "sku": f"SKU-{i:04d}", "title": f"Product {i}", "quantity": 1 + i % 3,
              "price": f"{19 + i}.90", "variant_id": 40_000_000 + i, "product_id": 7_000_000 + i,
              "vendor": "Narrowcast Demo", "requires_shipping": True, "taxable": True} for i in range(6)]
    return json.dumps({"id": 980_000_000_000 + n, "token": uuid.uuid4().hex, "cart_token": uuid.uuid4().hex,
                       "email": f"buyer{n}@example.com", "created_at": "2026-12-06T09:59:00-05:00",
                       "updated_at": "2026-12-06T09:59:00-05:00", "currency": "EUR", "total_price": "398.00",
                       "customer": {"id": 600_000_000 + n}, "line_items": items}).encode()


def deliveries(count: int, retry_share: float, host: str) -> tuple[list[bytes], int]:
    """Prepared requests (shuffled, retries included) and the number of distinct webhook ids."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    requests = []
    for n in range(count):
        body = checkout(n)
        request = request_bytes("POST", PATH, host, {
            "Content-Type": "application/json", "X-Shopify-Topic": "checkouts/create",
            "X-Shopify-Hmac-Sha256": signature(SECRET, body), "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-API-Version": "2026-10", "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Triggered-At": now}, body)
        requests.append(request)
        if random.random() < retry_share:
            requests.append(request)
    random.shuffle(requests)
    return requests, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--retry-share", type=float, default=0.1, help="share of deliveries sent twice")
    parser.add_argument("--quick", action="store_true", help="2,000 deliveries, 16 senders")
    options = parser.parse_args(argv)
    # Two shared cores: the figures mean little without the load the machine was under.
    print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    count = options.deliveries or (2_000 if options.quick else 20_000)
    concurrency = options.concurrency or (16 if options.quick else 64)
    random.seed(7)
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as data_dir:
        env = {"NARROWCAST_DATA_DIR": data_dir, "NARROWCAST_SHOPIFY_WEBHOOK_SECRET": SECRET,
               "NARROWCAST_SHOPIFY_SHOP_DOMAINS": SHOP}
        with serving("webhooks", env) as port:
            requests, distinct = deliveries(count, options.retry_share, f"127.0.0.1:{port}")
            result = run_load("127.0.0.1", port, requests, concurrency)
        landed = list(shopify_inbox(Path(data_dir)).rglob("*.json"))
        leftovers = [p for p in shopify_inbox(Path(data_dir)).rglob("*") if p.is_file() and p.suffix != ".json"]
    print(f"{result.requests} deliveries ({distinct} distinct, {result.requests - distinct} retries) from "
          f"{concurrency} senders in {result.seconds:.2f} s: {result.per_second():,.0f} requests/s, "
          f"p50 {result.percentile_ms(0.5):.1f} ms, p99 {result.percentile_ms(0.99):.1f} ms")
    print(f"answers: {dict(sorted(result.statuses.items()))}; files landed: {len(landed)}, "
          f"temporary files left: {len(leftovers)}")
    lost = distinct - len(landed)
    if result.statuses.get(200) != result.requests or lost or leftovers:
        print(f"FAIL: {lost} deliveries lost or refused", file=sys.stderr)
        return 1
    print("nothing lost: every distinct webhook id landed exactly once")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
