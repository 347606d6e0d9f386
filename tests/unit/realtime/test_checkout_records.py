"""Shopify's checkout shapes (the abandonedCheckouts answer, the checkouts/create webhook) become one raw row."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from narrowcast.contracts.windows import Window
from narrowcast.sources.shopify_checkouts.records import (
    checkout_line_records,
    checkout_record,
    order_record,
    webhook_checkout_line_records,
    webhook_checkout_record,
)
from narrowcast.sources.shopify_checkouts.webhooks import CHECKOUT_TOPICS, deliveries

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_a_polled_checkout_keeps_its_recovery_url_buyer_consent_and_presentment_cart_value():
    node = fixture("abandoned_checkouts_page.json")["data"]["abandonedCheckouts"]["edges"][0]["node"]
    record = checkout_record(node, "page 1")
    assert record["id"] == 27683349
    assert record["customer_id"] == 544365967
    assert record["email"] == "bob.norman@mail.example.com"
    assert record["accepts_marketing"] is True
    assert record["recovery_url"].endswith("/recover?key=abc")
    assert (record["currency"], record["total_price"]) == ("EUR", Decimal("90.0"))
    assert (record["presentment_currency"], record["total_price_presentment"]) == ("USD", Decimal("97.2"))
    assert record["updated_at"] == datetime(2026, 11, 30, 9, 15, 42)
    [line] = checkout_line_records(node, "page 1")
    assert line == {"checkout_id": 27683349, "position": 1, "sku": "IPOD2008PINK", "title": "IPod Nano - 8GB",
                    "variant_title": "Pink", "product_id": 632910392, "variant_id": 49148385, "quantity": 2,
                    "price": Decimal("45.0"), "price_presentment": Decimal("48.6"),
                    "line_total_presentment": Decimal("97.2"),
                    "image_url": "https://cdn.shopify.com/s/files/1/0001/ipod-nano.png"}


def test_a_webhook_checkout_is_keyed_like_the_polled_one_and_carries_token_and_consent():
    payload = fixture("checkouts_create_webhook.json")
    record = webhook_checkout_record(payload, "webhook")
    assert record["id"] == 981820079255243537
    assert record["token"] == "123123123"
    assert record["accepts_marketing"] is False
    assert record["customer_id"] == 603851970716743426
    assert record["email"] == "example@email.com"
    assert record["updated_at"] == datetime(2022, 1, 1, 0, 0)  # -05:00 → UTC
    assert record["seen_via"] == "webhook"
    [line] = webhook_checkout_line_records(payload, "webhook")
    assert (line["sku"], line["quantity"], line["price_presentment"], line["line_total_presentment"]) == (
        "SKU2006-001", 1, Decimal("199.99"), Decimal("199.99"))


def test_an_orders_create_webhook_names_the_checkout_it_completed():
    order = {"id": 820982911946154508, "email": "jon@example.com", "created_at": "2026-11-30T10:00:00-05:00",
             "updated_at": "2026-11-30T10:00:00-05:00", "checkout_id": 901414060, "checkout_token": "bd5a8aa1",
             "customer": {"id": 115310627314723954}}
    record = order_record(order, "webhook", seen_via="webhook")
    assert (record["checkout_id"], record["checkout_token"], record["customer_id"]) == (901414060, "bd5a8aa1",
                                                                                         115310627314723954)


def test_the_inbox_reader_keeps_deliveries_updated_in_the_window_and_never_deletes(tmp_path):
    folder = tmp_path / "checkouts_create"
    folder.mkdir()
    payload = fixture("checkouts_create_webhook.json")
    inside = {**payload, "updated_at": "2026-11-30T10:00:00Z"}
    outside = {**payload, "id": 2, "updated_at": "2026-11-30T08:00:00Z"}
    for name, body in (("a.json", inside), ("b.json", outside)):
        (folder / name).write_text(json.dumps({"topic": "checkouts/create", "webhook_id": name, "payload": body}))
    stale = folder / "old.json"
    stale.write_text(json.dumps({"topic": "checkouts/create", "payload": inside}))
    os.utime(stale, (time.time() - 10 * 365 * 86400,) * 2)  # written long before the window: never opened
    found = list(deliveries(tmp_path, CHECKOUT_TOPICS, Window(datetime(2026, 11, 30, 9), datetime(2026, 11, 30, 11))))
    assert [p["id"] for p, _ in found] == [payload["id"]]
    assert sorted(p.name for p in folder.iterdir()) == ["a.json", "b.json", "old.json"]
