"""Shipments to eBay and Amazon against their emulators: each shipment confirmed once on the marketplace it
belongs to, never twice (rerun, crash between the marketplace's answer and the state commit), refusals logged
with the marketplace's message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from activation_fixtures import MARKETPLACE_ID, Warehouse, make_connections

from narrowcast.activation import run_sync, state
from narrowcast.activation.spec import SyncSpec, parse_sync
from narrowcast.sandbox.server import SandboxServer

SYNCS = Path(__file__).resolve().parents[3] / "include" / "syncs"
SHIPMENTS_DDL = """create table marketplace_shipments (
    shipment_id varchar, marketplace varchar, marketplace_order_id varchar, package_reference_id bigint,
    carrier varchar, carrier_code varchar, carrier_name varchar, tracking_number varchar, shipped_at timestamp,
    shipped_at_iso varchar, line_items varchar, status varchar, status_reason varchar)"""
EBAY_ORDER, AMAZON_ORDER = "12-34567-89012", "305-1234567-1234567"


@pytest.fixture(scope="module")
def shipping_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["ebay_shipping", "amazon_shipments"]) as server:
        yield server


@pytest.fixture()
def marketplaces(shipping_sandbox: SandboxServer) -> dict[str, Any]:
    requests.post(f"{shipping_sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    shipping_sandbox.faults("all")
    found = shipping_sandbox.app.state.emulators
    found["ebay_shipping"].seed_orders({EBAY_ORDER: {"10001": ("SKU-1", 2), "10002": ("SKU-2", 1)}})
    found["amazon_shipments"].seed_orders({AMAZON_ORDER: {"79039765272157": ("SKU-1", 1)}}, MARKETPLACE_ID)
    return found


@pytest.fixture()
def shop(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.execute(SHIPMENTS_DDL)
    return warehouse


def shipped_sync(name: str) -> SyncSpec:
    raw = yaml.safe_load((SYNCS / f"{name}.yml").read_text())
    return parse_sync({**raw, "id": name, "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1}})


def shipment(marketplace: str, order_id: str, tracking: str, lines: list[tuple[str, int]], **over: Any) -> dict:
    return {
        "shipment_id": f"{marketplace}|{order_id}|{tracking}", "marketplace": marketplace,
        "marketplace_order_id": order_id, "package_reference_id": 1, "carrier": "DHL",
        "carrier_code": "DHL", "carrier_name": None, "tracking_number": tracking, "shipped_at": None,
        "shipped_at_iso": "2026-10-30T14:05:00.000Z",
        "line_items": json.dumps([{"line_item_id": i, "quantity": q} for i, q in lines]),
        "status": "ready", "status_reason": None, **over,
    }


def test_a_shipment_is_confirmed_once_on_its_own_marketplace_and_a_rerun_sends_nothing(
        shipping_sandbox, marketplaces, shop):
    # GIVEN one eBay and one Amazon shipment in the mart
    shop.replace("marketplace_shipments", [
        shipment("ebay", EBAY_ORDER, "00340434161094042557", [("10001", 2)]),
        shipment("amazon", AMAZON_ORDER, "01234567890123", [("79039765272157", 1)], carrier_code="DHL"),
    ])
    connections = make_connections(shipping_sandbox.url)
    # WHEN both syncs run twice
    first = [run_sync(shipped_sync(n), connections=connections, warehouse=shop.path)
             for n in ("shipments_ebay", "shipments_amazon")]
    again = [run_sync(shipped_sync(n), connections=connections, warehouse=shop.path)
             for n in ("shipments_ebay", "shipments_amazon")]
    # THEN eBay holds exactly the eBay shipment, Amazon exactly the Amazon one, each once
    ebay = marketplaces["ebay_shipping"].snapshot()
    assert ebay["created"] == 1
    (fulfillment,) = ebay["fulfillments"][EBAY_ORDER]
    assert fulfillment["lineItems"] == [{"lineItemId": "10001", "quantity": 2}]
    assert (fulfillment["shipmentTrackingNumber"], fulfillment["shippingCarrierCode"]) == ("00340434161094042557", "DHL")
    assert fulfillment["shippedDate"] == "2026-10-30T14:05:00.000Z"
    amazon = marketplaces["amazon_shipments"].snapshot()
    assert amazon["confirmed"] == 1
    (package,) = amazon["packages"][AMAZON_ORDER]
    assert package["packageItems"] == [{"orderItemId": "79039765272157", "quantity": 1}]
    assert (package["packageReferenceId"], package["trackingNumber"]) == ("1", "01234567890123")
    assert [r.accepted for r in first] == [1, 1]
    # with one call each: nothing was in doubt, so no order was read before its shipment was sent
    assert [r.api_calls for r in first] == [1, 1]
    # and the rerun plans nothing, so it calls neither marketplace
    assert [(r.planned, r.api_calls) for r in again] == [(0, 0), (0, 0)]


@pytest.mark.parametrize("sync_name", [pytest.param("shipments_ebay", id="eBay"),
                                       pytest.param("shipments_amazon", id="Amazon")])
def test_a_crash_between_the_marketplace_answer_and_the_state_commit_does_not_send_twice(
        sync_name, shipping_sandbox, marketplaces, shop, monkeypatch):
    # GIVEN a shipment, and a process that dies after the marketplace accepted it but before the state committed
    shop.replace("marketplace_shipments", [
        shipment("ebay", EBAY_ORDER, "00340434161094042557", [("10001", 1), ("10002", 1)]),
        shipment("amazon", AMAZON_ORDER, "01234567890123", [("79039765272157", 1)]),
    ])
    connections = make_connections(shipping_sandbox.url)
    committed = state.record_results

    def crash(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("killed before the state commit")

    monkeypatch.setattr(state, "record_results", crash)
    with pytest.raises(KeyboardInterrupt):
        run_sync(shipped_sync(sync_name), connections=connections, warehouse=shop.path)
    # WHEN the sync runs again with the state intact
    monkeypatch.setattr(state, "record_results", committed)
    rerun = run_sync(shipped_sync(sync_name), connections=connections, warehouse=shop.path)
    # THEN the shipment is planned again, its order read (its intent was left open), the shipment found at the
    # marketplace, confirmed in state and not sent again
    assert (rerun.planned_adds, rerun.accepted, rerun.sent, rerun.api_calls) == (1, 1, 0, 1)
    assert marketplaces["ebay_shipping"].snapshot()["created"] + marketplaces["amazon_shipments"].snapshot()["confirmed"] == 1
    assert shop.query("select count(*) from activation.sync_state where sync_id = ?", [sync_name]) == [(1,)]


@pytest.mark.parametrize(("sync_name", "row", "reason"), [
    pytest.param("shipments_ebay", shipment("ebay", "99-99999-99999", "T1", [("10001", 1)]),
                 "errorId 32100", id="eBay: unknown order"),
    pytest.param("shipments_ebay", shipment("ebay", EBAY_ORDER, "T2", [("10001", 3)]),
                 "errorId 32600", id="eBay: more than was ordered"),
    pytest.param("shipments_amazon", shipment("amazon", "999-9999999-9999999", "T3", [("79039765272157", 1)]),
                 "NotFound", id="Amazon: unknown order"),
    pytest.param("shipments_amazon", shipment("amazon", AMAZON_ORDER, "T4", [("79039765272157", 2)]),
                 "InvalidInput: Invalid quantity 2", id="Amazon: more than was ordered"),
])
def test_a_refused_shipment_is_logged_with_the_marketplace_message_and_planned_again(
        sync_name, row, reason, shipping_sandbox, marketplaces, shop):
    shop.replace("marketplace_shipments", [row])
    connections = make_connections(shipping_sandbox.url)
    report = run_sync(shipped_sync(sync_name), connections=connections, warehouse=shop.path, rejected_threshold=1.0)
    assert (report.accepted, report.rejected) == (0, 1)
    (logged,) = shop.query("select reason from activation.sync_rejections where sync_id = ?", [sync_name])
    assert reason in logged[0]
    assert shop.query("select count(*) from activation.sync_state where sync_id = ?", [sync_name]) == [(0,)]
    # and its intent stays open, so the next attempt asks the marketplace before sending it again
    assert shop.query("select count(*) from activation.sync_intents where sync_id = ?", [sync_name]) == [(1,)]
