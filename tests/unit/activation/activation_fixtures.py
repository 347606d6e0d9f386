"""Shared activation test fixtures and mart builders (imported by conftest.py here and by the e2e tests): a sandbox
with the six destination emulators, connections pointing at it, and a temp DuckDB warehouse holding small marts
with exactly the contract's columns."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import requests

from narrowcast.activation.spec import SyncSpec, parse_sync
from narrowcast.contracts.connections import Connection
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import SandboxServer

DESTINATION_EMULATORS = ["meta_audiences", "google_customer_match", "data_manager", "klaviyo", "ebay_inventory",
                         "amazon_listings", "shopify_inventory"]
SELLER_ID = "A2SANDBOXSELLER"
MARKETPLACE_ID = "A1PA6795UKMFR9"
LOCATION_ID = 1

AUDIENCE_DDL = """create table if not exists audience_members (
    audience_id varchar, customer_id bigint, email varchar, email_sha256 varchar, phone_sha256 varchar,
    country_code varchar, rfm_segment varchar, recommended_skus varchar, discount_code varchar,
    is_holdout boolean, consent_email boolean, consent_ads boolean)"""
FEED_DDL = """create table if not exists marketplace_listing_feed (
    sku varchar, marketplace varchar, listing_id varchar, quantity integer, price decimal(18,2), currency varchar,
    status varchar, status_reason varchar, available_quantity integer, on_hand integer,
    open_order_quantity integer, base_price decimal(18,2))"""
SEGMENTS_DDL = """create table if not exists customer_segments (
    customer_id bigint, segment varchar, segment_type varchar, reason varchar, qualified_at timestamp)"""


def email_of(customer_id: int) -> str:
    return f"Customer.{customer_id}@Example.com "  # messy on purpose: normalisation is the mart's job


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def audience_rows(audience_id: str, customer_ids: range | list[int]) -> list[dict[str, Any]]:
    return [{
        "audience_id": audience_id, "customer_id": c, "email": email_of(c).strip().lower(),
        "email_sha256": sha(email_of(c).strip().lower()), "phone_sha256": sha(f"49151{c:07d}") if c % 3 else None,
        "country_code": "DE", "rfm_segment": "Champions", "recommended_skus": f"SKU-{c % 7},SKU-{c % 5}",
        "discount_code": f"WB{c}", "is_holdout": False, "consent_email": True, "consent_ads": True,
    } for c in customer_ids]


def feed_rows(skus: int, marketplaces: tuple[str, ...] = ("ebay", "amazon", "shop"), quantity: int = 5) -> list[dict[str, Any]]:
    rows = []
    for marketplace in marketplaces:
        for i in range(skus):
            rows.append({
                "sku": f"SKU-{i:05d}", "marketplace": marketplace, "listing_id": listing_id(marketplace, i),
                "quantity": quantity, "price": 19.99 + i, "currency": "EUR", "status": "active",
                "status_reason": "in stock", "available_quantity": quantity, "on_hand": quantity,
                "open_order_quantity": 0, "base_price": 15.00 + i,
            })
    return rows


def listing_id(marketplace: str, i: int) -> str:
    return {"ebay": f"{500000 + i}", "amazon": f"SKU-{i:05d}", "shop": f"{900000 + i}"}[marketplace]


class Warehouse:
    """A temp DuckDB file with the marts activation reads; tests rewrite mart rows between runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with duckdb.connect(str(path)) as con:
            for ddl in (AUDIENCE_DDL, FEED_DDL, SEGMENTS_DDL):
                con.execute(ddl)

    def replace(self, table: str, rows: list[dict[str, Any]]) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute(f"delete from {table}")
            if rows:
                batch = pa.Table.from_pylist(rows)
                con.register("new_rows", batch)
                con.execute(f"insert into {table} by name select * from new_rows")
                con.unregister("new_rows")

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute(sql, params or [])

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.path)) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=DESTINATION_EMULATORS) as server:
        yield server


@pytest.fixture()
def emulators(sandbox: SandboxServer) -> dict[str, Any]:
    """The live emulator objects, reset and fault-free, with the test catalogue seeded."""
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    sandbox.faults("all")
    found = sandbox.app.state.emulators
    found["ebay_inventory"].seed_offers([(listing_id("ebay", i), f"SKU-{i:05d}") for i in range(300)])
    found["amazon_listings"].seed_listings([listing_id("amazon", i) for i in range(300)])
    found["shopify_inventory"].seed_items([int(listing_id("shop", i)) for i in range(300)])
    # the shop's GraphQL cost bucket (points; a mutation costs 10)
    found["shopify_inventory"].bucket_size, found["shopify_inventory"].restore_rate = 10_000.0, 5_000.0
    found["amazon_listings"].patch_rate = found["amazon_listings"].patch_burst = 200.0
    return found


def make_connections(url: str, **extra: Any) -> dict[str, Connection]:
    common = {"retry_base_delay": 0.01, "retry_max_delay": 0.05, "poll_interval_seconds": 0.01,
              "timeout_seconds": 5.0, **extra}
    def conn(conn_id: str, prefix: str, **more: Any) -> Connection:
        return Connection(conn_id, f"{url}/{prefix}", password=SANDBOX_TOKEN, extra={**common, **more})
    return {
        "narrowcast_meta": conn("narrowcast_meta", "meta"),
        "narrowcast_google_ads": conn("narrowcast_google_ads", "google_ads", developer_token="sandbox-dev-token"),
        "narrowcast_google_data_manager": conn("narrowcast_google_data_manager", "data_manager"),
        "narrowcast_klaviyo": conn("narrowcast_klaviyo", "klaviyo", revision="2026-10-15"),
        "narrowcast_ebay": conn("narrowcast_ebay", "ebay"),
        "narrowcast_amazon": conn("narrowcast_amazon", "amazon", seller_id=SELLER_ID, marketplace_id=MARKETPLACE_ID,
                                  feed_threshold=50),
        "narrowcast_shopify": conn("narrowcast_shopify", "shopify", location_id=LOCATION_ID),
    }


@pytest.fixture()
def connections(sandbox: SandboxServer) -> dict[str, Connection]:
    return make_connections(sandbox.url)


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


AUDIENCE_SYNCS: dict[str, dict[str, Any]] = {
    "meta": {"destination": "meta_audiences", "connection": "narrowcast_meta", "object": "custom_audience",
             "target": {"audience_id": "2385000001"},
             "fields": {"EMAIL": "email_sha256", "PHONE": "phone_sha256"}},
    "google": {"destination": "google_customer_match", "connection": "narrowcast_google_ads",
               "object": "customer_match_list", "target": {"customer_id": "123-456-7890", "user_list_id": "555"},
               "fields": {"hashedEmail": "email_sha256", "hashedPhoneNumber": "phone_sha256"}},
    "google_audiences": {"destination": "google_audiences", "connection": "narrowcast_google_data_manager",
                         "object": "audience", "target": {"account_id": "123-456-7890", "user_list_id": "555"},
                         "fields": {"emailAddress": "email_sha256", "phoneNumber": "phone_sha256",
                                    "adUserData": "consent_ads", "adPersonalization": "consent_ads"}},
    "klaviyo": {"destination": "klaviyo", "connection": "narrowcast_klaviyo", "object": "list_members",
                "target": {"list_id": "LIST1"}, "pii": ["email"],
                "fields": {"email": "email", "external_id": "customer_id",
                           "properties.rfm_segment": "rfm_segment", "properties.discount_code": "discount_code"}},
}
FEED_SYNCS: dict[str, dict[str, Any]] = {
    "ebay": {"destination": "ebay_inventory", "connection": "narrowcast_ebay", "object": "offer",
             "fields": {"sku": "sku", "offerId": "listing_id", "quantity": "quantity", "price": "price",
                        "currency": "currency", "status": "status"}},
    "amazon": {"destination": "amazon_listings", "connection": "narrowcast_amazon", "object": "listing",
               "fields": {"sku": "listing_id", "quantity": "quantity", "price": "price", "currency": "currency",
                          "status": "status"}},
    "shop": {"destination": "shopify_inventory", "connection": "narrowcast_shopify", "object": "inventory_level",
             "fields": {"inventory_item_id": "listing_id", "available": "quantity", "status": "status"}},
}


def audience_sync(kind: str, audience_id: str = "champions", **overrides: Any) -> SyncSpec:
    raw = {"id": f"test_{kind}_{audience_id}", "model": "audience_members", "key": "customer_id",
           "filter": {"audience_id": audience_id}, "schedule": "audiences",
           "rate_limit": {"rps": 500, "burst": 50, "concurrency": 2}, **AUDIENCE_SYNCS[kind], **overrides}
    return parse_sync(raw)


def feed_sync(marketplace: str, **overrides: Any) -> SyncSpec:
    raw = {"id": f"test_stock_{marketplace}", "model": "marketplace_listing_feed", "key": "sku",
           "filter": {"marketplace": marketplace}, "schedule": "inventory",
           "rate_limit": {"rps": 500, "burst": 50, "concurrency": 2}, **FEED_SYNCS[marketplace], **overrides}
    return parse_sync(raw)


def sync_in_thread(spec: SyncSpec, connections: dict[str, Connection], warehouse: Path
                   ) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``run_sync`` on a thread of its own; its report lands in the returned dict under ``report``."""
    from narrowcast.activation import run_sync

    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(report=run_sync(
        spec, connections=connections, warehouse=warehouse)))
    thread.start()
    return thread, outcome
