"""Amazon stock PATCHes in flight: the sync's concurrency bounds them across the run's batches.

patchListingsItem allows 5 requests/s, burst 10 (Listings Items API 2021-08-01, usage plan). An answer takes a few
hundred milliseconds, so one PATCH at a time gets a seller well under that rate; ``rate_limit.concurrency`` PATCHes
go out at once and the token bucket keeps the rate.
"""

from __future__ import annotations

import threading
import time

import pytest
from activation_fixtures import feed_rows, feed_sync

from narrowcast.activation import run_sync
from narrowcast.activation.report import SyncFailed
from narrowcast.http.client import FatalApiError, HttpClient


@pytest.fixture
def patches_in_flight(monkeypatch):
    """The most PATCH requests that were in flight at once (each held ~20 ms so that overlaps show)."""
    seen = {"now": 0, "most": 0}
    lock = threading.Lock()
    request = HttpClient.request

    def counting(self, method, *args, **kwargs):
        if method != "PATCH":
            return request(self, method, *args, **kwargs)
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            time.sleep(0.02)
            return request(self, method, *args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(HttpClient, "request", counting)
    return seen


@pytest.mark.parametrize(("concurrency", "batch_size"), [(1, 40), (3, 40), (3, 10)])
def test_patches_in_flight_never_exceed_the_syncs_concurrency(
        emulators, connections, warehouse, patches_in_flight, concurrency, batch_size):
    # GIVEN 40 stock changes for Amazon, under the feed threshold (one PATCH each), in one batch or in four
    warehouse.replace("marketplace_listing_feed", feed_rows(40, ("amazon",), quantity=7))
    spec = feed_sync("amazon", batch_size=batch_size,
                     rate_limit={"rps": 500, "burst": 50, "concurrency": concurrency})
    # WHEN the sync runs
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN every row is accepted and Amazon holds the new quantities
    assert (report.accepted, report.rejected) == (40, 0)
    listings = emulators["amazon_listings"].snapshot()["listings"]
    assert emulators["amazon_listings"].calls["patchListingsItem"] == 40
    changed = {sku: v["quantity"] for sku, v in listings.items() if v["price"] is not None}
    assert len(changed) == 40 and set(changed.values()) == {7}
    # AND exactly `concurrency` PATCHes were in flight at the busiest moment: one batch uses all of it, and four
    # batches sent side by side by the engine's workers do not multiply it
    assert patches_in_flight["most"] == concurrency


def test_a_fatal_answer_stops_the_patches_not_yet_sent(emulators, connections, warehouse, monkeypatch):
    # GIVEN 40 stock changes sent three at a time, and Amazon refusing the fifth PATCH with an error not worth
    # retrying (as a revoked seller authorisation is)
    warehouse.replace("marketplace_listing_feed", feed_rows(40, ("amazon",), quantity=7))
    spec = feed_sync("amazon", batch_size=40, rate_limit={"rps": 500, "burst": 50, "concurrency": 3})
    sent = {"n": 0}
    lock = threading.Lock()
    request = HttpClient.request

    def refusing(self, method, url, *args, **kwargs):
        if method == "PATCH":
            with lock:
                sent["n"] += 1
                n = sent["n"]
            time.sleep(0.02)
            if n == 5:
                raise FatalApiError("amazon_sp_api", method, url, 403, "Access to requested resource is denied.")
        return request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(HttpClient, "request", refusing)
    # WHEN the sync runs
    with pytest.raises(SyncFailed):
        run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the run fails without sending the rest of the batch: at most the PATCHes already in flight follow
    assert 5 <= sent["n"] <= 5 + 3
