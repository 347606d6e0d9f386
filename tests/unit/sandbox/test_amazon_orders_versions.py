"""The Amazon source against the Orders emulator in both Orders API versions: v2026-01-01 searchOrders (the
default) and the deprecated v0 getOrders + getOrderItems give the same raw rows, page after page, within the
window asked for, with the buyer data set only where a role allows it, through the usage plan's refusals."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests
from tiny_world import N_AMAZON_ORDERS, WORLD_DAYS, WORLD_START, sandbox_connection

from narrowcast.contracts.windows import Window
from narrowcast.sandbox.emulators import amazon as amazon_emulator
from narrowcast.sources import amazon

WHOLE_WORLD = Window(WORLD_START - timedelta(days=1), WORLD_START + timedelta(days=WORLD_DAYS + 1))
MARKETS = "A1PA6795UKMFR9,A13V1IB3VIYZZH"
VERSIONS = [pytest.param("2026-01-01", id="v2026-01-01 searchOrders"), pytest.param("v0", id="v0 getOrders")]


def pull(sandbox, window: Window, sleep: Callable[[float], None] = lambda _s: None,
         **extra: Any) -> tuple[dict[str, list[dict]], list[str]]:
    """The rows of ``window`` and the path of every request the client sent."""
    conn = sandbox_connection(sandbox, "amazon", "narrowcast_amazon", marketplace_ids=MARKETS, **extra)
    client = amazon.AmazonClient.from_connection(conn, sleep=sleep)
    paths: list[str] = []
    send = client.session.request

    def recording(method: str, url: str, **kwargs: Any):
        paths.append(url.split("/amazon/", 1)[1])
        return send(method, url, **kwargs)

    client.session.request = recording  # type: ignore[method-assign]
    rows: dict[str, list[dict]] = {entity: [] for entity in amazon.ENTITIES}
    for page in amazon.extract(conn, window, client=client):
        rows[page.entity].extend(page.records)
    return rows, paths


def world_rows(world_dir) -> list[dict]:
    return pq.read_table(world_dir / "amazon_orders.parquet").to_pylist()


def by_key(rows: list[dict], key: str) -> dict[str, dict]:
    return {r[key]: r for r in rows}


def world_orders(world_dir) -> dict[str, dict]:
    """Each world order's first line, which carries the order's own values (status, marketplace, e-mail)."""
    orders: dict[str, dict] = {}
    for line in world_rows(world_dir):
        orders.setdefault(line["amazon_order_id"], line)
    return orders


@pytest.mark.parametrize("version", VERSIONS)
def test_every_world_order_and_item_arrives_once_with_its_values_in_either_version(sandbox, world_dir, version):
    # WHEN the whole world is extracted through the version
    rows, paths = pull(sandbox, WHOLE_WORLD, api_version=version)
    # THEN every order and item arrives once, with the world's values
    world = world_rows(world_dir)
    assert len(rows["amazon_orders"]) == N_AMAZON_ORDERS == len({r["amazon_order_id"] for r in world})
    assert sorted(r["order_item_id"] for r in rows["amazon_order_items"]) == sorted(r["order_item_id"] for r in world)
    items = by_key(rows["amazon_order_items"], "order_item_id")
    for line in world:
        item = items[line["order_item_id"]]
        priced = line["order_status"] not in ("Pending", "Canceled")
        assert (item["seller_sku"], item["quantity_ordered"], item["quantity_shipped"], item["item_price"]) == (
            line["seller_sku"], line["quantity_ordered"], line["quantity_shipped"],
            Decimal(str(line["item_price"])) if priced else None)
    orders = by_key(rows["amazon_orders"], "amazon_order_id")
    for order_id, line in world_orders(world_dir).items():
        order = orders[order_id]
        assert (order["order_status"], order["marketplace_id"], order["last_update_date"]) == (
            line["order_status"], line["marketplace_id"], line["last_update_date"])
    # AND v2026 needs one searchOrders call per page of 100 (150 orders: 2), v0 one getOrderItems call per order
    if version == "v0":
        assert len(paths) == 2 + N_AMAZON_ORDERS
    else:
        assert paths == ["orders/2026-01-01/orders"] * 2


def test_both_versions_land_the_same_raw_rows(sandbox):
    new, _ = pull(sandbox, WHOLE_WORLD)
    old, _ = pull(sandbox, WHOLE_WORLD, api_version="v0")
    for entity, (key,) in amazon.ENTITIES.items():
        assert by_key(new[entity], key) == by_key(old[entity], key)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_window_returns_the_orders_last_updated_within_it_and_no_other(sandbox, world_dir, version):
    window = Window(WORLD_START + timedelta(days=2), WORLD_START + timedelta(days=5))
    rows, _ = pull(sandbox, window, api_version=version)
    expected = {r["amazon_order_id"] for r in world_rows(world_dir) if window.contains(r["last_update_date"])}
    assert {r["amazon_order_id"] for r in rows["amazon_orders"]} == expected
    assert {r["amazon_order_id"] for r in rows["amazon_order_items"]} == expected


@pytest.mark.parametrize(("roles", "emails"), [
    pytest.param(None, False, id="no role: no buyer data set, no e-mail"),
    pytest.param("Direct-to-Consumer Delivery (Restricted)", True, id="the role that allows the relay e-mail"),
])
def test_the_buyer_data_set_is_asked_for_and_kept_only_with_the_role(sandbox, world_dir, roles, emails):
    extra = {"restricted_roles": roles} if roles else {}
    rows, _ = pull(sandbox, WHOLE_WORLD, **extra)
    world = world_orders(world_dir)
    got = {r["amazon_order_id"]: r["buyer_email"] for r in rows["amazon_orders"]}
    # searchOrders answers the e-mail of merchant-fulfilled orders that are (partly) unshipped or shipped only
    expected = {oid: world[oid]["buyer_email"] if emails and world[oid]["order_status"] != "Canceled" else None
                for oid in got}
    assert got == expected
    assert emails == any(got.values())


@pytest.mark.parametrize(("version", "operation", "plan", "calls"), [
    pytest.param("2026-01-01", "searchOrders", (2.0, 1.0), 2, id="v2026-01-01 searchOrders"),
    pytest.param("v0", "getOrders", (0.5, 1.0), 2 + N_AMAZON_ORDERS, id="v0 getOrders"),
])
def test_orders_requests_refused_over_the_usage_plan_are_retried_until_every_order_arrives(
        sandbox, monkeypatch: pytest.MonkeyPatch, version, operation, plan, calls):
    # GIVEN a sandbox plan of one orders request at a time, refilled slowly, while the client starts from the
    # default plan's burst and asks for the second page as soon as it has the first one's orders
    monkeypatch.setitem(amazon_emulator.SANDBOX_PLAN, operation, plan)
    # WHEN the whole world (two pages) is extracted
    try:
        rows, paths = pull(sandbox, WHOLE_WORLD, sleep=time.sleep, retry_base_delay=0.01, retry_max_delay=0.05,
                           max_attempts=20, api_version=version)
    finally:
        # The emulator keeps the drained plan; the tests after this one start from a full one.
        requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    # THEN the refused request was retried after the wait the plan allows, and every order arrived once
    assert len(rows["amazon_orders"]) == N_AMAZON_ORDERS
    assert len(paths) > calls
