"""The eBay and Amazon finance sources against their emulators: every world order's fees once, paged, windowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tiny_world import WORLD_DAYS, WORLD_START, sandbox_connection

from narrowcast.contracts.windows import Window
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources import amazon_finances, ebay_finances

WHOLE_WORLD = Window(WORLD_START - timedelta(days=1), WORLD_START + timedelta(days=WORLD_DAYS + 1))
LATER = datetime(2030, 1, 1)


@pytest.fixture(scope="module")
def finances(world_dir: Path) -> Iterator[SandboxServer]:
    with SandboxServer(world_dir, only=["ebay_finances", "amazon_finances"]) as server:
        yield server


def pull(server: SandboxServer, module, prefix: str, conn_id: str, window: Window, **extract) -> dict[str, list]:
    conn = sandbox_connection(server, prefix, conn_id)
    client_cls = next(getattr(module, n) for n in module.__all__ if n.endswith("Client"))
    client = client_cls.from_connection(conn, sleep=lambda _s: None)
    out: dict[str, list] = {entity: [] for entity in module.ENTITIES}
    for page in module.extract(conn, window, client=client, **extract):
        out[page.entity].extend(page.records)
    return out


def test_every_ebay_order_has_one_sale_whose_fee_lines_add_up_to_its_total_fee(finances, world_dir):
    orders = {row["order_id"] for row in pq.read_table(world_dir / "ebay_orders.parquet").to_pylist()}
    got = pull(finances, ebay_finances, "ebay", "narrowcast_ebay", WHOLE_WORLD)
    transactions = got["ebay_finance_transactions"]
    assert sorted(t["order_id"] for t in transactions) == sorted(orders)
    by_id: dict[str, Decimal] = {}
    for line in got["ebay_finance_fee_lines"]:
        by_id[line["transaction_id"]] = by_id.get(line["transaction_id"], Decimal(0)) + line["fee_amount"]
    assert by_id == {t["transaction_id"]: t["total_fee_amount"] for t in transactions}


def test_ebay_pages_of_the_documented_size_and_daily_windows_partition_the_transactions(finances, world_dir):
    whole = pull(finances, ebay_finances, "ebay", "narrowcast_ebay", WHOLE_WORLD)["ebay_finance_transactions"]
    assert len(whole) > 20  # more than one page of the client's limit would be needed at eBay's default of 20
    daily = []
    day = WHOLE_WORLD.start
    while day < WHOLE_WORLD.end:
        daily += pull(finances, ebay_finances, "ebay", "narrowcast_ebay",
                      Window(day, day + timedelta(days=1)))["ebay_finance_transactions"]
        day += timedelta(days=1)
    assert sorted(t["transaction_id"] for t in daily) == sorted(t["transaction_id"] for t in whole)


def test_the_finances_client_calls_the_apiz_host_unless_the_connection_names_one():
    conn = sandbox_connection(type("S", (), {"url": "https://api.ebay.com"})(), "x", "narrowcast_ebay")
    assert ebay_finances.EbayFinancesClient.base_url_of(conn) == "https://apiz.ebay.com/x"


def test_the_finances_client_names_the_sellers_marketplace_when_the_connection_gives_one(finances):
    conn = sandbox_connection(finances, "ebay", "narrowcast_ebay", marketplace_id="EBAY_DE")
    client = ebay_finances.EbayFinancesClient.from_connection(conn)
    response = client.request("GET", "sell/finances/v1/transaction", params={"limit": 1})
    assert response.request.headers["X-EBAY-C-MARKETPLACE-ID"] == "EBAY_DE"


def test_every_posted_amazon_order_has_one_shipment_with_a_commission_per_item(finances, world_dir):
    rows = pq.read_table(world_dir / "amazon_orders.parquet").to_pylist()
    posted = {r["amazon_order_id"] for r in rows if r["order_status"] not in ("Pending", "Canceled")}
    got = pull(finances, amazon_finances, "amazon", "narrowcast_amazon", WHOLE_WORLD, now=LATER)
    assert sorted(t["order_id"] for t in got["amazon_finance_transactions"]) == sorted(posted)
    commissions = [b for b in got["amazon_finance_breakdowns"] if b["breakdown_path"] == "AmazonFees > Commission"]
    assert len(commissions) == sum(1 for r in rows if r["order_status"] not in ("Pending", "Canceled"))
    assert all(b["amount"] < 0 and b["sku"] for b in commissions)


def test_amazon_daily_windows_partition_the_transactions_across_next_tokens(finances):
    whole = pull(finances, amazon_finances, "amazon", "narrowcast_amazon", WHOLE_WORLD, now=LATER)
    assert len(whole["amazon_finance_transactions"]) > 50  # more than one emulator page
    daily = []
    day = WHOLE_WORLD.start
    while day < WHOLE_WORLD.end:
        daily += pull(finances, amazon_finances, "amazon", "narrowcast_amazon", Window(day, day + timedelta(days=1)),
                      now=LATER)["amazon_finance_transactions"]
        day += timedelta(days=1)
    assert sorted(t["transaction_id"] for t in daily) == sorted(
        t["transaction_id"] for t in whole["amazon_finance_transactions"])
