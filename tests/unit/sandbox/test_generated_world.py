"""Every source connector over a small world from the real generator: the emulators read the generator's
columns and every world row arrives exactly once (slower: generates a world, so marked e2e)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources import amazon, ebay, google_ads, meta_ads, shopify

pytestmark = pytest.mark.e2e

EMULATORS = ["shopify", "meta_insights", "google_ads_reporting", "ebay_fulfillment", "amazon_orders"]
WORLD_KEYS = {
    "shop_orders": ("orders", ("order_id",)),
    "shop_order_lines": ("order_lines", ("line_item_id",)),
    "shop_customers": ("customers", ("customer_id",)),
    "shop_products": ("products", ("variant_id",)),
    "meta_ad_insights": ("meta_insights", ("account_id", "campaign_id", "date")),
    "google_ads_campaign_stats": ("google_ads_stats", ("customer_id", "campaign_id", "date")),
    "ebay_orders": ("ebay_orders", ("order_id",)),
    "ebay_order_lines": ("ebay_orders", ("line_item_id",)),
    "amazon_orders": ("amazon_orders", ("amazon_order_id",)),
    "amazon_order_items": ("amazon_orders", ("order_item_id",)),
}


@pytest.fixture(scope="module")
def generated_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from narrowcast.datagen import generate

    data_dir = tmp_path_factory.mktemp("generated")
    generate(data_dir, customers=200, days=10)
    return data_dir / "world"


def column(world: Path, table: str, name: str) -> list:
    return pq.read_table(world / f"{table}.parquet", columns=[name]).column(0).to_pylist()


def test_every_connector_pulls_every_generated_row_exactly_once(generated_world: Path):
    world = generated_world
    with SandboxServer(world, only=EMULATORS) as server:
        def conn(prefix: str, **extra: object) -> Connection:
            return Connection(f"narrowcast_{prefix}", f"{server.url}/{prefix}", password=SANDBOX_TOKEN, extra=extra)

        runs = [
            (shopify, conn("shopify")),
            (meta_ads, conn("meta", ad_account_id=str(column(world, "meta_insights", "account_id")[0]))),
            (google_ads, conn("google_ads", developer_token="dev",
                              customer_id=str(column(world, "google_ads_stats", "customer_id")[0]))),
            (ebay, conn("ebay")),
            (amazon, conn("amazon", marketplace_ids=sorted(set(column(world, "amazon_orders", "marketplace_id"))))),
        ]
        # Up to a few minutes ago: SP-API (and its emulator) refuse a LastUpdatedBefore in the last 2 minutes.
        window = Window(datetime(2000, 1, 1), datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5))
        for module, connection in runs:
            pulled: dict[str, list] = {entity: [] for entity in module.ENTITIES}
            for page in module.extract(connection, window):
                pulled[page.entity].extend(page.records)
            for entity, key in module.ENTITIES.items():
                got = Counter(tuple(r[k] for k in key) for r in pulled[entity])
                assert all(n == 1 for n in got.values()), f"{entity}: duplicates"
                if entity in WORLD_KEYS:
                    table, columns = WORLD_KEYS[entity]
                    rows = pq.read_table(world / f"{table}.parquet", columns=list(columns)).to_pylist()
                    assert set(got) == {tuple(r[c] for c in columns) for r in rows}, entity
