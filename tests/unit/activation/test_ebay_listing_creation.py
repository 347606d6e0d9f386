"""eBay listing creation from the catalogue mart against the emulator: bulk calls of 25, created once, revised, ended."""

from __future__ import annotations

import pytest
import requests
from listing_content_fixtures import content_rows, content_warehouse, listing_connections, listing_sync

from narrowcast.activation import run_sync
from narrowcast.activation.report import RemovalsNotConfirmed
from narrowcast.sandbox.framework import SANDBOX_TOKEN


def test_sixty_new_skus_take_three_bulk_calls_of_each_kind_and_a_rerun_creates_nothing(emulators, sandbox, warehouse):
    # GIVEN 60 catalogue rows for eBay that are not listed yet
    wh = content_warehouse(warehouse)
    rows = content_rows(60, "ebay")
    wh.replace("marketplace_listing_content", rows)
    connections = listing_connections(sandbox.url)
    ebay = emulators["ebay_inventory"]
    # WHEN the listing sync runs
    report = run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # THEN 3 calls of each bulk method created, offered and published every SKU once
    assert (report.accepted, report.rejected) == (60, 0)
    assert {m: ebay.calls[m] for m in ("bulkCreateOrReplaceInventoryItem", "bulkCreateOffer", "bulkPublishOffer")} == {
        "bulkCreateOrReplaceInventoryItem": 3, "bulkCreateOffer": 3, "bulkPublishOffer": 3}
    created = [o for o in ebay.offers.values() if o["sku"].startswith("CAT-")]
    assert len(created) == 60 and all(o["status"] == "PUBLISHED" for o in created)
    assert created[0]["listingPolicies"]["paymentPolicyId"] == "6000002" and created[0]["categoryId"] == "57990"
    # WHEN it runs again over the same catalogue
    again = run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # THEN nothing is sent and no second offer exists
    assert again.planned == 0 and ebay.calls["bulkCreateOffer"] == 3
    assert len([o for o in ebay.offers.values() if o["sku"].startswith("CAT-")]) == 60


def test_a_title_change_replaces_the_inventory_item_without_a_new_offer(emulators, sandbox, warehouse):
    # GIVEN a listed SKU
    wh = content_warehouse(warehouse)
    rows = content_rows(2, "ebay")
    wh.replace("marketplace_listing_content", rows)
    connections = listing_connections(sandbox.url)
    run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # WHEN its title changes in the catalogue
    rows[1]["title"] = "Linen shirt, stone washed"
    wh.replace("marketplace_listing_content", rows)
    report = run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # THEN only that item is replaced (a published item's replace revises its listing) and no offer is created
    ebay = emulators["ebay_inventory"]
    assert (report.planned_changes, report.accepted) == (1, 1)
    assert ebay.inventory_items["CAT-00001"]["product"]["title"] == "Linen shirt, stone washed"
    assert ebay.inventory_items["CAT-00001"]["revisions"] == 1
    assert ebay.calls["bulkCreateOffer"] == 1 and ebay.calls["bulkCreateOrReplaceInventoryItem"] == 2


def test_a_sku_that_left_the_catalogue_is_withdrawn_once_the_removal_guard_is_satisfied(emulators, sandbox, warehouse):
    # GIVEN four listed SKUs
    wh = content_warehouse(warehouse)
    rows = content_rows(4, "ebay")
    wh.replace("marketplace_listing_content", rows)
    connections = listing_connections(sandbox.url)
    run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # WHEN one leaves the catalogue
    wh.replace("marketplace_listing_content", rows[:3])
    # THEN a quarter of the listings ending is refused like any large removal, until confirmed
    with pytest.raises(RemovalsNotConfirmed):
        run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    report = run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path, confirm_removals=True)
    # THEN its offer is found by SKU and withdrawn; the others stay live
    ebay = emulators["ebay_inventory"]
    status = {o["sku"]: o["status"] for o in ebay.offers.values() if o["sku"].startswith("CAT-")}
    assert report.accepted == 1 and status["CAT-00003"] == "UNPUBLISHED"
    assert [status[f"CAT-{i:05d}"] for i in range(3)] == ["PUBLISHED"] * 3


def test_an_incomplete_row_is_rejected_with_the_marts_reason_and_a_missing_policy_with_ebays(
        emulators, sandbox, warehouse):
    # GIVEN one row the mart flags and a connection without a return policy
    wh = content_warehouse(warehouse)
    rows = content_rows(2, "ebay")
    rows[0]["missing_reason"] = "no image_urls"
    wh.replace("marketplace_listing_content", rows)
    connections = listing_connections(sandbox.url)
    connections["narrowcast_ebay"].extra.pop("return_policy_id")
    # WHEN the sync runs
    report = run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path, rejected_threshold=1.0)
    # THEN the flagged row is never sent and the other carries eBay's own publish error
    reasons = dict(wh.query("select record_key, reason from activation.sync_rejections order by record_key"))
    assert report.rejected == 2 and report.sent == 1
    assert reasons["CAT-00000"] == "catalogue incomplete: no image_urls"
    assert "listingPolicies.returnPolicyId" in reasons["CAT-00001"]


def test_variants_of_one_product_are_published_as_one_group_listing(emulators, sandbox, warehouse):
    # GIVEN a shirt in three sizes and one single product
    wh = content_warehouse(warehouse)
    rows = content_rows(4, "ebay")
    for row, size in zip(rows[:3], ("S", "M", "L"), strict=True):
        row.update(parent_sku="LS", variant_skus="CAT-00000|CAT-00001|CAT-00002", varies_by='{"Size": ["S", "M", "L"]}',
                   aspects=f'{{"Size": "{size}"}}')
    wh.replace("marketplace_listing_content", rows)
    # WHEN the listing sync runs
    report = run_sync(listing_sync("ebay"), connections=listing_connections(sandbox.url), warehouse=wh.path)
    # THEN the variants' offers went live through their group as one listing, the single product on its own
    ebay = emulators["ebay_inventory"]
    assert report.accepted == 4
    assert ebay.item_groups["LS"]["variantSKUs"] == ["CAT-00000", "CAT-00001", "CAT-00002"]
    assert ebay.item_groups["LS"]["variesBy"]["specifications"] == [{"name": "Size", "values": ["S", "M", "L"]}]
    offers = {o["sku"]: o for o in ebay.offers.values() if o["sku"].startswith("CAT-")}
    assert {offers[f"CAT-0000{i}"]["listing_id"] for i in range(3)} == {ebay.item_groups["LS"]["listing_id"]}
    assert offers["CAT-00003"]["status"] == "PUBLISHED" and offers["CAT-00003"]["listing_id"] != ebay.item_groups["LS"]["listing_id"]
    assert (ebay.calls["publishOfferByInventoryItemGroup"], ebay.calls["bulkPublishOffer"]) == (1, 1)


def test_new_variant_groups_are_created_whole_in_the_fewest_bulk_calls_whatever_the_plan_order(
        emulators, sandbox, warehouse):
    # GIVEN 52 new SKUs where two products of two sizes sit across the 25-row batch boundaries of the mart's order
    wh = content_warehouse(warehouse)
    rows = [{**row, "parent_sku": None, "variant_skus": None, "varies_by": None} for row in content_rows(52, "ebay")]
    for first, parent in ((24, "LS-A"), (49, "LS-B")):
        variants = f"{rows[first]['sku']}|{rows[first + 1]['sku']}"
        for row, size in zip(rows[first:first + 2], ("M", "L"), strict=True):
            row.update(parent_sku=parent, variant_skus=variants, varies_by='{"Size": ["M", "L"]}',
                       aspects=f'{{"Size": "{size}"}}')
    wh.replace("marketplace_listing_content", rows)
    # WHEN the listing sync runs once
    report = run_sync(listing_sync("ebay"), connections=listing_connections(sandbox.url), warehouse=wh.path)
    # THEN each group went live in its first run, and the 52 rows took the minimum of 3 batches
    ebay = emulators["ebay_inventory"]
    assert (report.accepted, report.rejected) == (52, 0)
    assert ebay.calls["publishOfferByInventoryItemGroup"] == 2 and set(ebay.item_groups) >= {"LS-A", "LS-B"}
    assert (ebay.calls["bulkCreateOrReplaceInventoryItem"], ebay.calls["bulkCreateOffer"]) == (3, 3)


def test_a_resend_after_a_crash_publishes_the_offer_ebay_already_holds_instead_of_a_second_one(
        emulators, sandbox, warehouse):
    # GIVEN a SKU whose inventory item and offer eBay created before the run crashed (no sync state was written)
    wh = content_warehouse(warehouse)
    rows = content_rows(1, "ebay")
    wh.replace("marketplace_listing_content", rows)
    connections = listing_connections(sandbox.url)
    run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    ebay = emulators["ebay_inventory"]
    offer_id = next(oid for oid, o in ebay.offers.items() if o["sku"] == "CAT-00000")
    ebay.offers[offer_id]["status"] = "UNPUBLISHED"
    wh.execute("delete from activation.sync_state")
    # WHEN the row is sent again as new
    report = run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # THEN eBay's "Offer entity already exists" names the offer, which is published; no second offer exists
    assert (report.planned_adds, report.accepted) == (1, 1)
    assert [oid for oid, o in ebay.offers.items() if o["sku"] == "CAT-00000"] == [offer_id]
    assert ebay.offers[offer_id]["status"] == "PUBLISHED"


def test_the_emulator_refuses_a_bulk_call_of_more_than_25_items(emulators, sandbox):
    answer = requests.post(f"{sandbox.url}/ebay/sell/inventory/v1/bulk_create_offer",
                           json={"requests": [{"sku": f"S{i}"} for i in range(26)]},
                           headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["errors"][0]["errorId"] == 25002
