"""The marketplace destinations refuse a price below its minimum advertised price: rejected, never sent."""

from __future__ import annotations

import pytest
from activation_fixtures import FEED_SYNCS, feed_rows, feed_sync

from narrowcast.activation import run_sync

WITH_FLOOR = {marketplace: {**FEED_SYNCS[marketplace]["fields"], "price_floor": "map_floor"}
              for marketplace in ("ebay", "amazon")}


def offers_of(emulators, marketplace: str) -> dict:
    return emulators["ebay_inventory"].offers if marketplace == "ebay" else emulators["amazon_listings"].listings


@pytest.mark.parametrize("marketplace", [pytest.param("ebay", id="ebay offer"),
                                         pytest.param("amazon", id="amazon listing")])
def test_a_feed_row_priced_below_its_map_floor_is_rejected_and_never_reaches_the_marketplace(
        emulators, connections, warehouse, marketplace):
    # GIVEN a feed whose first row is priced under its floor (a hand-edited mart) and the others at theirs
    warehouse.execute("alter table marketplace_listing_feed add column if not exists map_floor decimal(18,2)")
    rows = feed_rows(30, (marketplace,))
    for row in rows:
        row["map_floor"] = row["price"]
    rows[0]["map_floor"] = rows[0]["price"] + 1
    warehouse.replace("marketplace_listing_feed", rows)
    before = {key: dict(value) for key, value in offers_of(emulators, marketplace).items()}
    # WHEN the stock sync runs with the floor mapped
    report = run_sync(feed_sync(marketplace, fields=WITH_FLOOR[marketplace]), connections=connections,
                      warehouse=warehouse.path)
    # THEN the row below its floor is rejected and left untouched on the marketplace; rows at their floor go
    assert (report.accepted, report.rejected) == (29, 1)
    below = str(rows[0]["listing_id"])
    assert offers_of(emulators, marketplace).get(below) == before.get(below)
