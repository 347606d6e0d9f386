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
        "sku": rows[1]["sku"], "status": "PUBLISHED", "listing_status": "ACTIVE", "quantity": 4,
        "price": f"{rows[1]['price']:.2f}", "currency": rows[1]["currency"], "revisions": 0}


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


def _sell_out_and_restock(emulators, connections, warehouse) -> tuple[str, dict, dict]:
    """A live offer at 5 whose stock runs out (the feed keeps it active at 0: zero_stock = keep_listed), then
    returns at 3; eBay's calls and the offer's listing status after each run."""
    rows = feed_rows(1, ("ebay",))
    rows[0]["quantity"] = 5
    warehouse.replace("marketplace_listing_feed", rows)
    run_sync(feed_sync("ebay"), connections=connections, warehouse=warehouse.path)
    offer_id = str(rows[0]["listing_id"])
    inventory = emulators["ebay_inventory"]
    seen: dict = {}
    for step, quantity in (("sold out", 0), ("restocked", 3)):
        inventory.calls.clear()
        rows[0]["quantity"], rows[0]["status"] = quantity, "active"
        warehouse.replace("marketplace_listing_feed", rows)
        report = run_sync(feed_sync("ebay"), connections=connections, warehouse=warehouse.path)
        offer = inventory.offers[offer_id]
        seen[step] = {"accepted": report.accepted, "calls": dict(inventory.calls), "status": offer["status"],
                      "listing": offer.get("listing_status"), "quantity": offer["quantity"]}
    return offer_id, seen["sold out"], seen["restocked"]


def test_with_the_out_of_stock_option_a_sold_out_listing_stays_alive_and_comes_back_without_a_relist(
        emulators, connections, warehouse):
    # GIVEN the seller's out-of-stock option on (the sandbox seller's default)
    assert emulators["ebay_inventory"].out_of_stock_control
    # WHEN a listing kept at 0 by the feed sells out, then its stock returns
    _, sold_out, restocked = _sell_out_and_restock(emulators, connections, warehouse)
    # THEN running out is one quantity update in the bulk call, no withdrawal: the listing stays, out of stock
    assert sold_out == {"accepted": 1, "calls": {"bulk_update_price_quantity": 1}, "status": "PUBLISHED",
                        "listing": "OUT_OF_STOCK", "quantity": 0}
    # and coming back is one read of the offer (still live) and the update: nothing to publish
    assert restocked == {"accepted": 1, "calls": {"getOffer": 1, "bulk_update_price_quantity": 1},
                         "status": "PUBLISHED", "listing": "ACTIVE", "quantity": 3}


def test_without_the_out_of_stock_option_ebay_ends_the_listing_at_0_and_the_sync_relists_it(
        emulators, connections, warehouse):
    # GIVEN a seller whose out-of-stock option is off (the feed says keep_listed all the same)
    emulators["ebay_inventory"].out_of_stock_control = False
    # WHEN the listing sells out, then its stock returns
    _, sold_out, restocked = _sell_out_and_restock(emulators, connections, warehouse)
    # THEN eBay ended it at 0 ...
    assert (sold_out["listing"], sold_out["quantity"]) == ("ENDED", 0)
    # ... and the returning stock finds it ended, publishes it and sets its quantity: nothing is lost
    assert restocked == {"accepted": 1, "calls": {"getOffer": 1, "publish": 1, "bulk_update_price_quantity": 1},
                         "status": "PUBLISHED", "listing": "ACTIVE", "quantity": 3}
