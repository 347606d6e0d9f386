"""Destination connectors against their emulators: partial failures read per row, rate limits, events."""

from __future__ import annotations

import dataclasses
import time

from activation_fixtures import audience_rows, audience_sync, feed_rows, feed_sync, sha

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.google_customer_match import GoogleCustomerMatch
from narrowcast.activation.destinations.meta_audiences import MetaCustomAudiences
from narrowcast.activation.spec import parse_sync
from narrowcast.http import TokenBucket


def context(connection, target, obj):
    return SendContext(connection=connection, target=target, object=obj, rate_limiter=TokenBucket(100, 10))


def test_google_partial_failure_is_mapped_back_to_the_row_by_operation_index(emulators, connections):
    # The engine never sends a bad hash; call the connector directly to see Google's per-operation answer.
    destination = GoogleCustomerMatch(context(connections["narrowcast_google_ads"],
                                              {"customer_id": "1234567890", "user_list_id": "9"}, "customer_match_list"))
    changes = [Change("c1", "add", {"hashedEmail": sha("a")}), Change("c2", "add", {"hashedEmail": "NOT-A-HASH"}),
               Change("c3", "add", {"hashedEmail": sha("c"), "hashedPhoneNumber": sha("p")})]
    results = destination.send(Batch("run", "upsert", 1, 1, changes))
    assert [(r.key, r.outcome) for r in results] == [("c1", "accepted"), ("c2", "rejected"), ("c3", "accepted")]
    assert results[1].reason == "Google rejected operation: hashedEmail is not a SHA-256 hex digest"
    assert sorted(emulators["google_customer_match"].user_lists["customers/1234567890/userLists/9"]) == sorted(
        [sha("a"), sha("c")])
    assert destination.api_calls == 3  # create, addOperations, run


def test_meta_invalid_entry_samples_reject_only_the_rows_they_name(emulators, connections):
    destination = MetaCustomAudiences(context(connections["narrowcast_meta"], {"audience_id": "77"}, "custom_audience"))
    changes = [Change("c1", "add", {"EMAIL": sha("a")}), Change("c2", "add", {"EMAIL": "deadbeef"})]
    results = destination.send(Batch("run", "upsert", 1, 1, changes))
    assert [(r.key, r.outcome) for r in results] == [("c1", "accepted"), ("c2", "rejected")]
    assert results[1].reason == "Meta invalid entry: EMAIL is not a SHA-256 hash"


def test_klaviyo_import_errors_reject_the_row_with_the_reason_and_keep_the_rest(emulators, connections, warehouse):
    rows = audience_rows("champions", range(4))
    rows[2]["email"] = "not-an-email"
    warehouse.replace("audience_members", rows)
    report = run_sync(audience_sync("klaviyo"), connections=connections, warehouse=warehouse.path,
                      rejected_threshold=1.0)
    assert (report.accepted, report.rejected) == (3, 1)
    (reason,) = warehouse.query("select reason from activation.sync_rejections where record_key = '2'")[0]
    assert reason == "Klaviyo import error: Invalid email address: The email is not valid."
    assert emulators["klaviyo"].snapshot()["lists"]["LIST1"] == ["0", "1", "3"]


def test_a_klaviyo_import_job_is_asked_soon_then_at_waits_that_double_up_to_the_poll_interval(
        emulators, connections, warehouse):
    """A small import job is done in moments, so the first look comes after a quarter second; a job still
    processing is asked after waits that double up to the connection's ``poll_interval_seconds`` (1 s)."""
    warehouse.replace("audience_members", audience_rows("champions", range(3)))
    emulators["klaviyo"].processing_polls = 5
    klaviyo = connections["narrowcast_klaviyo"]
    polled_each_second = {**connections, klaviyo.conn_id: dataclasses.replace(
        klaviyo, extra={**klaviyo.extra, "poll_interval_seconds": 1.0})}
    slept: list[float] = []
    report = run_sync(audience_sync("klaviyo"), connections=polled_each_second, warehouse=warehouse.path,
                      sleep=slept.append)
    assert (report.status, report.accepted) == ("success", 3)
    assert slept == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_abandoned_cart_events_fire_once_per_entry_and_again_after_re_entry(emulators, connections, warehouse):
    spec = parse_sync({
        "id": "test_cart_event", "model": "audience_members", "filter": {"audience_id": "abandoned_cart"},
        "destination": "klaviyo", "connection": "narrowcast_klaviyo", "object": "event",
        "target": {"metric": "Abandoned Cart"}, "key": "customer_id", "schedule": "audiences", "pii": ["email"],
        "fields": {"email": "email", "external_id": "customer_id", "properties.discount_code": "discount_code"},
        "max_remove_share": 1.0,  # one leaver of three members: a cart audience turns over by design
    })
    warehouse.replace("audience_members", audience_rows("abandoned_cart", range(3)))
    first = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # a changed discount code is not a new abandonment: no second e-mail
    changed = audience_rows("abandoned_cart", range(3))
    changed[0]["discount_code"] = "OTHER"
    warehouse.replace("audience_members", changed)
    second = run_sync(spec, connections=connections, warehouse=warehouse.path)
    events = emulators["klaviyo"].snapshot()["events"]
    # the three entering rows go as one bulk-create job
    assert (first.api_calls, second.api_calls, len(events)) == (1, 0, 3)
    assert events[0]["metric"] == "Abandoned Cart" and events[0]["properties"] == {"discount_code": "WB0"}
    # customer 1 leaves the segment and comes back: that is a new event (on another day it gets a new unique_id)
    warehouse.replace("audience_members", [r for r in changed if r["customer_id"] != 1])
    assert run_sync(spec, connections=connections, warehouse=warehouse.path).api_calls == 0
    warehouse.replace("audience_members", changed)
    again = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (again.planned_adds, again.api_calls) == (1, 1)
    # same day → Klaviyo de-duplicates by unique_id, so a crash-and-resend never e-mails twice either
    assert emulators["klaviyo"].snapshot()["duplicate_events"] == 1


def test_amazon_throttling_is_retried_until_every_patch_is_accepted(emulators, connections, warehouse):
    # GIVEN an account whose patchListingsItem plan (5 requests/s, burst 5) is stricter than the default one the
    # client paces by (burst 10), and a sync declaring more than either
    emulators["amazon_listings"].patch_rate = emulators["amazon_listings"].patch_burst = 5.0
    warehouse.replace("marketplace_listing_feed", feed_rows(12, ("amazon",)))
    spec = feed_sync("amazon", rate_limit={"rps": 50, "burst": 12, "concurrency": 1})
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN the 429s (+ x-amzn-RateLimit-Limit) were retried and nothing was lost
    assert (report.accepted, report.rejected) == (12, 0)
    assert report.api_calls > 12 and emulators["amazon_listings"].calls["patchListingsItem"] == 12
    assert all(v["quantity"] == 5 for v in emulators["amazon_listings"].snapshot()["listings"].values()
               if v["price"] is not None)


def test_the_declared_request_rate_is_respected(emulators, connections, warehouse):
    warehouse.replace("marketplace_listing_feed", feed_rows(30, ("shop",)))
    # one level per batch, so that the 30 rows make 60 requests (a compare-and-set read and a mutation each)
    spec = feed_sync("shop", batch_size=1, rate_limit={"rps": 20, "burst": 5, "concurrency": 2})
    started = time.monotonic()
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # 60 calls at 20/s after a burst of 5 take at least (60 - 5) / 20 s
    assert report.api_calls == 60 and time.monotonic() - started >= 55 / 20


def test_klaviyo_events_go_in_bulk_jobs_of_1000_with_external_ids_as_strings(emulators, connections, warehouse):
    # GIVEN 2,500 customers entering an event audience, keyed by a numeric customer id
    spec = parse_sync({
        "id": "test_bulk_event", "model": "audience_members", "filter": {"audience_id": "abandoned_cart"},
        "destination": "klaviyo", "connection": "narrowcast_klaviyo", "object": "event",
        "target": {"metric": "Abandoned Cart"}, "key": "customer_id", "schedule": "audiences", "pii": ["email"],
        "batch_size": 2_500,
        "fields": {"email": "email", "external_id": "customer_id", "properties.discount_code": "discount_code"},
    })
    warehouse.replace("audience_members", audience_rows("abandoned_cart", range(2_500)))
    # WHEN the sync runs
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN three bulk-create requests (the minimum at 1,000 events each) carried every event
    assert report.accepted == 2_500 and report.api_calls <= 1.05 * 3
    events = emulators["klaviyo"].snapshot()["events"]
    assert len(events) == 2_500
    # AND each profile's external_id went as the string Klaviyo's OpenAPI specifies
    assert all(isinstance(e["external_id"], str) for e in events)


def test_meta_one_key_alone_is_sent_with_the_sdks_single_key_schema_name(emulators, connections, warehouse):
    # GIVEN an audience sync that sends hashed e-mails only
    warehouse.replace("audience_members", audience_rows("champions", range(3)))
    spec = audience_sync("meta", fields={"EMAIL": "email_sha256"})
    # WHEN it runs
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    # THEN Meta took the rows under CustomAudience.Schema.EMAIL_SHA256 (a bare "EMAIL" is a multi-key name)
    assert report.accepted == 3
    assert len(emulators["meta_audiences"].snapshot()["audiences"]["2385000001"]) == 3
