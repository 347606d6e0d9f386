"""Etsy listing creation from the catalogue mart against the emulator: draft → images → inventory → active, content
updates, listings ended, a crash re-run without duplicates, incomplete rows refused, Etsy's rate limits obeyed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from listing_content_fixtures import (
    JPEG,
    content_rows,
    content_warehouse,
    etsy_connection,
    merchant_image_host,
)

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.etsy_listing_content import EtsyListingContent
from narrowcast.activation.report import RemovalsNotConfirmed
from narrowcast.activation.spec import parse_sync
from narrowcast.contracts.connections import Connection
from narrowcast.http import TokenBucket
from narrowcast.sandbox.emulators.etsy import variation_problem
from narrowcast.sandbox.server import SandboxServer

SYNC_FILE = Path(__file__).parents[3] / "include" / "syncs" / "listings_etsy.yml"
SHOP = "27182818"
@pytest.fixture(scope="module")
def image_host() -> Iterator[str]:
    with merchant_image_host() as url:
        yield url


@pytest.fixture(scope="module")
def etsy_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["etsy"]) as server:
        yield server


@pytest.fixture()
def etsy(etsy_sandbox):
    emulator = etsy_sandbox.app.state.emulators["etsy"]
    emulator.reset()
    return emulator


@pytest.fixture()
def conns(etsy_sandbox) -> dict[str, Connection]:
    return {"narrowcast_etsy": etsy_connection(etsy_sandbox.url, SHOP)}


def spec():
    raw = yaml.safe_load(SYNC_FILE.read_text())
    return parse_sync({**raw, "id": "test_listings_etsy", "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1}})


def rows(count: int, image_host: str) -> list[dict[str, Any]]:
    out = content_rows(count, "etsy")
    for i, row in enumerate(out):
        row.update(marketplace_category="1187", image_urls=f"{image_host}/{i}-front.jpg|{image_host}/{i}-back.jpg")
    return out


def created(etsy) -> dict[str, dict[str, Any]]:
    """SKU → the listing Etsy holds for it."""
    return {p["sku"]: {"listing_id": listing_id, **listing} for listing_id, listing in etsy.listings.items()
            for p in listing["inventory"]["products"] if p["sku"]}


def test_new_skus_become_active_listings_with_images_and_inventory_and_a_rerun_sends_nothing(
        etsy, conns, warehouse, image_host):
    # GIVEN three catalogue rows for Etsy, none listed yet
    wh = content_warehouse(warehouse)
    wh.replace("marketplace_listing_content", rows(3, image_host))
    # WHEN the listing sync runs
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN each SKU has one listing: its draft content, two images uploaded as files, the SKU's inventory, active
    assert (report.accepted, report.rejected) == (3, 0)
    listings = created(etsy)
    assert sorted(listings) == ["CAT-00000", "CAT-00001", "CAT-00002"]
    first = listings["CAT-00001"]
    assert first["state"] == "active" and first["fields"]["title"] == "Linen shirt 1"
    assert first["fields"]["taxonomy_id"] == "1187" and first["fields"]["shipping_profile_id"] == "234107945503"
    assert [(i["rank"], i["bytes"]) for i in first["images"]] == [(1, len(JPEG)), (2, len(JPEG))]
    [product] = first["inventory"]["products"]
    assert product["offerings"][0]["quantity"] == 5 and product["offerings"][0]["price"]["amount"] == 2999
    # (a listing created in this run has no images to count: createDraftListing, updateListingInventory, one
    # upload per image and the activation are all it takes)
    assert etsy.calls["createDraftListing"] == 3 and "getListingImages" not in etsy.calls
    # WHEN it runs again over the same catalogue
    calls = dict(etsy.calls)
    again = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN nothing is planned or sent
    assert again.planned == 0 and etsy.calls == calls


def test_every_accepted_row_answers_its_listing_id(etsy, conns, image_host):
    destination = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    row = {**rows(1, image_host)[0], "taxonomy_id": "1187"}
    results = destination.send(Batch("run", "add", 1, 1, [Change("CAT-00000", "add", row)]))
    [listing_id] = list(etsy.listings)
    assert [(r.outcome, r.remote_id) for r in results] == [("accepted", listing_id)]
    # a content change and a removal answer the same id
    again = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    results = again.send(Batch("run", "change", 1, 1, [Change("CAT-00000", "change", {**row, "title": "New"}),
                                                        Change("CAT-00009", "remove", {"sku": "CAT-00009"})]))
    assert [(r.outcome, r.remote_id) for r in results] == [("accepted", listing_id), ("accepted", None)]


def test_a_title_change_updates_the_listing_without_creating_another(etsy, conns, warehouse, image_host):
    wh = content_warehouse(warehouse)
    catalogue = rows(2, image_host)
    wh.replace("marketplace_listing_content", catalogue)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    # WHEN one title changes
    catalogue[1]["title"] = "Linen shirt, stone washed"
    wh.replace("marketplace_listing_content", catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN updateListing carries the new title; no listing is created and no image is uploaded again
    listing = created(etsy)["CAT-00001"]
    assert (report.planned_changes, report.accepted) == (1, 1)
    assert listing["fields"]["title"] == "Linen shirt, stone washed" and listing["state"] == "active"
    assert etsy.calls["createDraftListing"] == 2 and etsy.calls["uploadListingImage"] == 4


def test_a_sku_that_left_the_catalogue_has_its_listing_set_inactive_once_removals_are_confirmed(
        etsy, conns, warehouse, image_host):
    wh = content_warehouse(warehouse)
    catalogue = rows(4, image_host)
    wh.replace("marketplace_listing_content", catalogue)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    wh.replace("marketplace_listing_content", catalogue[:3])
    # THEN a quarter of the listings ending is held back like any large removal, until confirmed
    with pytest.raises(RemovalsNotConfirmed):
        run_sync(spec(), connections=conns, warehouse=wh.path)
    report = run_sync(spec(), connections=conns, warehouse=wh.path, confirm_removals=True)
    states = {sku: listing["state"] for sku, listing in created(etsy).items()}
    assert report.accepted == 1
    assert states == {"CAT-00000": "active", "CAT-00001": "active", "CAT-00002": "active", "CAT-00003": "inactive"}

    # WHEN the SKU comes back to the catalogue
    wh.replace("marketplace_listing_content", catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN its listing is active again; no second listing
    assert report.accepted == 1 and created(etsy)["CAT-00003"]["state"] == "active" and len(etsy.listings) == 4

def test_a_crash_after_the_draft_was_created_is_finished_on_the_rerun_without_a_second_listing(
        etsy, conns, warehouse, image_host):
    # GIVEN a run that created the draft and set its inventory, then died before the images (no state stored)
    wh = content_warehouse(warehouse)
    catalogue = rows(2, image_host)
    wh.replace("marketplace_listing_content", catalogue)
    destination = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    draft = destination._create_draft({**catalogue[0], "taxonomy_id": "1187"})
    destination._set_inventory(str(draft["listing_id"]), catalogue[0])
    # and one whose listing was fully created and activated before the crash
    destination.send(Batch("run", "add", 1, 1, [Change("CAT-00001", "add", {**catalogue[1], "taxonomy_id": "1187"})]))
    # WHEN the sync runs
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN both SKUs are found by SKU: the draft gets its images and goes active, nothing is created again
    assert (report.accepted, report.rejected) == (2, 0)
    assert etsy.calls["createDraftListing"] == 2 and len(etsy.listings) == 2
    assert {sku: (listing["state"], len(listing["images"])) for sku, listing in created(etsy).items()} == {
        "CAT-00000": ("active", 2), "CAT-00001": ("active", 2)}


def test_a_draft_whose_inventory_never_arrived_is_found_by_its_sku_tag(etsy, conns, image_host):
    destination = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    row = {**rows(1, image_host)[0], "taxonomy_id": "1187"}
    destination._create_draft(row)  # the crash came right after createDraftListing
    again = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    [result] = again.send(Batch("run", "add", 1, 1, [Change("CAT-00000", "add", row)]))
    assert result.outcome == "accepted" and len(etsy.listings) == 1
    assert created(etsy)["CAT-00000"]["state"] == "active"


def test_an_incomplete_row_is_rejected_with_the_marts_reason_before_any_call(etsy, conns, warehouse, image_host):
    wh = content_warehouse(warehouse)
    catalogue = rows(2, image_host)
    catalogue[0]["missing_reason"] = "missing description"
    wh.replace("marketplace_listing_content", catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path, rejected_threshold=1.0)
    assert (report.accepted, report.rejected, report.sent) == (1, 1, 1)
    reasons = wh.query("select record_key, reason from activation.sync_rejections where resolved_at is null")
    assert reasons == [("CAT-00000", "catalogue incomplete: missing description")]
    assert etsy.calls["createDraftListing"] == 1 and sorted(created(etsy)) == ["CAT-00001"]


def test_a_connection_without_a_shipping_profile_fails_before_any_listing_is_created(etsy, conns, image_host):
    conn = conns["narrowcast_etsy"]
    without = replace(conn, extra={k: v for k, v in conn.extra.items() if k != "shipping_profile_id"})
    destination = EtsyListingContent(SendContext(without, {}, "listing", TokenBucket(1e3, 1e3)))
    with pytest.raises(ValueError, match="shipping_profile_id"):
        destination.send(Batch("run", "add", 1, 1, [Change("CAT-00000", "add",
                                                           {**rows(1, image_host)[0], "taxonomy_id": "1187"})]))
    assert etsy.listings == {}


def test_rows_past_the_days_allowance_are_held_for_the_next_run_unsent(etsy, conns, image_host):
    # GIVEN an app with 20 requests left today ("Rate Limits": x-remaining-today on every answer)
    etsy.per_day = 20
    destination = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    catalogue = [{**r, "taxonomy_id": "1187"} for r in rows(3, image_host)]
    # WHEN three new SKUs are sent
    results = destination.send(Batch("run", "add", 1, 1, [Change(r["sku"], "add", r) for r in catalogue]))
    # THEN the first is created; the rest are held back unsent once fewer calls remain than a listing takes
    assert [r.outcome for r in results] == ["accepted", "skipped", "skipped"]
    assert all(not r.sent and "daily request allowance" in (r.reason or "") for r in results[1:])
    assert len(etsy.listings) == 1


def test_the_client_paces_itself_by_the_per_second_limit_etsy_reports(etsy, conns, image_host):
    etsy.per_second = 4
    destination = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    row = {**rows(1, image_host)[0], "taxonomy_id": "1187"}
    [result] = destination.send(Batch("run", "add", 1, 1, [Change("CAT-00000", "add", row)]))
    # the client took the reported limit as its pace; what the first second's burst ran into (429 with
    # retry-after) was waited out and retried, so the listing was completed
    assert result.outcome == "accepted" and created(etsy)["CAT-00000"]["state"] == "active"
    assert destination.client.app_pace.rate == 4


class _Pages:
    """getListingsByShop answers as the reference documents them ({count, results: [ShopListing]}), by state."""

    def __init__(self, by_state: dict[str, list[dict[str, Any]]]) -> None:
        self.by_state, self.asked = by_state, []
        self.remaining_today = None

    def get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        self.asked.append((params["state"], params["offset"]))
        listings = self.by_state.get(params["state"], [])
        return {"count": len(listings), "results": listings[params["offset"]:params["offset"] + params["limit"]]}


def shop_listing(listing_id: int, state: str, skus: list[str], tags: list[str]) -> dict[str, Any]:
    return {"listing_id": listing_id, "user_id": 929786967, "shop_id": 27182818, "title": "Linen shirt",
            "state": state, "quantity": 3, "url": f"https://www.etsy.com/listing/{listing_id}/linen-shirt",
            "skus": skus, "tags": tags, "taxonomy_id": 1187, "who_made": "someone_else", "when_made": "made_to_order",
            "price": {"amount": 2999, "divisor": 100, "currency_code": "EUR"}}


def test_the_shops_listings_are_indexed_by_inventory_sku_and_by_sku_tag_across_states_and_pages(conns):
    destination = EtsyListingContent(SendContext(conns["narrowcast_etsy"], {}, "listing", TokenBucket(1e3, 1e3)))
    active = [shop_listing(1000 + i, "active", [f"A-{i}"], []) for i in range(150)]
    pages = _Pages({"active": [*active, shop_listing(9, "active", ["OWN-1"], ["linen"])],
                    "draft": [shop_listing(7, "draft", [], ["cat-9", "cotton"])],
                    "inactive": [shop_listing(8, "inactive", ["B-1", "B-2"], [])]})
    destination.client = pages
    # two pages of active listings (100 + 51), one each for draft and inactive; read once per run
    assert destination.find("A-149") == {"listing_id": 1149, "state": "active"}
    assert sorted(pages.asked) == [("active", 0), ("active", 100), ("draft", 0), ("inactive", 0)]
    assert destination.find("B-2") == {"listing_id": 8, "state": "inactive"}
    # a draft without inventory is found by its SKU tag, whatever case Etsy stored it in
    assert destination.find("CAT-9") == {"listing_id": 7, "state": "draft"}
    # a tag of a listing that has its own SKUs never claims it for another SKU
    assert destination.find("linen") is None and destination.find("LINEN") is None
    assert len(pages.asked) == 4


def variant_rows(image_host: str) -> list[dict[str, Any]]:
    """Two sizes of one shirt as the mart hands them to Etsy (varies_by and aspects under Etsy's names)."""
    catalogue = rows(2, image_host)
    for row, size, quantity, price in zip(catalogue, ("M", "L"), (5, 3), (29.99, 31.99), strict=True):
        row.update(parent_sku="LS", variant_skus="CAT-00000|CAT-00001", varies_by='{"Size": ["L", "M"]}',
                   aspects=f'{{"Size": "{size}"}}', quantity=quantity, price=price)
    return catalogue


def test_two_variants_become_one_listing_with_a_product_per_variant(etsy, conns, warehouse, image_host):
    # GIVEN two sizes of one product in the catalogue mart
    wh = content_warehouse(warehouse)
    wh.replace("marketplace_listing_content", variant_rows(image_host))
    # WHEN the listing sync runs, then runs again
    report = run_sync(spec(), connections=conns, warehouse=wh.path)
    again = run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN Etsy holds one active listing, tagged with the parent SKU, whose inventory has a product per size
    assert (report.accepted, report.rejected, report.skipped) == (2, 0, 0)
    assert etsy.calls["createDraftListing"] == 1 and again.planned == 0
    [(listing_id, listing)] = etsy.listings.items()
    assert listing["state"] == "active" and listing["fields"]["tags"] == "LS"
    inventory = listing["inventory"]
    by_sku = {p["sku"]: p for p in inventory["products"]}
    assert sorted(by_sku) == ["CAT-00000", "CAT-00001"]
    assert [(v["property_id"], v["property_name"], v["values"]) for v in by_sku["CAT-00001"]["property_values"]] == [
        (513, "Size", ["L"])]
    assert by_sku["CAT-00000"]["offerings"][0]["quantity"] == 5
    assert by_sku["CAT-00001"]["offerings"][0]["price"]["amount"] == 3199
    # each variant keeps its own price, quantity and SKU
    assert [inventory[k] for k in ("price_on_property", "quantity_on_property", "sku_on_property")] == [[513]] * 3
    # and both variant SKUs are registered under the one listing id, for the stock sync
    registered = wh.query("select record_key, remote_id from activation.listing_ids order by record_key")
    assert registered == [("CAT-00000", listing_id), ("CAT-00001", listing_id)]


def test_a_variant_added_later_joins_the_listing_and_a_removed_one_leaves_it(etsy, conns, warehouse, image_host):
    wh = content_warehouse(warehouse)
    catalogue = variant_rows(image_host)
    wh.replace("marketplace_listing_content", catalogue[:1])
    run_sync(spec(), connections=conns, warehouse=wh.path)
    # WHEN the second size arrives in a later catalogue
    wh.replace("marketplace_listing_content", catalogue)
    run_sync(spec(), connections=conns, warehouse=wh.path)
    # THEN it is a second product of the same listing, not a listing of its own
    [listing] = etsy.listings.values()
    assert sorted(p["sku"] for p in listing["inventory"]["products"]) == ["CAT-00000", "CAT-00001"]
    # WHEN the first size leaves the catalogue (the removal confirmed)
    wh.replace("marketplace_listing_content", catalogue[1:])
    run_sync(spec(), connections=conns, warehouse=wh.path, confirm_removals=True)
    # THEN its product is dropped and the listing stays active with the other
    assert [p["sku"] for p in listing["inventory"]["products"]] == ["CAT-00001"]
    assert listing["state"] == "active" and etsy.calls["createDraftListing"] == 1


def test_a_product_varying_by_three_aspects_is_refused_unsent_with_etsys_limit(etsy, conns, warehouse, image_host):
    wh = content_warehouse(warehouse)
    catalogue = variant_rows(image_host)
    for row, colour in zip(catalogue, ("Blue", "Red"), strict=True):
        row.update(varies_by='{"Colour": ["Blue", "Red"], "Fit": ["A", "B"], "Size": ["L", "M"]}',
                   aspects=row["aspects"].replace("{", f'{{"Colour": "{colour}", "Fit": "A", '))
    wh.replace("marketplace_listing_content", catalogue)
    report = run_sync(spec(), connections=conns, warehouse=wh.path, rejected_threshold=1.0)
    assert (report.accepted, report.rejected, report.sent) == (0, 2, 0)
    [(reason,)] = wh.query("select distinct reason from activation.sync_rejections")
    assert "at most 2 variation properties" in reason and not etsy.listings


def inventory_of(*products: tuple[str, dict[str, str], float, int], on: list[int] | None = None) -> dict[str, Any]:
    ids = {"Size": 513, "Colour": 514, "Fit": 200}
    body = {"products": [{"sku": sku, "property_values": [{"property_id": ids[k], "property_name": k, "values": [v]}
                                                          for k, v in values.items()],
                          "offerings": [{"price": price, "quantity": quantity, "is_enabled": True}]}
                         for sku, values, price, quantity in products]}
    return {**body, **{f: list(on or []) for f in ("price_on_property", "quantity_on_property", "sku_on_property")}}


@pytest.mark.parametrize(("body", "opted_in", "problem"), [
    pytest.param(inventory_of(("A", {"Size": "M"}, 10.0, 1), ("B", {"Size": "L"}, 12.0, 2), on=[513]), False, None,
                 id="two sizes with their own price, stock and SKU are an inventory"),
    pytest.param(inventory_of(("A", {"Size": "M"}, 10.0, 1), ("B", {"Size": "L"}, 12.0, 2)), False,
                 "incompatible with the on_property fields", id="prices differing along no named property"),
    pytest.param(inventory_of(("A", {"Size": "M"}, 10.0, 1), ("B", {"Size": "M"}, 10.0, 1), on=[513]), False,
                 "same property values", id="two products with the same size"),
    pytest.param(inventory_of(("A", {"Size": "M"}, 10.0, 1), ("B", {"Colour": "Red"}, 10.0, 1), on=[]), False,
                 "vary by the same properties", id="products varying by different properties"),
    pytest.param(inventory_of(("A", {"Size": "M", "Colour": "Red", "Fit": "A"}, 10.0, 1)), False,
                 "at most 2 variation properties", id="three properties without opting in"),
    pytest.param(inventory_of(("A", {"Size": "M", "Colour": "Red", "Fit": "A"}, 10.0, 1)), True,
                 "third variation cannot be a custom", id="a third variation beside two custom ones"),
])
def test_the_emulator_refuses_variations_etsy_documents_as_invalid(body, opted_in, problem):
    found = variation_problem(body, opted_in=opted_in)
    assert found is None if problem is None else problem in found
