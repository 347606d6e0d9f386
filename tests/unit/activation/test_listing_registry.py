"""The listing id registry (activation.listing_ids): what listing syncs create is remembered, ended and revived."""

from __future__ import annotations

import pytest
from activation_fixtures import audience_rows, audience_sync
from listing_content_fixtures import content_rows, content_warehouse, listing_connections, listing_sync

from narrowcast.activation import run_sync
from narrowcast.activation.report import SyncFailed


def registry(wh, sync_id: str) -> dict[str, tuple]:
    rows = wh.query("""select record_key, marketplace, remote_id, first_seen_at, last_confirmed_at, ended_at
                       from activation.listing_ids where sync_id = ? order by record_key""", [sync_id])
    return {row[0]: row[1:] for row in rows}


def test_ebay_listings_are_registered_under_the_offer_id_ebay_gave_them(emulators, sandbox, warehouse):
    # GIVEN three catalogue rows for eBay
    wh = content_warehouse(warehouse)
    wh.replace("marketplace_listing_content", content_rows(3, "ebay"))
    # WHEN the listing sync creates them
    run_sync(listing_sync("ebay"), connections=listing_connections(sandbox.url), warehouse=wh.path)
    # THEN each SKU is registered for marketplace ebay under the id of the offer eBay holds for it, live
    offers = {o["sku"]: offer_id for offer_id, o in emulators["ebay_inventory"].offers.items()
              if o["sku"].startswith("CAT-")}
    registered = registry(wh, "test_listings_ebay")
    assert {sku: (row[0], row[1], row[4]) for sku, row in registered.items()} == {
        sku: ("ebay", offers[sku], None) for sku in offers}
    assert len(registered) == 3


def test_an_update_confirms_the_id_a_removal_ends_it_and_a_return_revives_it(emulators, sandbox, warehouse):
    # GIVEN two eBay listings the sync created
    wh = content_warehouse(warehouse)
    rows = content_rows(2, "ebay")
    wh.replace("marketplace_listing_content", rows)
    connections = listing_connections(sandbox.url)
    run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    created = registry(wh, "test_listings_ebay")
    # WHEN a title changes (eBay's replace names no offer)
    rows[0]["title"] = "Linen shirt, stone washed"
    wh.replace("marketplace_listing_content", rows)
    run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # THEN the registered id and its first-seen time stay, and the confirmation is newer
    updated = registry(wh, "test_listings_ebay")
    assert updated["CAT-00000"][1:3] == created["CAT-00000"][1:3]
    assert updated["CAT-00000"][3] > created["CAT-00000"][3]
    assert updated["CAT-00001"] == created["CAT-00001"]
    # WHEN the SKU leaves the catalogue
    wh.replace("marketplace_listing_content", rows[1:])
    run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path, confirm_removals=True)
    # THEN its listing is registered as ended, the other not
    ended = registry(wh, "test_listings_ebay")
    assert ended["CAT-00000"][4] is not None and ended["CAT-00001"][4] is None
    # WHEN it comes back
    wh.replace("marketplace_listing_content", rows)
    run_sync(listing_sync("ebay"), connections=connections, warehouse=wh.path)
    # THEN eBay's existing offer is published again and the listing is live under the same id
    revived = registry(wh, "test_listings_ebay")
    assert revived["CAT-00000"][1] == created["CAT-00000"][1] and revived["CAT-00000"][4] is None


def test_amazon_listings_are_registered_under_their_sku(emulators, sandbox, warehouse):
    # GIVEN two valid catalogue rows for Amazon
    wh = content_warehouse(warehouse)
    rows = content_rows(2, "amazon")
    for row in rows:
        row["aspects"] = '{"size": "M"}'
    wh.replace("marketplace_listing_content", rows)
    # WHEN the listing sync creates them
    report = run_sync(listing_sync("amazon"), connections=listing_connections(sandbox.url), warehouse=wh.path)
    # THEN both are registered for marketplace amazon under the SKU (Listings Items addresses listings by SKU)
    assert report.accepted == 2
    assert {sku: row[:2] for sku, row in registry(wh, "test_listings_amazon").items()} == {
        "CAT-00000": ("amazon", "CAT-00000"), "CAT-00001": ("amazon", "CAT-00001")}


def test_a_sync_that_creates_listings_must_name_its_marketplace(emulators, sandbox, warehouse):
    # GIVEN a listing sync that filters no marketplace
    wh = content_warehouse(warehouse)
    wh.replace("marketplace_listing_content", content_rows(1, "ebay"))
    spec = listing_sync("ebay", filter={"sku": {"like": "CAT-%"}})
    # WHEN it runs THEN it fails saying so, rather than register ids the feed could not place
    with pytest.raises(SyncFailed, match="filters no single marketplace"):
        run_sync(spec, connections=listing_connections(sandbox.url), warehouse=wh.path)
    assert registry(wh, spec.id) == {}


def test_a_sync_without_remote_ids_leaves_the_registry_alone(emulators, sandbox, connections, warehouse):
    # GIVEN listings created by the eBay listing sync
    wh = content_warehouse(warehouse)
    wh.replace("marketplace_listing_content", content_rows(2, "ebay"))
    run_sync(listing_sync("ebay"), connections=listing_connections(sandbox.url), warehouse=wh.path)
    before = wh.query("select * from activation.listing_ids order by record_key")
    # WHEN an audience sync (no remote ids) adds and then removes members
    wh.replace("audience_members", audience_rows("champions", range(1, 4)))
    run_sync(audience_sync("meta"), connections=connections, warehouse=wh.path)
    wh.replace("audience_members", [])
    run_sync(audience_sync("meta"), connections=connections, warehouse=wh.path, confirm_removals=True)
    # THEN the registry is exactly as the listing sync left it
    assert wh.query("select * from activation.listing_ids order by record_key") == before
