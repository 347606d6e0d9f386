"""Shipments to Etsy (sync shipments_etsy, createReceiptShipment) against the emulator: each shipment sent once,
never twice after a crash between Etsy's answer and the state commit, refusals logged with Etsy's message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from activation_fixtures import Warehouse
from test_marketplace_shipments import SHIPMENTS_DDL, shipment

from narrowcast.activation import run_sync, state
from narrowcast.activation.spec import SyncSpec, parse_sync
from narrowcast.contracts.connections import Connection
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.sandbox.server import SandboxServer

SYNC_FILE = Path(__file__).resolve().parents[3] / "include" / "syncs" / "shipments_etsy.yml"
RECEIPT = "3456789012"


@pytest.fixture(scope="module")
def etsy_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["etsy"]) as server:
        yield server


@pytest.fixture()
def etsy(etsy_sandbox: SandboxServer) -> Any:
    emulator = etsy_sandbox.app.state.emulators["etsy"]
    emulator.reset()
    # A receipt as getShopReceipts documents it, not yet shipped.
    emulator.seed_receipts([{"receipt_id": int(RECEIPT), "create_timestamp": 1761800000,
                             "update_timestamp": 1761800000, "is_shipped": False, "shipments": []}])
    return emulator


@pytest.fixture()
def connections(etsy_sandbox: SandboxServer) -> dict[str, Connection]:
    url = etsy_sandbox.url
    return {"narrowcast_etsy": Connection(
        "narrowcast_etsy", f"{url}/etsy", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
        extra={"shop_id": "27182818", "refresh_token": LOCAL_REFRESH_TOKEN,
               "token_url": f"{url}/etsy/v3/public/oauth/token", "retry_base_delay": 0.01,
               "retry_max_delay": 0.05, "timeout_seconds": 5.0})}


@pytest.fixture()
def shop(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.execute(SHIPMENTS_DDL)
    return warehouse


def etsy_sync() -> SyncSpec:
    raw = yaml.safe_load(SYNC_FILE.read_text())
    return parse_sync({**raw, "id": "shipments_etsy", "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1}})


def etsy_shipment(receipt: str, tracking: str) -> dict[str, Any]:
    return shipment("etsy", receipt, tracking, [("4001", 1)], carrier_code="dhl-germany")


def test_an_etsy_shipment_is_sent_once_and_a_rerun_sends_nothing(etsy, connections, shop):
    # GIVEN one ready Etsy shipment and one of another marketplace in the mart
    shop.replace("marketplace_shipments", [etsy_shipment(RECEIPT, "00340434161094042557"),
                                           shipment("ebay", "12-34567-89012", "T9", [("1", 1)])])
    # WHEN the Etsy sync runs twice
    first = run_sync(etsy_sync(), connections=connections, warehouse=shop.path)
    again = run_sync(etsy_sync(), connections=connections, warehouse=shop.path)
    # THEN Etsy got exactly its shipment, with the tracking code and Etsy's carrier name, once
    assert etsy.shipments == [{"receipt_id": RECEIPT, "tracking_code": "00340434161094042557",
                               "carrier_name": "dhl-germany"}]
    assert etsy.receipts[RECEIPT]["is_shipped"] is True
    assert (first.accepted, first.sent) == (1, 1)
    # the send alone: no earlier run left the shipment in doubt, so the receipt is not read first
    assert (etsy.calls.get("getShopReceipt", 0), etsy.calls["createReceiptShipment"]) == (0, 1)
    assert first.api_calls == 1
    # the intent journalled before the send is closed with the state commit
    assert shop.query("select count(*) from activation.sync_intents where sync_id = 'shipments_etsy'") == [(0,)]
    assert (again.planned, again.api_calls) == (0, 0)


def test_a_crash_between_etsys_answer_and_the_state_commit_does_not_send_twice(etsy, connections, shop,
                                                                               monkeypatch):
    shop.replace("marketplace_shipments", [etsy_shipment(RECEIPT, "00340434161094042557")])
    committed = state.record_results

    def crash(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("killed before the state commit")

    monkeypatch.setattr(state, "record_results", crash)
    with pytest.raises(KeyboardInterrupt):
        run_sync(etsy_sync(), connections=connections, warehouse=shop.path)
    # the intent committed before the send outlives the crash
    assert shop.query("select count(*) from activation.sync_intents where sync_id = 'shipments_etsy'") == [(1,)]
    monkeypatch.setattr(state, "record_results", committed)
    rerun = run_sync(etsy_sync(), connections=connections, warehouse=shop.path)
    # the rerun reads the receipt of the shipment in doubt, finds the tracking code, confirms it and sends nothing
    assert (rerun.planned_adds, rerun.accepted, rerun.sent, rerun.api_calls) == (1, 1, 0, 1)
    assert shop.query("select count(*) from activation.sync_intents where sync_id = 'shipments_etsy'") == [(0,)]
    assert len(etsy.shipments) == 1
    assert len(etsy.receipts[RECEIPT]["shipments"]) == 1
    assert shop.query("select count(*) from activation.sync_state where sync_id = 'shipments_etsy'") == [(1,)]


def test_a_second_package_of_the_same_receipt_is_its_own_shipment(etsy, connections, shop):
    shop.replace("marketplace_shipments", [etsy_shipment(RECEIPT, "T-FIRST"), etsy_shipment(RECEIPT, "T-SECOND")])
    report = run_sync(etsy_sync(), connections=connections, warehouse=shop.path)
    assert report.accepted == 2
    assert [s["tracking_code"] for s in etsy.receipts[RECEIPT]["shipments"]] == ["T-FIRST", "T-SECOND"]


def test_an_unknown_receipt_is_rejected_with_etsys_message_and_planned_again(etsy, connections, shop):
    shop.replace("marketplace_shipments", [etsy_shipment("999", "T1")])
    report = run_sync(etsy_sync(), connections=connections, warehouse=shop.path, rejected_threshold=1.0)
    assert (report.accepted, report.rejected) == (0, 1)
    (logged,) = shop.query("select reason from activation.sync_rejections where sync_id = 'shipments_etsy'")
    assert "Receipt 999 not found" in logged[0]
    assert etsy.shipments == []
