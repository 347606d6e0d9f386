"""End to end against the emulators in-process: a checkout abandoned in the shop becomes exactly one Klaviyo
event with its items, recovery URL and a code that exists in the shop."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from realtime_fixtures import connections, now

from narrowcast.realtime import abandoned_checkouts as flow
from narrowcast.realtime.holdout import Holdout
from narrowcast.realtime.offers import Offer, campaign_offer
from narrowcast.warehouse import connect

NO_HOLDOUT = Holdout(0.0, "salt")


def run(sandbox, tmp_path: Path, at: datetime | None = None) -> flow.Report:
    shopify, klaviyo_conn = connections(sandbox.url)
    return flow.run(shopify, klaviyo_conn, warehouse=tmp_path / "wh.duckdb", data_dir=tmp_path, now=at or now(),
                    holdout=NO_HOLDOUT, offer=campaign_offer("abandoned_cart"))


def abandon(shop, checkout_id=4242, minutes_ago=61, **extra):
    return shop.put_checkout(checkout_id, customer_id=77, email="ada@example.com", currency="USD", rate="1.08",
                             updated_at=now() - timedelta(minutes=minutes_ago),
                             lines=[{"sku": "MUG-1", "title": "Mug", "quantity": 2, "price": "12.50"},
                                    {"sku": "TEE-2", "title": "Tee", "quantity": 1, "price": "20.00"}], **extra)


def test_an_abandoned_checkout_gives_one_event_with_its_cart_and_a_code_the_shop_has(sandbox, shop, klaviyo,
                                                                                     tmp_path):
    abandon(shop)
    report = run(sandbox, tmp_path)
    assert (report.qualified, report.codes_created, report.sent) == (1, 1, 1)
    [event] = klaviyo.events.values()
    assert event["metric"] == "Checkout Abandoned"
    assert event["unique_id"] == "abandoned_cart:4242"
    properties = event["properties"]
    assert properties["CheckoutURL"].startswith("https://narrowcast-demo.myshopify.com/checkouts/4242/recover")
    assert properties["Currency"] == "USD"
    assert [(i["ProductName"], i["SKU"], i["Quantity"], i["ItemPrice"]) for i in properties["Items"]] == [
        ("Mug", "MUG-1", 2, 12.5), ("Tee", "TEE-2", 1, 20.0)]
    assert all(i["ImageURL"] for i in properties["Items"])
    assert properties["Recommendations"] == []
    code = properties["DiscountCode"]
    assert code in shop.codes
    with connect(tmp_path / "wh.duckdb") as wh:
        assert wh.rows("select code, campaign, checkout_id, value_type, value, usage_limit "
                       "from activation.discount_codes") == [
            {"code": code, "campaign": "abandoned_cart", "checkout_id": "4242", "value_type": "percentage",
             "value": Decimal("10.00"), "usage_limit": 1}]
    # WHEN the trigger runs again THEN nothing more goes out
    again = run(sandbox, tmp_path)
    assert (again.sent, len(klaviyo.events), klaviyo.duplicate_events) == (0, 1, 0)


def test_an_order_before_the_quiet_period_ends_sends_nothing(sandbox, shop, klaviyo, tmp_path):
    abandon(shop, minutes_ago=30)
    first = run(sandbox, tmp_path)
    assert (first.waiting, first.sent) == (1, 0)
    # The buyer orders (landed orders/create webhook, as the receiver writes it) before the hour is over.
    inbox = tmp_path / "landing" / "webhooks" / "shopify" / "orders_create"
    inbox.mkdir(parents=True)
    ordered = (now() - timedelta(minutes=5)).isoformat() + "Z"
    (inbox / "w1.json").write_text(json.dumps({"topic": "orders/create", "webhook_id": "w1", "payload": {
        "id": 5001, "email": "ADA@example.com", "created_at": ordered, "updated_at": ordered,
        "checkout_id": 4242, "customer": None}}))
    later = run(sandbox, tmp_path, at=now() + timedelta(minutes=40))
    assert (later.sent, later.skipped["recovered"], len(klaviyo.events)) == (0, 1, 0)


def test_a_completed_checkout_counts_as_recovered(sandbox, shop, klaviyo, tmp_path):
    abandon(shop)
    shop.complete_checkout(4242, at=now() - timedelta(minutes=1))
    report = run(sandbox, tmp_path)
    assert (report.sent, report.skipped["recovered"]) == (0, 1)


def test_a_klaviyo_outage_delays_the_event_and_never_doubles_it(sandbox, shop, klaviyo, tmp_path):
    abandon(shop)
    sandbox.faults("klaviyo", error_share=1.0)
    during = run(sandbox, tmp_path)
    assert (during.codes_created, during.sent, during.waiting_for_klaviyo, len(klaviyo.events)) == (1, 0, 1, 0)
    sandbox.faults("klaviyo")
    after = run(sandbox, tmp_path)
    assert (after.codes_created, after.sent) == (0, 1)
    assert run(sandbox, tmp_path).sent == 0
    assert (len(klaviyo.events), klaviyo.duplicate_events) == (1, 0)


def test_a_crash_between_send_and_state_commit_resends_under_the_same_unique_id(sandbox, shop, klaviyo, tmp_path):
    abandon(shop)
    run(sandbox, tmp_path)
    with connect(tmp_path / "wh.duckdb") as wh:  # the state as a crash right after the send would leave it
        wh.execute("update activation.realtime_checkouts set status = 'code_ready', sent_at = null")
    assert run(sandbox, tmp_path).sent == 1
    assert (len(klaviyo.events), klaviyo.duplicate_events) == (1, 1)


def test_a_code_that_fails_to_create_holds_the_event_back_until_a_later_run(sandbox, shop, klaviyo, tmp_path):
    for checkout_id in (1, 2, 3):
        abandon(shop, checkout_id=checkout_id)
    shop.fail_next_codes(1)  # the first code makes the day's discount; the next one added in bulk fails
    failed = run(sandbox, tmp_path)
    assert (failed.codes_created, failed.codes_failed, failed.sent) == (2, 1, 2)
    retried = run(sandbox, tmp_path)
    assert (retried.codes_created, retried.codes_failed, retried.sent) == (1, 0, 1)
    assert sorted(e["unique_id"] for e in klaviyo.events.values()) == [
        "abandoned_cart:1", "abandoned_cart:2", "abandoned_cart:3"]
    assert {e["properties"]["DiscountCode"] for e in klaviyo.events.values()} <= set(shop.codes)


def test_checkouts_without_an_email_or_consent_are_counted_not_sent(sandbox, shop, klaviyo, tmp_path):
    shop.put_checkout(10, lines=[{"sku": "A", "title": "A", "price": "5"}], updated_at=now() - timedelta(hours=2))
    abandon(shop, checkout_id=11, accepts_marketing=False)
    report = run(sandbox, tmp_path)
    assert (report.sent, report.skipped["no_email"], report.skipped["no_consent"]) == (0, 1, 1)


def test_the_seed_gives_the_abandoned_cart_offer():
    assert campaign_offer("abandoned_cart") == Offer("abandoned_cart", "percentage", Decimal("10"), 7, 1)


def test_a_checkout_seen_by_webhook_and_by_polling_is_one_row_with_what_each_told(sandbox, shop, klaviyo, tmp_path):
    abandon(shop)
    # GIVEN the same checkout landed as a checkouts/update webhook (REST shape: token, buyer consent)
    inbox = tmp_path / "landing" / "webhooks" / "shopify" / "checkouts_update"
    inbox.mkdir(parents=True)
    updated = (now() - timedelta(minutes=61)).isoformat() + "Z"
    (inbox / "w2.json").write_text(json.dumps({"topic": "checkouts/update", "webhook_id": "w2", "payload": {
        "id": 4242, "token": "tok-4242", "email": "ada@example.com", "buyer_accepts_marketing": True,
        "created_at": updated, "updated_at": updated, "currency": "EUR", "presentment_currency": "USD",
        "total_price": "48.60", "line_items": [{"title": "Mug", "quantity": 2, "sku": "MUG-1", "price": "12.50"}],
        "customer": {"id": 77}}}))
    # WHEN the trigger runs THEN the raw table holds one row for it, keeping the webhook's token
    report = run(sandbox, tmp_path)
    with connect(tmp_path / "wh.duckdb") as wh:
        assert wh.fetchall("select id, token, seen_via from raw.shop_abandoned_checkouts") == [
            (4242, "tok-4242", "poll")]
        assert wh.scalar("select count(*) from raw.shop_abandoned_checkout_lines") == 2
    assert (report.sent, len(klaviyo.events)) == (1, 1)


def test_a_run_sends_its_events_in_one_bulk_request(sandbox, shop, klaviyo, tmp_path, monkeypatch):
    # GIVEN five checkouts of one customer that qualify in the same run
    for checkout_id in range(5001, 5006):
        abandon(shop, checkout_id=checkout_id)
    paths: list[str] = []
    post_json = flow.klaviyo.KlaviyoApi.post_json

    def counting(self, path, body, *args, **kwargs):
        paths.append(path)
        return post_json(self, path, body, *args, **kwargs)

    monkeypatch.setattr(flow.klaviyo.KlaviyoApi, "post_json", counting)
    report = run(sandbox, tmp_path)
    # THEN all five events went in one bulk-create request, each checkout its own event
    assert report.sent == 5 and paths == ["api/event-bulk-create-jobs"]
    assert sorted(e["unique_id"] for e in klaviyo.events.values()) == [
        f"abandoned_cart:{checkout_id}" for checkout_id in range(5001, 5006)]
