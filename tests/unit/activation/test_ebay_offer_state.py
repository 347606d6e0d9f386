"""eBay Inventory against the emulator: relist and withdraw decided from getOffer's state, documented errorIds only."""

from __future__ import annotations

from activation_fixtures import feed_rows, feed_sync

from narrowcast.activation import run_sync


def test_a_row_back_from_withdrawn_is_published_because_get_offer_shows_it_unpublished(
        emulators, connections, warehouse):
    # GIVEN an offer withdrawn by an earlier run
    rows = feed_rows(3, ("ebay",))
    rows[1]["quantity"], rows[1]["status"] = 0, "withdrawn"
    warehouse.replace("marketplace_listing_feed", rows)
    run_sync(feed_sync("ebay"), connections=connections, warehouse=warehouse.path)
    offer_id = str(rows[1]["listing_id"])
    assert emulators["ebay_inventory"].offers[offer_id]["status"] == "UNPUBLISHED"
    # WHEN its stock returns
    rows[1]["quantity"], rows[1]["status"] = 4, "active"
    warehouse.replace("marketplace_listing_feed", rows)
    report = run_sync(feed_sync("ebay"), connections=connections, warehouse=warehouse.path)
    # THEN getOffer was asked, the offer published and its quantity set
    calls = emulators["ebay_inventory"].calls
    assert report.accepted == 1 and calls["getOffer"] == 1 and calls["publish"] == 1
    assert emulators["ebay_inventory"].offers[offer_id] | {"revisions": 0} == {
        "sku": rows[1]["sku"], "status": "PUBLISHED", "quantity": 4, "price": f"{rows[1]['price']:.2f}",
        "currency": rows[1]["currency"], "revisions": 0}


def test_withdrawing_an_offer_that_is_already_unpublished_counts_as_done(emulators, connections, warehouse):
    # GIVEN an offer the merchant already ended on eBay
    rows = feed_rows(2, ("ebay",))
    emulators["ebay_inventory"].offers[str(rows[0]["listing_id"])]["status"] = "UNPUBLISHED"
    rows[0]["quantity"], rows[0]["status"] = 0, "withdrawn"
    warehouse.replace("marketplace_listing_feed", rows)
    # WHEN the feed withdraws it
    report = run_sync(feed_sync("ebay"), connections=connections, warehouse=warehouse.path)
    # THEN eBay's refusal (a generic 25002) is settled by the offer's state, not by an errorId
    assert (report.accepted, report.rejected) == (2, 0)
    assert emulators["ebay_inventory"].calls["getOffer"] == 1


def test_an_unpublished_offer_takes_price_and_quantity_without_an_invented_error(emulators, connections, warehouse):
    # GIVEN an offer that is unpublished (eBay's bulkUpdatePriceQuantity updates it all the same)
    rows = feed_rows(1, ("ebay",))
    offer = emulators["ebay_inventory"].offers[str(rows[0]["listing_id"])]
    offer["status"] = "UNPUBLISHED"
    warehouse.replace("marketplace_listing_feed", rows)
    # WHEN the sync sets its quantity
    report = run_sync(feed_sync("ebay"), connections=connections, warehouse=warehouse.path)
    # THEN the update is accepted, the offer holds the quantity and nobody published what the merchant unpublished
    assert report.accepted == 1 and offer["quantity"] == rows[0]["quantity"] and offer["status"] == "UNPUBLISHED"
