"""A product's whole life on every marketplace and the merchant's shop, through dbt and the sync engine.

A catalogue-file merchant's new product (one catalogue row and its ERP stock; the shop does not sell it yet) goes
through a real dbt run of the two marts the listing and stock syncs read; the shipped sync declarations
(include/syncs) run against the in-process sandbox. The shop listing sync creates the shop's product, which the
shop extract then brings back as a shop product, as it does every inventory cycle. No listings file is ever
written: the stock syncs find the listings through the registry the listing syncs fill.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
import yaml
from dbt_invocation import run_dbt
from dbt_raw_schema import columns, create_table_sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "activation"))

from activation_fixtures import LOCATION_ID  # noqa: E402
from listing_content_fixtures import etsy_connection, listing_connections, merchant_image_host  # noqa: E402

from narrowcast import settings  # noqa: E402
from narrowcast.activation import run_sync  # noqa: E402
from narrowcast.activation.spec import SyncSpec, parse_sync  # noqa: E402
from narrowcast.sandbox.server import SandboxServer  # noqa: E402

AS_OF_DATE = "2026-03-31"
SKU = "LIN-01"
MARTS = ("+marketplace_listing_content", "+marketplace_listing_feed")
# After the first run only these tables read what the steps change (staging models are views).
REBUILT = ("int_erp_stock", "int_products", "marketplace_listing_content", "marketplace_listing_feed")
ETSY_SHOP = "27182818"
# listing_category_map ships no Etsy rows (the shop's taxonomy ids are not verified), so the test maps Shirts to a
# taxonomy id of its own, as a merchant does in the seed.
ETSY_SHIRTS = ("Shirts", "etsy", "1187")


@dataclass(frozen=True)
class Live:
    """What a marketplace shows for the SKU: listed and buyable, how many, under which title."""

    buyable: bool
    quantity: int
    title: str | None


def ebay_view(emulators: dict[str, Any], listing_id: str) -> Live:
    offer = emulators["ebay_inventory"].offers[listing_id]
    item = emulators["ebay_inventory"].inventory_items[offer["sku"]]
    return Live(offer["status"] == "PUBLISHED" and offer["quantity"] > 0, offer["quantity"], item["product"]["title"])


def amazon_view(emulators: dict[str, Any], listing_id: str) -> Live:
    listing = emulators["amazon_listings"].listings[listing_id]
    attributes = emulators["amazon_listings"].puts[listing_id]["attributes"]
    return Live(listing["status"] == "ACTIVE", listing["quantity"], attributes["item_name"][0]["value"])


def etsy_view(emulators: dict[str, Any], listing_id: str) -> Live:
    listing = emulators["etsy"].listings[listing_id]
    quantity = sum(o["quantity"] for p in listing["inventory"]["products"] for o in p["offerings"])
    return Live(listing["state"] == "active" and quantity > 0, quantity, listing["fields"]["title"])


def shop_product(emulators: dict[str, Any], inventory_item_id: str) -> dict[str, Any]:
    gid = f"gid://shopify/InventoryItem/{inventory_item_id}"
    return next(p for p in emulators["shopify_products"].products.values()
                if any(v["inventoryItem"]["id"] == gid for v in p["variants"]))


def shop_view(emulators: dict[str, Any], inventory_item_id: str) -> Live:
    product = shop_product(emulators, inventory_item_id)
    quantity = emulators["shopify_inventory"].levels.get((int(inventory_item_id), LOCATION_ID), 0)
    return Live(product["status"] == "ACTIVE" and quantity > 0, quantity, product["title"])


@dataclass(frozen=True)
class Marketplace:
    name: str
    listing_sync: str
    stock_sync: str
    emulators: tuple[str, ...]
    view: Callable[[dict[str, Any], str], Live]


# One line per marketplace Narrowcast creates listings on (its listing sync, its stock sync, how to read it back).
MARKETPLACES = [
    Marketplace("ebay", "listings_ebay", "stock_ebay", ("ebay_inventory",), ebay_view),
    Marketplace("amazon", "listings_amazon", "stock_amazon", ("amazon_listings",), amazon_view),
    Marketplace("etsy", "listings_etsy", "stock_etsy", ("etsy",), etsy_view),
    Marketplace("shop", "listings_shop", "stock_shop", ("shopify_products", "shopify_inventory"), shop_view),
]


def shipped_sync(sync_id: str) -> SyncSpec:
    """The declaration as shipped, unthrottled (the emulators' own limits still apply)."""
    raw = yaml.safe_load((settings.PROJECT_ROOT / "include" / "syncs" / f"{sync_id}.yml").read_text(encoding="utf-8"))
    return parse_sync({**raw, "id": sync_id, "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1}})


def insert(con: duckdb.DuckDBPyConnection, table: str, loaded_at: datetime, *rows: tuple) -> None:
    names = ", ".join(f'"{name}"' for name in columns(table))
    placeholders = ", ".join(["?"] * len(columns(table)))
    con.executemany(f"insert into raw.{table} ({names}) values ({placeholders})",
                    [(*row, "lifecycle", loaded_at, "fixture") for row in rows])


def catalogue_row(title: str, image_host: str) -> tuple:
    # The catalogue drop's columns (docs/data-contracts.md, file_catalogue); Shirts maps to eBay 57990 / Amazon SHIRT
    # / the shop's product type Shirts. Etsy takes image files, so the image is on the merchant's host.
    return (SKU, title, "Washed linen, relaxed fit.", "Narrowcast Wear", "4006381333931", "LIN-01-M", "new", "Shirts",
            f"{image_host}/lin-01.jpg", "39.90", "EUR", None, "Blue", "M", "Linen", "catalogue_1.csv")


def stock_row(on_hand: int, at: str) -> tuple:
    return (SKU, on_hand, "12.00", "MAIN", datetime.fromisoformat(at), f"erp_stock_{on_hand}.csv")


@pytest.fixture(scope="module")
def image_host() -> Iterator[str]:
    with merchant_image_host() as url:
        yield url


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=sorted({e for m in MARKETPLACES for e in m.emulators})) as server:
        yield server


class World:
    """The warehouse and the marketplaces: change the raw inputs, transform, run the syncs."""

    def __init__(self, path: Path, target: Path, sandbox: SandboxServer) -> None:
        self.path, self.target, self.sandbox = path, target, sandbox
        self.connections = {**listing_connections(sandbox.url),
                            "narrowcast_etsy": etsy_connection(sandbox.url, ETSY_SHOP)}
        self.emulators = sandbox.app.state.emulators
        self.clock = 0
        self.image_host = ""
        self.built = False

    def load(self, table: str, *rows: tuple) -> None:
        self.clock += 1
        with duckdb.connect(str(self.path)) as con:
            insert(con, table, datetime(2026, 3, 31, 8, self.clock), *rows)

    def transform(self) -> None:
        # The first time with the seeds the marts read (one dbt invocation less); dbt's run-start hook creates
        # every other raw table and the listing registry, empty.
        if not self.built:
            run_dbt(["build", "--select", *MARTS, "--resource-type", "seed", "--resource-type", "model"],
                    warehouse=self.path, target_path=self.target, as_of_date=AS_OF_DATE)
            with duckdb.connect(str(self.path)) as con:
                con.execute("insert into main.listing_category_map values (?, ?, ?)", ETSY_SHIRTS)
            self.built = True
        run_dbt(["run", "--select", *REBUILT], warehouse=self.path, target_path=self.target, as_of_date=AS_OF_DATE)

    def extract_shop(self) -> None:
        """What the shop extract loads of the product the shop listing sync created (raw.shop_products)."""
        product = shop_product(self.emulators, self.listing_id("shop"))
        [variant] = product["variants"]
        number = int(product["id"].rsplit("/", 1)[1])
        self.load("shop_products", (number, int(variant["id"].rsplit("/", 1)[1]), int(self.listing_id("shop")),
                                    SKU, product["title"], product["productType"], product["vendor"],
                                    variant["price"], None, product["status"].lower(), datetime(2026, 3, 31),
                                    datetime(2026, 3, 31)))

    def sync(self, kind: str) -> dict[str, Any]:
        return {m.name: run_sync(shipped_sync(getattr(m, kind)), connections=self.connections, warehouse=self.path)
                for m in MARKETPLACES}

    def feed(self) -> dict[str, tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            rows = con.execute("select marketplace, listing_id, listing_id_source, quantity, status "
                               "from main.marketplace_listing_feed where sku = ?", [SKU]).fetchall()
        return {row[0]: row[1:] for row in rows}

    def listing_id(self, marketplace: str) -> str:
        """The id the listing sync registered for the SKU on ``marketplace``."""
        with duckdb.connect(str(self.path), read_only=True) as con:
            [(remote_id,)] = con.execute("select remote_id from activation.listing_ids where record_key = ? "
                                         "and marketplace = ?", [SKU, marketplace]).fetchall()
        return remote_id

    def rule_quantity(self, marketplace: str, available: int) -> int:
        """The quantity the seed marketplace_rules publish for ``available`` units on ``marketplace``."""
        with duckdb.connect(str(self.path), read_only=True) as con:
            [(share, most, end_at)] = con.execute(
                "select stock_share, max_listed_quantity, end_when_at_or_below from main.marketplace_rules "
                "where marketplace = ?", [marketplace]).fetchall()
        return 0 if available <= end_at else min(int(available * share), most)

    def live(self) -> dict[str, Live]:
        listing_ids = {marketplace: row[0] for marketplace, row in self.feed().items()}
        return {m.name: m.view(self.emulators, listing_ids[m.name]) for m in MARKETPLACES}

    def view(self, marketplace: str) -> Live:
        """The listing as its marketplace shows it, found by the id the registry holds."""
        market = next(m for m in MARKETPLACES if m.name == marketplace)
        return market.view(self.emulators, self.listing_id(marketplace))


@pytest.fixture()
def world(tmp_path: Path, sandbox: SandboxServer, image_host: str) -> World:
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    sandbox.faults("all")
    path, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        for table in ("shop_products", "file_erp_stock", "file_catalogue"):
            con.execute(create_table_sql(table))
    world = World(path, target, sandbox)
    world.image_host = image_host
    return world


def test_a_product_is_listed_sold_out_relisted_and_renamed_on_every_marketplace(world: World) -> None:
    everywhere = {m.name for m in MARKETPLACES}
    # GIVEN a new product in the catalogue file with 20 on hand in the ERP; the shop does not sell it and no
    # listings file names it anywhere
    world.load("file_erp_stock", stock_row(20, "2026-03-31 06:00:00"))
    world.load("file_catalogue", catalogue_row("Linen shirt, blue", world.image_host))
    world.transform()
    assert world.feed() == {}
    # WHEN the listing syncs run
    created = world.sync("listing_sync")
    # THEN the SKU is an active listing on every marketplace and a product of the shop, in that one run
    assert {name: (r.accepted, r.rejected) for name, r in created.items()} == {name: (1, 0) for name in everywhere}
    # (eBay and Etsy publish the catalogue quantity with the listing; Amazon's offer and the shop's inventory level
    # get theirs from the stock syncs, which address the new ids after the next transform)
    assert (world.view("ebay").buyable, world.view("etsy").buyable) == (True, True)
    assert shop_product(world.emulators, world.listing_id("shop"))["status"] == "ACTIVE"

    # WHEN the shop extract loads the new product, then the next transform and the stock syncs run
    world.extract_shop()
    world.transform()
    feed = world.feed()
    stock = world.sync("stock_sync")
    # THEN the feed addresses each listing by the id its marketplace gave it, from the registry, and the stock
    # syncs publish each marketplace's rule quantity of the 20 to it
    assert feed == {name: (world.listing_id(name), "registry", world.rule_quantity(name, 20), "active")
                    for name in everywhere}
    assert {name: (r.accepted, r.rejected) for name, r in stock.items()} == {name: (1, 0) for name in everywhere}
    assert world.live() == {name: Live(True, world.rule_quantity(name, 20), "Linen shirt, blue") for name in everywhere}

    # WHEN the product sells out
    world.load("file_erp_stock", stock_row(0, "2026-03-31 12:00:00"))
    world.transform()
    world.sync("listing_sync")
    world.sync("stock_sync")
    # THEN nobody can buy it anywhere: Etsy deactivates the listing, Amazon and the shop publish 0, and eBay keeps
    # its listing alive at 0, out of stock (the shipped rules say zero_stock = keep_listed for eBay: the seller's
    # out-of-stock option), so it comes back under the same listing
    assert {name: live.buyable for name, live in world.live().items()} == {name: False for name in everywhere}
    ebay_offer = world.emulators["ebay_inventory"].offers[world.listing_id("ebay")]
    assert (ebay_offer["status"], ebay_offer["listing_status"], ebay_offer["quantity"]) == (
        "PUBLISHED", "OUT_OF_STOCK", 0)

    # WHEN stock returns
    world.load("file_erp_stock", stock_row(30, "2026-03-31 18:00:00"))
    world.transform()
    world.sync("listing_sync")
    world.sync("stock_sync")
    # THEN it is relisted everywhere with the new quantity, under the same listing ids
    assert world.live() == {name: Live(True, world.rule_quantity(name, 30), "Linen shirt, blue") for name in everywhere}
    assert {name: row[0] for name, row in world.feed().items()} == {name: row[0] for name, row in feed.items()}

    # WHEN the catalogue renames it
    world.load("file_catalogue", catalogue_row("Linen shirt, stone washed", world.image_host))
    world.transform()
    renamed = world.sync("listing_sync")
    restocked = world.sync("stock_sync")
    # THEN every marketplace shows the new title; stock and price had nothing to send
    assert {name: r.planned_changes for name, r in renamed.items()} == {name: 1 for name in everywhere}
    assert {name: live.title for name, live in world.live().items()} == {
        name: "Linen shirt, stone washed" for name in everywhere}
    assert {name: r.planned for name, r in restocked.items()} == {name: 0 for name in everywhere}


VARIANTS = {"LIN-02-M": "M", "LIN-02-L": "L"}
VARIATION_MARKETPLACES = [m for m in MARKETPLACES if m.name in ("etsy", "shop")]


def variant_catalogue_row(sku: str, size: str, image_host: str) -> tuple:
    # Two sizes of one shirt (parent_sku LIN-02): the seed listing_attribute_map maps size as an Etsy and shop aspect.
    return (sku, f"Linen shirt {size}", "Washed linen, relaxed fit.", "Narrowcast Wear", None, None, "new", "Shirts",
            f"{image_host}/lin-02.jpg", "39.90", "EUR", "LIN-02", "Blue", size, "Linen", "catalogue_2.csv")


def variant_stock_row(sku: str, on_hand: int, at: str) -> tuple:
    return (sku, on_hand, "12.00", "MAIN", datetime.fromisoformat(at), f"erp_stock_{sku}_{on_hand}.csv")


def test_a_two_variant_product_is_one_listing_on_etsy_and_the_shop_and_a_sold_out_size_zeroes_only_itself(
        world: World) -> None:
    def sync(kind: str) -> dict[str, Any]:
        return {m.name: run_sync(shipped_sync(getattr(m, kind)), connections=world.connections,
                                 warehouse=world.path) for m in VARIATION_MARKETPLACES}

    def registered(marketplace: str) -> dict[str, str]:
        with duckdb.connect(str(world.path), read_only=True) as con:
            return dict(con.execute("select record_key, remote_id from activation.listing_ids where marketplace = ?",
                                    [marketplace]).fetchall())

    def etsy_quantities() -> dict[str, int]:
        [listing_id] = set(registered("etsy").values())
        listing = world.emulators["etsy"].listings[listing_id]
        assert listing["state"] == "active"
        return {p["sku"]: p["offerings"][0]["quantity"] for p in listing["inventory"]["products"]}

    def shop_quantities() -> dict[str, int]:
        levels = world.emulators["shopify_inventory"].levels
        return {sku: levels.get((int(item), LOCATION_ID), 0) for sku, item in registered("shop").items()}

    # GIVEN two sizes of one shirt in the catalogue file, 20 of each on hand
    world.load("file_erp_stock", *(variant_stock_row(sku, 20, "2026-03-31 06:00:00") for sku in VARIANTS))
    world.load("file_catalogue", *(variant_catalogue_row(sku, size, world.image_host) for sku, size in VARIANTS.items()))
    world.transform()
    # WHEN the Etsy and shop listing syncs run
    created = sync("listing_sync")
    # THEN each marketplace holds one listing with both sizes: one Etsy listing, one shop product with two variants
    assert {name: (r.accepted, r.rejected) for name, r in created.items()} == {"etsy": (2, 0), "shop": (2, 0)}
    assert len(set(registered("etsy").values())) == 1 and len(world.emulators["etsy"].listings) == 1
    [product] = world.emulators["shopify_products"].products.values()
    assert sorted(v["sku"] for v in product["variants"]) == sorted(VARIANTS)
    assert product["options"] == [{"name": "Size", "values": ["L", "M"]}]

    # WHEN the shop extract brings the product back, the next transform and the stock syncs run
    number = int(product["id"].rsplit("/", 1)[1])
    world.load("shop_products", *((number, int(v["id"].rsplit("/", 1)[1]),
                                   int(v["inventoryItem"]["id"].rsplit("/", 1)[1]), v["sku"], product["title"],
                                   product["productType"], product["vendor"], v["price"], None, "active",
                                   datetime(2026, 3, 31), datetime(2026, 3, 31)) for v in product["variants"]))
    world.transform()
    sync("stock_sync")
    # THEN each size carries its own rule quantity of its 20
    full = {name: world.rule_quantity(name, 20) for name in ("etsy", "shop")}
    assert etsy_quantities() == {sku: full["etsy"] for sku in VARIANTS}
    assert shop_quantities() == {sku: full["shop"] for sku in VARIANTS}

    # WHEN size M sells out
    world.load("file_erp_stock", variant_stock_row("LIN-02-M", 0, "2026-03-31 12:00:00"))
    world.transform()
    sync("listing_sync")
    sync("stock_sync")
    # THEN only M is zeroed: the Etsy listing stays active with L's stock, the shop's L keeps its level
    assert etsy_quantities() == {"LIN-02-M": 0, "LIN-02-L": full["etsy"]}
    assert shop_quantities() == {"LIN-02-M": 0, "LIN-02-L": full["shop"]}
