"""Each source connector against its emulator, over a small world: every world row exactly once, consecutive
windows partition the data, the same window twice gives the same records, and faults are retried through."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests
from tiny_world import GOOGLE_CUSTOMER, META_ACCOUNT, WORLD_DAYS, WORLD_START, sandbox_connection

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError, RetryPolicy
from narrowcast.sources import amazon, ebay, google_ads, meta_ads, shopify

WHOLE_WORLD = Window(WORLD_START - timedelta(days=1), WORLD_START + timedelta(days=WORLD_DAYS + 1))

SOURCES = {
    "shopify": (shopify, "shopify", "narrowcast_shopify", {"read_fulfillments": True}),
    "meta": (meta_ads, "meta", "narrowcast_meta", {"ad_account_id": f"act_{META_ACCOUNT}"}),
    "google_ads": (google_ads, "google_ads", "narrowcast_google_ads",
                   {"customer_id": str(GOOGLE_CUSTOMER), "developer_token": "dev", "login_customer_id": "1"}),
    "ebay": (ebay, "ebay", "narrowcast_ebay", {}),
    "amazon": (amazon, "amazon", "narrowcast_amazon", {"marketplace_ids": "A1PA6795UKMFR9,A13V1IB3VIYZZH"}),
}


def pull(sandbox, source: str, window: Window, **http: Any) -> dict[str, list[dict]]:
    module, prefix, conn_id, extra = SOURCES[source]
    conn = sandbox_connection(sandbox, prefix, conn_id, **extra)
    client_cls = next(getattr(module, n) for n in module.__all__ if n.endswith("Client"))
    client = client_cls.from_connection(conn, sleep=lambda _s: None, **http)
    out: dict[str, list[dict]] = {entity: [] for entity in module.ENTITIES}
    for page in module.extract(conn, window, client=client):
        out[page.entity].extend(page.records)
    return out


def keys(records: list[dict], key: tuple[str, ...]) -> list[tuple]:
    return [tuple(r[k] for k in key) for r in records]


def world(world_dir, name: str) -> list[dict]:
    return pq.read_table(world_dir / f"{name}.parquet").to_pylist()


def expected_keys(world_dir) -> dict[str, set[tuple]]:
    """What the whole-world window must return, straight from the world files."""
    return {
        "shop_orders": {(o["order_id"],) for o in world(world_dir, "orders")},
        "shop_order_lines": {(li["line_item_id"],) for li in world(world_dir, "order_lines")},
        "shop_refunds": {(r["refund_id"], r["line_item_id"]) for r in world(world_dir, "refunds")},
        "shop_customers": {(c["customer_id"],) for c in world(world_dir, "customers")},
        "shop_products": {(p["variant_id"],) for p in world(world_dir, "products")},
        # a fulfilled world order has one fulfillment (order id * 10 + 1) of every line
        "shop_fulfillments": {(o["order_id"] * 10 + 1, li["line_item_id"]) for o in world(world_dir, "orders")
                              if o["fulfillment_status"] == "fulfilled"
                              for li in world(world_dir, "order_lines") if li["order_id"] == o["order_id"]},
        "shop_order_attributes": {(o["order_id"], "eBay Order ID") for o in world(world_dir, "orders")
                                  if o["note_attributes"] and o["fulfillment_status"] == "fulfilled"},
        "meta_ad_insights": {(r["account_id"], r["campaign_id"], r["date"])
                             for r in world(world_dir, "meta_insights")},
        "google_ads_campaign_stats": {(r["customer_id"], r["campaign_id"], r["date"])
                                      for r in world(world_dir, "google_ads_stats")},
        "ebay_orders": {(r["order_id"],) for r in world(world_dir, "ebay_orders")},
        "ebay_order_lines": {(r["line_item_id"],) for r in world(world_dir, "ebay_orders")},
        "amazon_orders": {(r["amazon_order_id"],) for r in world(world_dir, "amazon_orders")},
        "amazon_order_items": {(r["order_item_id"],) for r in world(world_dir, "amazon_orders")},
    }


BY_SOURCE = [pytest.param(name, id=name) for name in SOURCES]


@pytest.mark.parametrize("source", BY_SOURCE)
def test_paging_over_the_emulator_returns_every_world_row_exactly_once(sandbox, world_dir, source):
    module = SOURCES[source][0]
    pulled = pull(sandbox, source, WHOLE_WORLD)
    expected = expected_keys(world_dir)
    for entity, key in module.ENTITIES.items():
        got = keys(pulled[entity], key)
        duplicates = [k for k, n in Counter(got).items() if n > 1]
        assert duplicates == [], f"{entity}: duplicated keys {duplicates[:5]}"
        assert set(got) == expected[entity], f"{entity}: {len(set(got))} keys, expected {len(expected[entity])}"


@pytest.mark.parametrize("source", BY_SOURCE)
def test_consecutive_daily_windows_partition_the_data(sandbox, source):
    module = SOURCES[source][0]
    whole = pull(sandbox, source, WHOLE_WORLD)
    daily: dict[str, list[tuple]] = {entity: [] for entity in module.ENTITIES}
    day = WHOLE_WORLD.start
    while day < WHOLE_WORLD.end:
        for entity, records in pull(sandbox, source, Window(day, day + timedelta(days=1))).items():
            daily[entity].extend(keys(records, module.ENTITIES[entity]))
        day += timedelta(days=1)
    for entity, key in module.ENTITIES.items():
        assert sorted(daily[entity]) == sorted(keys(whole[entity], key)), entity


@pytest.mark.parametrize("source", BY_SOURCE)
def test_the_same_window_twice_gives_identical_records(sandbox, source):
    window = Window(WORLD_START + timedelta(days=2), WORLD_START + timedelta(days=5))
    first, second = pull(sandbox, source, window), pull(sandbox, source, window)
    assert first == second
    assert sum(len(records) for records in first.values()) > 0


def daily_windows() -> list[Window]:
    days = (WHOLE_WORLD.end - WHOLE_WORLD.start).days
    return [Window(WHOLE_WORLD.start + timedelta(days=n), WHOLE_WORLD.start + timedelta(days=n + 1))
            for n in range(days)]


@pytest.mark.parametrize("source", BY_SOURCE)
def test_rate_limits_and_server_errors_from_the_sandbox_are_retried_through(sandbox, source):
    # GIVEN the records of every daily window with no faults
    clean = [pull(sandbox, source, window) for window in daily_windows()]
    # WHEN the same windows are pulled while the API answers 40% of requests with 429 or 5xx
    prefix = SOURCES[source][1]
    sandbox.faults(prefix, rate_limit_share=0.25, error_share=0.15, retry_after_seconds=0, seed=3)
    retry = RetryPolicy(max_attempts=12, base_delay=0, max_delay=0)
    faulty = [pull(sandbox, source, window, retry=retry) for window in daily_windows()]
    # THEN faults were injected and retried, and the records are the same
    injected = requests.get(f"{sandbox.url}/_sandbox/stats/{prefix}", timeout=5).json()["faults_injected"]
    assert injected.get("rate_limit", 0) > 0 and injected.get("server_error", 0) > 0
    assert faulty == clean


def test_shopify_records_match_the_world_values(sandbox, world_dir):
    pulled = pull(sandbox, "shopify", WHOLE_WORLD)
    by_id = {o["id"]: o for o in pulled["shop_orders"]}
    for row in world(world_dir, "orders")[:50]:
        got = by_id[row["order_id"]]
        assert (got["updated_at"], got["total_price"], got["customer_id"], got["cancelled_at"]) == (
            row["updated_at"], row["total_price"], row["customer_id"], row["cancelled_at"])


def test_ads_records_match_the_world_values(sandbox, world_dir):
    meta = {(r["campaign_id"], r["date_start"]): r for r in pull(sandbox, "meta", WHOLE_WORLD)["meta_ad_insights"]}
    for row in world(world_dir, "meta_insights")[:50]:
        got = meta[(row["campaign_id"], row["date"])]
        assert (got["spend"], got["purchases"], got["purchase_value"], got["impressions"]) == (
            row["spend"], row["purchases"], row["purchase_value"] if row["purchases"] else 0, row["impressions"])
    google = {(r["campaign_id"], r["segments_date"]): r
              for r in pull(sandbox, "google_ads", WHOLE_WORLD)["google_ads_campaign_stats"]}
    for row in world(world_dir, "google_ads_stats")[:50]:
        got = google[(row["campaign_id"], row["date"])]
        assert (got["cost_micros"], got["clicks"], got["conversions"]) == (
            row["cost_micros"], row["clicks"], row["conversions"])


def test_amazon_marketplace_filter_returns_only_that_marketplace(sandbox, world_dir):
    module, prefix, conn_id, _ = SOURCES["amazon"]
    conn = sandbox_connection(sandbox, prefix, conn_id, marketplace_ids="A13V1IB3VIYZZH")
    records = [r for p in module.extract(conn, WHOLE_WORLD) if p.entity == "amazon_orders" for r in p.records]
    expected = {r["amazon_order_id"] for r in world(world_dir, "amazon_orders") if r["marketplace_id"] == "A13V1IB3VIYZZH"}
    assert {r["amazon_order_id"] for r in records} == expected and len(records) == len(expected)


def test_emulators_without_a_world_serve_empty_results(tmp_path):
    from narrowcast.sandbox.server import SandboxServer

    with SandboxServer(tmp_path, only=["shopify", "meta_insights"]) as empty:
        pulled = pull(empty, "shopify", WHOLE_WORLD)
        assert all(records == [] for records in pulled.values())


@pytest.mark.parametrize(("source", "message"), [
    pytest.param("shopify", "Invalid API key or access token", id="shopify"),
    pytest.param("meta", "Invalid OAuth access token", id="meta"),
    pytest.param("google_ads", "UNAUTHENTICATED", id="google ads"),
    pytest.param("ebay", "Invalid access token", id="ebay"),
    pytest.param("amazon", "Access to requested resource is denied", id="amazon"),
])
def test_a_wrong_token_fails_the_connector_at_once_with_the_apis_message(sandbox, source, message):
    module, prefix, conn_id, extra = SOURCES[source]
    conn = Connection(conn_id, f"{sandbox.url}/{prefix}", password="wrong-token", extra=extra)
    with pytest.raises(FatalApiError, match=message) as caught:
        list(module.extract(conn, WHOLE_WORLD))
    assert "wrong-token" not in str(caught.value)


def test_slow_answers_past_the_client_timeout_are_retried(sandbox):
    clean = pull(sandbox, "ebay", WHOLE_WORLD)
    # The read timeout leaves room for an answer on a loaded machine (0.3 s once gave 8 timeouts in a row on CI:
    # answers the sandbox did not slow down were past it too); a slowed answer is well past it.
    sandbox.faults("ebay", timeout_share=0.5, timeout_seconds=2.5, seed=1)
    slow = pull(sandbox, "ebay", WHOLE_WORLD, timeout=(2.0, 1.0),
                retry=RetryPolicy(max_attempts=8, base_delay=0, max_delay=0))
    # The sandbox counts a slow answer once its sleep is over, after the client has already given up on it.
    time.sleep(2.0)
    injected = requests.get(f"{sandbox.url}/_sandbox/stats/ebay", timeout=5).json()["faults_injected"]
    assert injected.get("timeout", 0) > 0
    assert slow == clean


PYTHON_TYPES = {"BIGINT": int, "INTEGER": int, "DOUBLE": float, "BOOLEAN": bool, "VARCHAR": str, "DATE": date,
                "TIMESTAMP": datetime, "DECIMAL(18,2)": Decimal}


@pytest.mark.parametrize("source", BY_SOURCE)
def test_records_carry_exactly_the_raw_columns_keys_and_types_of_the_contract(sandbox, source):
    from narrowcast.sources import registry

    module = SOURCES[source][0]
    for entity, records in pull(sandbox, source, WHOLE_WORLD).items():
        spec = registry.entity(entity)
        columns = {name: kind for name, kind in spec.columns.items() if not name.startswith("_")}
        assert module.ENTITIES[entity] == spec.key, entity
        assert records, f"{entity}: the tiny world should give rows"
        for record in records:
            assert set(record) == set(columns), f"{entity}: {set(record) ^ set(columns)}"
            for name, value in record.items():
                expected = PYTHON_TYPES[columns[name]]
                # bool is an int and datetime a date in Python: the subclass only where the contract says so.
                assert value is None or (isinstance(value, expected)
                                         and (expected is bool or not isinstance(value, bool))
                                         and (expected is datetime or not isinstance(value, datetime))), \
                    (entity, name, value)
