"""Shopify fulfillments as a shipment source: read with the orders' updatedAt watermark, paged or in bulk, into
raw.shop_fulfillments (one row per shipped line) and raw.shop_order_attributes (note attributes). The tiny
world fulfils every third order; every sixth names its eBay order id in sourceIdentifier, every ninth in a note
attribute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tiny_world import WORLD_DAYS, WORLD_START, sandbox_connection

from narrowcast.contracts.windows import Window
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources import shopify
from narrowcast.sources.shopify.records import fulfillment_records, order_attribute_records

WHOLE_WORLD = Window(WORLD_START - timedelta(days=1), WORLD_START + timedelta(days=WORLD_DAYS + 1))


def pull(server: SandboxServer, window: Window) -> dict[str, list[dict[str, Any]]]:
    conn = sandbox_connection(server, "shopify", "narrowcast_shopify", read_fulfillments=True)
    client = shopify.ShopifyClient.from_connection(conn, sleep=lambda _s: None)
    out: dict[str, list[dict[str, Any]]] = {entity: [] for entity in shopify.ENTITIES}
    for page in shopify.extract(conn, window, client=client):
        out[page.entity].extend(page.records)
    return out


def test_fulfillments_read_in_bulk_and_in_daily_pages_are_the_same_rows(sandbox):
    # GIVEN a world with fulfilled orders; WHEN the whole span is read (bulk) and again day by day (paged)
    whole = pull(sandbox, WHOLE_WORLD)
    daily: dict[str, list[dict[str, Any]]] = {"shop_fulfillments": [], "shop_order_attributes": []}
    day = WHOLE_WORLD.start
    while day < WHOLE_WORLD.end:
        got = pull(sandbox, Window(day, day + timedelta(days=1)))
        for entity in daily:
            daily[entity] += got[entity]
        day += timedelta(days=1)
    # THEN both give one row per shipped line of every fulfilled order, with the same values
    def keyed(rows):
        return sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))
    assert whole["shop_fulfillments"], "the world has fulfilled orders"
    assert keyed(whole["shop_fulfillments"]) == keyed(daily["shop_fulfillments"])
    assert keyed(whole["shop_order_attributes"]) == keyed(daily["shop_order_attributes"])
    fulfilled = {o["id"] for o in whole["shop_orders"] if o["fulfillment_status"] == "fulfilled"}
    assert {r["order_id"] for r in whole["shop_fulfillments"]} == fulfilled
    lines = {(line["order_id"], line["id"]): line for line in whole["shop_order_lines"]}
    for row in whole["shop_fulfillments"]:
        assert row["quantity"] == lines[(row["order_id"], row["line_item_id"])]["quantity"]
        assert row["tracking_company"] == "DHL Express" and row["tracking_number"].startswith("00340434")


def test_without_read_fulfillments_the_source_sends_no_fulfillment_query(sandbox):
    conn = sandbox_connection(sandbox, "shopify", "narrowcast_shopify")
    pages = list(shopify.extract(conn, WHOLE_WORLD))
    assert not [p for p in pages if p.entity in ("shop_fulfillments", "shop_order_attributes")]


def test_an_imported_marketplace_order_brings_its_own_order_id(sandbox):
    rows = pull(sandbox, WHOLE_WORLD)
    identifiers = {r["order_source_identifier"] for r in rows["shop_fulfillments"]} - {None}
    assert identifiers and all(i.startswith("12-") for i in identifiers)
    attributes = rows["shop_order_attributes"]
    assert attributes and {a["name"] for a in attributes} == {"eBay Order ID"}
    # only orders with a fulfillment bring their note attributes
    assert {a["order_id"] for a in attributes} <= {r["order_id"] for r in rows["shop_fulfillments"]}


# An order as the GraphQL Admin reference shows Order.fulfillments (Fulfillment: id, status, createdAt,
# updatedAt, trackingInfo {company number url}, fulfillmentLineItems {edges {node {id quantity lineItem}}}).
DOCUMENTED_ORDER = {
    "id": "gid://shopify/Order/148977776", "updatedAt": "2026-10-30T15:00:00Z", "sourceName": "ebay",
    "sourceIdentifier": "12-34567-89012",
    "customAttributes": [{"key": "channel", "value": "eBay"}, {"key": "channel", "value": "eBay DE"}],
    "fulfillments": [{
        "id": "gid://shopify/Fulfillment/255858046", "status": "SUCCESS",
        "createdAt": "2026-10-30T14:05:00Z", "updatedAt": "2026-10-30T14:05:00Z",
        "trackingInfo": [{"company": "UPS", "number": "1Z1234512345123456", "url": "https://www.ups.com/track"},
                         {"company": "UPS", "number": "1Z1234512345123457", "url": None}],
        "fulfillmentLineItems": {"edges": [{"node": {
            "id": "gid://shopify/FulfillmentLineItem/1", "quantity": 2,
            "lineItem": {"id": "gid://shopify/LineItem/466157049", "sku": "IPOD2008GREEN"}}}]},
    }],
}


def test_a_documented_fulfillment_becomes_one_row_per_shipped_line():
    (row,) = fulfillment_records(DOCUMENTED_ORDER, "test")
    assert row == {
        "fulfillment_id": 255858046, "order_id": 148977776, "status": "success",
        "created_at": row["created_at"], "updated_at": row["updated_at"],
        "tracking_company": "UPS", "tracking_number": "1Z1234512345123456",
        "tracking_url": "https://www.ups.com/track", "tracking_numbers": "1Z1234512345123456,1Z1234512345123457",
        "order_source_name": "ebay", "order_source_identifier": "12-34567-89012",
        "line_item_id": 466157049, "sku": "IPOD2008GREEN", "quantity": 2,
    }
    assert str(row["created_at"]) == "2026-10-30 14:05:00"
    assert order_attribute_records(DOCUMENTED_ORDER, "test") == [
        {"order_id": 148977776, "customer_id": None, "name": "channel", "value": "eBay DE"}]
