"""Etsy listings destination against the emulator: full inventory per update, inactive at zero, active on return."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.etsy import EtsyListings
from narrowcast.activation.spec import parse_sync
from narrowcast.contracts.connections import Connection
from narrowcast.http import TokenBucket
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.sandbox.server import SandboxServer

SYNC_FILE = Path(__file__).parents[3] / "include" / "syncs" / "stock_etsy.yml"


def product(product_id: int, sku: str, quantity: int, cents: int, value: str) -> dict:
    """A product as getListingInventory documents it: one offering, one property value (a size)."""
    return {"product_id": product_id, "sku": sku, "is_deleted": False,
            "property_values": [{"property_id": 100, "property_name": "Size", "scale_id": None,
                                 "value_ids": [product_id], "values": [value]}],
            "offerings": [{"offering_id": product_id * 10, "quantity": quantity, "is_enabled": True,
                           "is_deleted": False, "price": {"amount": cents, "divisor": 100, "currency_code": "EUR"}}]}


@pytest.fixture(scope="module")
def etsy_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["etsy"]) as server:
        yield server


@pytest.fixture()
def etsy(etsy_sandbox):
    emulator = etsy_sandbox.app.state.emulators["etsy"]
    emulator.reset()
    # listing 501: one SKU; listing 502: two sizes, SKU-B1 and SKU-B2
    emulator.seed_listing("501", [product(1, "SKU-A", 5, 1990, "One size")])
    emulator.seed_listing("502", [product(2, "SKU-B1", 3, 2490, "S"), product(3, "SKU-B2", 4, 2590, "M")],
                          quantity_on_property=[100], price_on_property=[100], sku_on_property=[100])
    return emulator


@pytest.fixture()
def conns(etsy_sandbox) -> dict[str, Connection]:
    url = etsy_sandbox.url
    return {"narrowcast_etsy": Connection(
        "narrowcast_etsy", f"{url}/etsy", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
        extra={"shop_id": "27182818", "refresh_token": LOCAL_REFRESH_TOKEN,
               "token_url": f"{url}/etsy/v3/public/oauth/token", "retry_base_delay": 0.01,
               "retry_max_delay": 0.05, "timeout_seconds": 5.0})}


def spec():
    raw = yaml.safe_load(SYNC_FILE.read_text())
    return parse_sync({**raw, "id": "test_stock_etsy", "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1}})


def row(sku: str, listing_id: str, quantity: int, price: float) -> dict:
    return {"sku": sku, "marketplace": "etsy", "listing_id": listing_id, "quantity": quantity, "price": price,
            "currency": "EUR", "status": "active" if quantity else "withdrawn", "status_reason": "in stock",
            "available_quantity": quantity, "on_hand": quantity, "open_order_quantity": 0, "base_price": price}


def feed(a: int = 5, b1: int = 3, b2: int = 4, a_price: float = 19.90) -> list[dict]:
    return [row("SKU-A", "501", a, a_price), row("SKU-B1", "502", b1, 24.90), row("SKU-B2", "502", b2, 25.90)]


def offerings(etsy, listing_id: str) -> dict[str, tuple[int, int]]:
    return {p["sku"]: (p["offerings"][0]["quantity"], p["offerings"][0]["price"]["amount"])
            for p in etsy.listings[listing_id]["inventory"]["products"]}


def sync(warehouse, conns, rows):
    warehouse.replace("marketplace_listing_feed", rows)
    return run_sync(spec(), connections=conns, warehouse=warehouse.path)


def test_a_price_change_sends_the_listings_whole_inventory_with_every_variation(etsy, conns, warehouse):
    sync(warehouse, conns, feed())
    etsy.received.clear()
    # WHEN one size of listing 502 changes price
    rows = feed()
    rows[1]["price"] = 21.50
    report = sync(warehouse, conns, rows)
    # THEN the inventory was read and sent back whole: both sizes, their property values, the new price
    assert report.accepted == 1
    [sent] = etsy.received
    assert sent["listing_id"] == "502" and sent["inventory"]["quantity_on_property"] == [100]
    assert [(p["sku"], p["property_values"][0]["values"], p["offerings"][0]["price"], p["offerings"][0]["quantity"])
            for p in sent["inventory"]["products"]] == [("SKU-B1", ["S"], 21.5, 3), ("SKU-B2", ["M"], 25.9, 4)]


def test_an_unchanged_feed_sends_nothing(etsy, conns, warehouse):
    sync(warehouse, conns, feed())
    calls = dict(etsy.calls)
    sync(warehouse, conns, feed())
    assert etsy.calls == calls


def test_zero_stock_deactivates_the_listing_and_returning_stock_reactivates_it(etsy, conns, warehouse):
    sync(warehouse, conns, feed())
    # WHEN the single-SKU listing runs out
    sync(warehouse, conns, feed(a=0))
    # THEN it is inactive and keeps its last inventory
    assert etsy.listings["501"]["state"] == "inactive"
    assert offerings(etsy, "501") == {"SKU-A": (5, 1990)}
    # WHEN stock returns
    sync(warehouse, conns, feed(a=7))
    # THEN the quantity is set first, then the listing is active again
    assert etsy.listings["501"]["state"] == "active"
    assert offerings(etsy, "501") == {"SKU-A": (7, 1990)}


def test_one_variation_at_zero_keeps_the_listing_active(etsy, conns, warehouse):
    sync(warehouse, conns, feed())
    sync(warehouse, conns, feed(b1=0))
    assert etsy.listings["502"]["state"] == "active"
    assert offerings(etsy, "502") == {"SKU-B1": (0, 2490), "SKU-B2": (4, 2590)}


def test_a_receipt_shipment_posts_tracking_code_and_carrier_once_per_receipt(etsy, etsy_sandbox, conns):
    etsy.seed_receipts([{"receipt_id": 31, "update_timestamp": 0, "create_timestamp": 0, "is_shipped": False}])
    destination = EtsyListings(SendContext(conns["narrowcast_etsy"], {}, "receipt_shipment",
                                           TokenBucket(1_000.0, 1_000.0)))
    results = destination.send(Batch("run", "add", 1, 1, [
        Change("31", "add", {"receipt_id": "31", "tracking_code": "JJD000390007", "carrier_name": "dhl"}),
        Change("32", "add", {"receipt_id": "32", "tracking_code": "JJD000390008", "carrier_name": "dhl"})]))
    assert [(r.outcome, r.reason) for r in results] == [("accepted", None),
                                                        ("rejected", "Etsy: Receipt 32 not found")]
    assert etsy.shipments == [{"receipt_id": "31", "tracking_code": "JJD000390007", "carrier_name": "dhl"}]
    assert etsy.receipts["31"]["is_shipped"] is True
