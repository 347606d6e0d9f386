"""Profile read API: p99 latency and requests per second at a million customers.

Writes a synthetic snapshot straight from generated rows (not through the pipeline: profiles of a realistic
size, every tenth customer with a discount code), times opening it and looking customers up in-process, then
starts ``narrowcast serve profiles`` in a child process (one uvicorn worker) and sends authenticated GETs over
keep-alive connections: 90 % existing customers, 10 % unknown keys (404); then the same one connection at a
time, for the latency of a request that does not queue.

    python bench/bench_profiles.py                 # 1,000,000 customers, 50,000 requests, 32 connections
    python bench/bench_profiles.py --quick         # 100,000 customers, 5,000 requests (what `make bench` runs)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_load import request_bytes, run_load  # noqa: E402
from serve_process import serving  # noqa: E402

from narrowcast.serve.api_keys import key_entry, new_token  # noqa: E402
from narrowcast.serve.profile_snapshot import ProfileSnapshot, snapshot_path, write_columns  # noqa: E402

SEGMENTS = ["rfm:Champions", "rfm:Loyal Customers", "rfm:At Risk", "vip", "abandoned_cart", "high_intent",
            "upsell", "geo:DE", "cross_sell:kitchen"]


def synthetic_snapshot(customers: int, path: Path) -> float:
    """Write ``customers`` profiles like the export renders them; returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(11)
    keys = [str(200_000_000 + n) for n in range(customers)]
    sources = [",shop," if n % 5 else ",shop,file," for n in range(customers)]
    profiles, discounts = [], []
    for n, key in enumerate(keys):
        r, f, m = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5)
        segments = json.dumps(rng.sample(SEGMENTS, 3))
        recommendations = ",".join(
            f'{{"rank":{rank},"sku":"SKU-{rng.randint(1, 5000):05d}","product_title":"Product {rank}",'
            f'"category":"kitchen","kind":"cross_sell","score":{rng.uniform(1, 4):.3f}}}' for rank in range(1, 6))
        profiles.append(
            f'{{"customer_key":"{key}","rfm":{{"rfm_segment":"Champions","rfm_score":"{r}{f}{m}","r_score":{r},'
            f'"f_score":{f},"m_score":{m},"recency_days":{rng.randint(0, 900)},"frequency":{rng.randint(1, 30)},'
            f'"monetary":"{rng.uniform(10, 5000):.2f}","avg_order_value":"{rng.uniform(10, 300):.2f}",'
            f'"last_order_at":"2026-11-0{1 + n % 9}T10:00:00Z","currency":"EUR"}},"segments":{segments},'
            f'"recommendations":[{recommendations}]}}'.encode())
        discounts.append(None if n % 10 else
                         f'[{{"code":"CART-{n:08d}","campaign":"abandoned_cart","value_type":"percentage",'
                         f'"value":"10.00","currency":null,"starts_at":"2026-01-01T00:00:00Z",'
                         f'"expires_at":"2099-01-01T00:00:00Z"}}]'.encode())
    write_columns(keys, sources, profiles, discounts, path)
    return time.perf_counter() - started


def in_process(path: Path, customers: int, lookups: int) -> tuple[float, float]:
    """Seconds to open the snapshot, microseconds per lookup."""
    started = time.perf_counter()
    snapshot = ProfileSnapshot(path)
    opened = time.perf_counter() - started
    keys = [str(200_000_000 + random.randrange(customers)) for _ in range(lookups)]
    started = time.perf_counter()
    for key in keys:
        assert snapshot.lookup(key) is not None
    return opened, (time.perf_counter() - started) / lookups * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="100,000 customers, 5,000 requests")
    options = parser.parse_args(argv)
    # Two shared cores: the figures mean little without the load the machine was under.
    print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    customers = options.customers or (100_000 if options.quick else 1_000_000)
    count = options.requests or (5_000 if options.quick else 50_000)
    random.seed(3)
    with tempfile.TemporaryDirectory(prefix="bench-profiles-") as data_dir:
        path = snapshot_path(Path(data_dir))
        written = synthetic_snapshot(customers, path)
        print(f"snapshot: {customers:,} customers, {path.stat().st_size / 1e6:,.0f} MB, written in {written:.1f} s")
        opened, lookup_us = in_process(path, customers, 20_000)
        print(f"in process: opened in {opened * 1000:.1f} ms, {lookup_us:.1f} µs per lookup")
        token = new_token()
        keys = json.dumps({"keys": [key_entry(token, "bench", ["shop"], 1e9, 1_000_000_000)]})
        env = {"NARROWCAST_DATA_DIR": data_dir, "NARROWCAST_PROFILE_API_KEYS": keys}
        with serving("profiles", env) as port:
            host = f"127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}"}
            requests = [request_bytes("GET", f"/profiles/{200_000_000 + random.randrange(customers)}", host, headers)
                        if n % 10 else request_bytes("GET", f"/profiles/unknown-{n}", host, headers)
                        for n in range(count)]
            result = run_load("127.0.0.1", port, requests, options.concurrency)
            # One request at a time: the server's own latency, without the queueing of a saturated run.
            alone = run_load("127.0.0.1", port, requests[: max(count // 10, 10)], 1)
    print(f"HTTP, saturated: {result.requests:,} requests over {options.concurrency} connections in "
          f"{result.seconds:.2f} s: {result.per_second():,.0f} requests/s, p50 {result.percentile_ms(0.5):.2f} ms, "
          f"p99 {result.percentile_ms(0.99):.2f} ms; answers {dict(sorted(result.statuses.items()))}")
    print(f"HTTP, one connection: {alone.requests:,} requests, p50 {alone.percentile_ms(0.5):.2f} ms, "
          f"p99 {alone.percentile_ms(0.99):.2f} ms")
    expected = {200: count - len(range(0, count, 10)), 404: len(range(0, count, 10))}
    if dict(result.statuses) != expected:
        print(f"FAIL: expected {expected}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
