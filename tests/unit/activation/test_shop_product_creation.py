"""Shop products created from the catalogue file with Shopify's productSet, against the emulator: created once,
updated, archived, found again after a crash, the shop's own products never touched, incomplete rows refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from activation_fixtures import make_connections
from listing_content_fixtures import content_rows, content_warehouse

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.shopify_products import OWN_TAG, ShopifyProducts, _html, handle_for
from narrowcast.activation.report import RemovalsNotConfirmed
from narrowcast.activation.spec import parse_sync
from narrowcast.http import TokenBucket
from narrowcast.sandbox.emulators.shopify_products import ShopifyProductsEmulator
from narrowcast.sandbox.server import SandboxServer

SYNC_FILE = Path(__file__).parents[3] / "include" / "syncs" / "listings_shop.yml"


@pytest.fixture(scope="module")
def shop_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["shopify_products", "shopify_inventory"]) as server:
        yield server


@pytest.fixture()
def shop(shop_sandbox):
    for name in ("shopify_products", "shopify_inventory"):
        shop_sandbox.app.state.emulators[name].reset()
    return shop_sandbox.app.state.emulators["shopify_products"]


@pytest.fixture()
def conns(shop_sandbox):
    return make_connections(shop_sandbox.url)


def spec():
    raw = yaml.safe_load(SYNC_FILE.read_text())
    return parse_sync({**raw, "id": "test_listings_shop", "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1}})


def rows(count: int) -> list[dict[str, Any]]:
    out = content_rows(count, "shop")
    for row in out:
        row.update(marketplace_category="Shirts", content_source="catalogue_file")
    return out


def warehouse_with(warehouse, catalogue: list[dict[str, Any]]):
    wh = content_warehouse(warehouse)
    wh.execute("alter table marketplace_listing_content add column if not exists content_source varchar")
    wh.replace("marketplace_listing_content", catalogue)
    return wh


def destination(conns) -> ShopifyProducts:
    return ShopifyProducts(SendContext(conns["narrowcast_shopify"], {}, "product", TokenBucket(1e3, 1e3)))


def payload(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "product_type": row["marketplace_category"]}


def test_new_skus_become_active_products_and_a_rerun_sends_nothing(shop, conns, warehouse):
    # GIVEN three catalogue-file SKUs the shop does not sell, and a shop product no file names
    wh = warehouse_with(warehouse, [*rows(3), {**rows(4)[3], "content_source": "shop_product"}])
    # WHEN the sync runs
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN each file SKU is one ACTIVE product with the tag, one default variant with SKU and price, images by URL
    assert (report.accepted, report.rejected) == (3, 0)
    product = shop.by_sku("CAT-00001")
    assert product["status"] == "ACTIVE" and product["handle"] == "narrowcast-cat-00001"
    assert product["title"] == "Linen shirt 1" and product["productType"] == "Shirts"
    assert product["vendor"] == "Narrowcast Wear" and product["tags"] == [OWN_TAG]
    assert product["descriptionHtml"] == "<p>A linen shirt, cut 1.</p>"
    assert [f["originalSource"] for f in product["files"]] == ["https://img.example/1.jpg"]
    [variant] = product["variants"]
    assert (variant["sku"], variant["price"]) == ("CAT-00001", "29.99")
    assert shop.by_sku("CAT-00003") is None and shop.calls["productSet"] == 3
    # WHEN it runs again
    again = run_sync(spec(), connections=conns, warehouse=wh.path)
    assert again.planned == 0 and shop.calls["productSet"] == 3


def test_every_accepted_row_answers_the_variants_inventory_item_which_the_stock_sync_can_set(shop, shop_sandbox,
                                                                                             conns):
    [result] = destination(conns).send(Batch("run", "add", 1, 1, [Change("CAT-00000", "add", payload(rows(1)[0]))]))
    item = shop.by_sku("CAT-00000")["variants"][0]["inventoryItem"]["id"]
    assert result.outcome == "accepted" and result.remote_id == item.rsplit("/", 1)[1]
    assert int(result.remote_id) in shop_sandbox.app.state.emulators["shopify_inventory"].items


def test_a_content_change_updates_the_product_and_keeps_its_variant_and_inventory_item(shop, conns, warehouse):
    catalogue = rows(2)
    wh = warehouse_with(warehouse, catalogue)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    before = shop.by_sku("CAT-00001")["variants"][0]
    shop.by_sku("CAT-00001")["tags"].append("summer")  # the merchant tags the product in the shop admin
    # WHEN the title and the price change
    catalogue[1].update(title="Linen shirt, stone washed", price=34.5)
    wh.replace("marketplace_listing_content", catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN the same product is updated in place: one product, same variant and inventory item, images not resent
    product = shop.by_sku("CAT-00001")
    assert (report.planned_changes, report.accepted) == (1, 1) and len(shop.products) == 2
    assert product["title"] == "Linen shirt, stone washed" and product["variants"][0]["price"] == "34.50"
    assert product["variants"][0]["id"] == before["id"]
    assert product["variants"][0]["inventoryItem"]["id"] == before["inventoryItem"]["id"]
    assert "files" not in shop.received[-1]["input"]
    assert product["tags"] == [OWN_TAG, "summer"]


def test_a_sku_that_left_the_catalogue_file_is_archived_once_removals_are_confirmed(shop, conns, warehouse):
    catalogue = rows(4)
    wh = warehouse_with(warehouse, catalogue)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    wh.replace("marketplace_listing_content", catalogue[:3])
    with pytest.raises(RemovalsNotConfirmed):
        run_sync(spec(), connections=conns, warehouse=wh.path)
    report = run_sync(spec(), connections=conns, warehouse=wh.path, confirm_removals=True)
    assert report.accepted == 1
    assert {f"CAT-{i:05d}": shop.by_sku(f"CAT-{i:05d}")["status"] for i in range(4)} == {
        "CAT-00000": "ACTIVE", "CAT-00001": "ACTIVE", "CAT-00002": "ACTIVE", "CAT-00003": "ARCHIVED"}
    # the variant is still there: archiving keeps the product and its history
    assert shop.by_sku("CAT-00003")["variants"][0]["sku"] == "CAT-00003"

    # WHEN it comes back to the catalogue file, the archived product is active again; no second product
    wh.replace("marketplace_listing_content", catalogue)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    assert shop.by_sku("CAT-00003")["status"] == "ACTIVE" and len(shop.products) == 4

def test_the_shops_own_products_are_never_touched(shop, conns, warehouse):
    # GIVEN the shop already sells CAT-00001 on a product of its own
    own = shop.seed_product("CAT-00001", "The shop's own linen shirt", tags=["summer"])
    wh = warehouse_with(warehouse, rows(2))
    # WHEN the sync runs, and again, and then the SKU leaves the catalogue file
    first = run_sync(spec(), connections=conns, warehouse=wh.path)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    wh.replace("marketplace_listing_content", rows(1))
    run_sync(spec(), connections=conns, warehouse=wh.path, confirm_removals=True)
    # THEN that SKU was skipped with its reason every time; the shop's product is exactly as it was
    assert (first.accepted, first.skipped) == (1, 1)
    reason = wh.query("select reason from activation.sync_rejections where record_key = 'CAT-00001' limit 1")[0][0]
    assert "the shop already sells SKU CAT-00001 on its own product" in reason
    assert shop.by_sku("CAT-00001") is own and own["title"] == "The shop's own linen shirt"
    assert own["status"] == "ACTIVE" and own["tags"] == ["summer"]
    assert [r["product"] for r in shop.received] == [shop.by_sku("CAT-00000")["id"]]


def test_a_crash_before_the_state_was_stored_updates_the_product_by_its_handle_without_a_duplicate(
        shop, conns, warehouse, monkeypatch):
    # GIVEN a run that created the products, then died before the engine stored their state
    catalogue = rows(2)
    destination(conns).send(Batch("run", "add", 1, 1, [Change(r["sku"], "add", payload(r)) for r in catalogue]))
    original = {r["sku"]: shop.by_sku(r["sku"])["variants"][0]["inventoryItem"]["id"] for r in catalogue}
    # and a search that does not see them yet (Shopify's search index lags behind writes)
    monkeypatch.setattr(shop, "_variants", lambda search: [])
    # WHEN the sync runs
    wh = warehouse_with(warehouse, catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN the upsert by handle found the products the first run made: still two, same inventory items
    assert (report.accepted, report.rejected) == (2, 0) and len(shop.products) == 2
    assert {r["sku"]: shop.by_sku(r["sku"])["variants"][0]["inventoryItem"]["id"] for r in catalogue} == original


def test_an_incomplete_row_is_rejected_with_the_marts_reason_before_any_call(shop, conns, warehouse):
    catalogue = rows(2)
    catalogue[0]["missing_reason"] = "missing title"
    wh = warehouse_with(warehouse, catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path, rejected_threshold=1.0)
    assert (report.accepted, report.rejected) == (1, 1)
    assert wh.query("select reason from activation.sync_rejections where record_key = 'CAT-00000'") == [
        ("catalogue incomplete: missing title",)]
    assert shop.by_sku("CAT-00000") is None and shop.calls["productSet"] == 1


def test_a_user_error_rejects_the_row_with_shopifys_message_and_code(shop, conns):
    # A handle another product already holds, given without an identifier, is HANDLE_NOT_UNIQUE.
    shop.seed_product("OTHER-1", "Other", handle=handle_for("CAT-00000"))
    sink = destination(conns)
    change = Change("CAT-00000", "add", payload(rows(1)[0]))
    result = sink._product_set(change, {"title": "x", "handle": handle_for("CAT-00000")}, {})
    assert result.outcome == "rejected"
    assert "already in use" in result.reason and "(HANDLE_NOT_UNIQUE)" in result.reason


@pytest.mark.parametrize(("sku", "handle"), [
    pytest.param("CAT-00001", "narrowcast-cat-00001", id="a-plain-sku-is-its-own-handle"),
    pytest.param("A_1", "narrowcast-a-1-", id="an-sku-that-slugs-differently-gets-a-hash-suffix"),
])
def test_the_handle_of_a_sku(sku, handle):
    assert handle_for(sku).startswith(handle)
    assert handle_for("A_1") != handle_for("A-1")


class _Answers:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data, self.sent = data, []

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(variables)
        return self.data


def variant_node(sku: str, product: int, tags: list[str]) -> dict[str, Any]:
    """A productVariants node as the GraphQL Admin reference shapes it (ProductVariant with inventoryItem, product)."""
    return {"id": f"gid://shopify/ProductVariant/{product}1", "sku": sku,
            "inventoryItem": {"id": f"gid://shopify/InventoryItem/{product}2"},
            "product": {"id": f"gid://shopify/Product/{product}", "handle": f"h-{product}", "status": "ACTIVE",
                        "tags": tags}}


def test_the_sku_search_prefers_the_product_narrowcast_made_and_quotes_every_sku(conns):
    sink = destination(conns)
    sink.client = _Answers({"productVariants": {"nodes": [
        variant_node("CAT-1", 11, [OWN_TAG]), variant_node("CAT-1", 12, ["summer"]),
        variant_node('SHIRT "XL"', 13, []), variant_node("CAT-1-B", 14, [OWN_TAG])]}})
    found = sink._find(["CAT-1", 'SHIRT "XL"'])
    assert sink.client.sent == [{"query": 'sku:"CAT-1" OR sku:"SHIRT \\"XL\\""', "first": 250}]
    # a prefix match the search may return (CAT-1-B) is not the SKU asked for
    assert {sku: node["product"]["id"] for sku, node in found.items()} == {
        "CAT-1": "gid://shopify/Product/11", 'SHIRT "XL"': "gid://shopify/Product/13"}


def test_the_description_is_sent_as_escaped_html_paragraphs():
    assert _html("Linen & cotton <soft>\n\nWash cold.\nLine dry.") == (
        "<p>Linen &amp; cotton &lt;soft&gt;</p><p>Wash cold.<br>Line dry.</p>")
    assert _html(None) == ""


def variant_rows() -> list[dict[str, Any]]:
    """Two sizes of one shirt as the mart hands them to the shop (varies_by and aspects under the shop's names)."""
    catalogue = rows(2)
    for row, size, price in zip(catalogue, ("M", "L"), (29.99, 31.5), strict=True):
        row.update(parent_sku="LS", variant_skus="CAT-00000|CAT-00001", varies_by='{"Size": ["L", "M"]}',
                   aspects=f'{{"Size": "{size}"}}', price=price)
    return catalogue


def test_two_variants_become_one_product_with_an_option_and_two_variants(shop, shop_sandbox, conns, warehouse):
    # GIVEN two sizes of one product
    wh = warehouse_with(warehouse, variant_rows())
    # WHEN the sync runs, then again
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    again = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN the shop has one product, handled by the parent SKU, with a Size option and a variant per size
    assert (report.accepted, report.rejected, report.skipped) == (2, 0, 0) and again.planned == 0
    assert len(shop.products) == 1 and shop.calls["productSet"] == 1
    product = shop.by_sku("CAT-00000")
    assert product["handle"] == handle_for("LS") and product["options"] == [{"name": "Size", "values": ["L", "M"]}]
    variants = {v["sku"]: v for v in product["variants"]}
    assert [o["value"] for o in variants["CAT-00001"]["selectedOptions"]] == ["L"]
    assert (variants["CAT-00000"]["price"], variants["CAT-00001"]["price"]) == ("29.99", "31.50")
    # and each variant SKU is registered under its own inventory item, which the stock sync can set
    registered = dict(wh.query("select record_key, remote_id from activation.listing_ids"))
    assert registered == {sku: v["inventoryItem"]["id"].rsplit("/", 1)[1] for sku, v in variants.items()}
    assert {int(i) for i in registered.values()} <= shop_sandbox.app.state.emulators["shopify_inventory"].items


def test_a_change_to_one_variant_keeps_the_other_as_the_shop_has_it(shop, conns, warehouse):
    catalogue = variant_rows()
    wh = warehouse_with(warehouse, catalogue)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    before = {v["sku"]: v for v in shop.by_sku("CAT-00000")["variants"]}
    # WHEN only the L's price changes
    catalogue[1]["price"] = 33.0
    wh.replace("marketplace_listing_content", catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN productSet carries both variants (it replaces the list): M unchanged, L repriced, ids kept
    after = {v["sku"]: v for v in shop.by_sku("CAT-00000")["variants"]}
    assert report.planned_changes == 1 and sorted(after) == ["CAT-00000", "CAT-00001"]
    assert (after["CAT-00000"]["price"], after["CAT-00001"]["price"]) == ("29.99", "33.00")
    assert {s: v["id"] for s, v in after.items()} == {s: v["id"] for s, v in before.items()}


def test_a_product_varying_by_four_aspects_is_refused_unsent(shop, conns, warehouse):
    catalogue = variant_rows()
    for row in catalogue:
        row["varies_by"] = '{"Colour": ["A"], "Fit": ["A"], "Length": ["A"], "Size": ["L", "M"]}'
    wh = warehouse_with(warehouse, catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path, rejected_threshold=1.0)
    assert (report.rejected, report.sent) == (2, 0) and not shop.products
    [(reason,)] = wh.query("select distinct reason from activation.sync_rejections")
    assert "at most 3 options" in reason


@pytest.mark.parametrize(("options", "variants", "code"), [
    pytest.param([{"name": n, "values": [{"name": "A"}]} for n in ("a", "b", "c", "d")],
                 [{"optionValues": [{"optionName": n, "name": "A"} for n in "abcd"]}], "OPTIONS_OVER_LIMIT",
                 id="four options"),
    pytest.param([{"name": "Size", "values": [{"name": "M"}]}],
                 [{"optionValues": [{"optionName": "Size", "name": "M"}]}] * 2, "INVALID_VARIANT",
                 id="two variants with the same size"),
    pytest.param([{"name": "Size", "values": [{"name": "M"}]}, {"name": "Colour", "values": [{"name": "Red"}]}],
                 [{"optionValues": [{"optionName": "Size", "name": "M"}]}], "OPTION_VALUES_MISSING",
                 id="a variant without a value for every option"),
    pytest.param([{"name": "Size", "values": [{"name": "M"}, {"name": "M"}]}],
                 [{"optionValues": [{"optionName": "Size", "name": "M"}]}], "DUPLICATED_OPTION_VALUE",
                 id="an option value given twice"),
])
def test_the_emulator_refuses_options_and_variants_productset_documents_as_invalid(options, variants, code):
    errors = ShopifyProductsEmulator._problems(None, {"title": "T", "productOptions": options, "variants": variants})
    assert code in [e["code"] for e in errors]
