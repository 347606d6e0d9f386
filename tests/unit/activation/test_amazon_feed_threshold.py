"""The Amazon stock push sends one PATCH per SKU up to 1,500 rows in a batch and a JSON_LISTINGS_FEED above: Amazon
recommends the feed from 1,500 item updates and the Listings Items API below (see DEFAULT_FEED_THRESHOLD)."""

from __future__ import annotations

import pytest

from narrowcast.activation.destinations.amazon_listings import DEFAULT_FEED_THRESHOLD, AmazonListings
from narrowcast.activation.destinations.base import Batch, Change, RowResult, SendContext
from narrowcast.contracts.connections import Connection
from narrowcast.http import TokenBucket


def _routes(rows: int, **extra: object) -> dict[str, int]:
    connection = Connection("narrowcast_amazon", "http://127.0.0.1:9/amazon", password="token",
                            extra={"seller_id": "A2SELLER", "marketplace_id": "A1PA6795UKMFR9", **extra})
    destination = AmazonListings(SendContext(connection, {}, "listing", TokenBucket(1e6, 1e6)))
    calls = {"patch": 0, "feed": 0}

    def patch(change: Change) -> RowResult:
        calls["patch"] += 1
        return RowResult(change.key, "accepted")

    def feed(changes: list[Change]) -> list[RowResult]:
        calls["feed"] += 1
        return [RowResult(c.key, "accepted") for c in changes]

    destination._patch, destination._feed = patch, feed
    changes = [Change(f"sku-{i}", "add", {"sku": f"sku-{i}", "quantity": 3, "price": 19.9}, None) for i in range(rows)]
    results = destination.send(Batch(run_id="run", kind="upsert", seq=1, total=1, changes=changes))
    assert [r.outcome for r in results] == ["accepted"] * rows
    return calls


@pytest.mark.parametrize("rows, expected", [
    pytest.param(238, {"patch": 238, "feed": 0}, id="the demo's 238 SKUs: one PATCH each"),
    pytest.param(1000, {"patch": 1000, "feed": 0}, id="a thousand SKUs still patched (Amazon: below 1,500)"),
    pytest.param(1500, {"patch": 1500, "feed": 0}, id="1,500 SKUs: the last batch size patched"),
    pytest.param(1501, {"patch": 0, "feed": 1}, id="above 1,500: one feed"),
])
def test_the_default_threshold_follows_amazons_advice(rows, expected):
    assert DEFAULT_FEED_THRESHOLD == 1500
    assert _routes(rows) == expected


def test_the_connection_may_set_its_own_threshold():
    assert _routes(51, feed_threshold=50) == {"patch": 0, "feed": 1}
    assert _routes(50, feed_threshold=50) == {"patch": 50, "feed": 0}
