"""The shipment emulators hold the world's eBay and Amazon orders, so shipments of the demo's orders confirm."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from narrowcast.sandbox.emulators.amazon_shipments import AmazonShipmentsEmulator
from narrowcast.sandbox.emulators.ebay_shipping import EbayShippingEmulator


def test_the_shipment_emulators_load_every_order_line_of_the_world(world_dir: Path) -> None:
    ebay_lines = pq.read_table(world_dir / "ebay_orders.parquet").to_pylist()
    amazon_items = pq.read_table(world_dir / "amazon_orders.parquet").to_pylist()
    ebay, amazon = EbayShippingEmulator(world_dir), AmazonShipmentsEmulator(world_dir)
    assert sum(len(lines) for lines in ebay.orders.values()) == len(ebay_lines)
    assert sum(len(order["items"]) for order in amazon.orders.values()) == len(amazon_items)
    line = ebay_lines[0]
    assert ebay.orders[line["order_id"]][str(line["line_item_id"])] == {"sku": line["sku"], "quantity": line["quantity"]}
    item = amazon_items[0]
    assert amazon.orders[item["amazon_order_id"]]["marketplaceId"] == item["marketplace_id"]
    # a reset forgets the shipments and keeps the world's orders
    ebay.reset()
    assert sum(len(lines) for lines in ebay.orders.values()) == len(ebay_lines)
