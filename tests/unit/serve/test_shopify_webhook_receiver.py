"""The Shopify webhook receiver lands every verified delivery exactly once and refuses everything else."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from narrowcast.serve.shopify_webhooks import WebhookConfig, signature, webhook_app
from narrowcast.serve.webhook_inbox import Delivery, land, landed_path

SECRET = "shpss_test_client_secret"
SHOP = "narrowcast-demo.myshopify.com"
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
# Shaped after the checkouts/create example of Shopify's webhook reference (https://shopify.dev/docs/api/webhooks,
# topic checkouts/create): REST field names, money as strings, ids as numbers.
CHECKOUT = {
    "id": 981820079255243500,
    "token": "123123123",
    "cart_token": "eeafa272cebfd4b22385bc4b645e762c",
    "email": "example@email.com",
    "created_at": "2026-12-06T09:59:00-05:00",
    "updated_at": "2026-12-06T09:59:00-05:00",
    "currency": "USD",
    "total_price": "398.00",
    "customer": {"id": 603851970716743400},
    "abandoned_checkout_url": "https://checkout.local/checkouts/123123123/recover",
    "line_items": [{"sku": "IPOD2008PINK", "quantity": 1, "price": "199.00", "variant_id": 808950810}],
}


@pytest.fixture
def config(tmp_path: Path) -> WebhookConfig:
    return WebhookConfig(secrets=(SECRET,), shop_domains=frozenset({SHOP}), inbox=tmp_path / "inbox",
                         max_body_bytes=64 * 1024)


@pytest.fixture
def client(config: WebhookConfig) -> TestClient:
    return TestClient(webhook_app(config, clock=lambda: NOW))


def delivery(body: bytes | None = None, *, secret: str = SECRET, **overrides: str | None) -> dict:
    body = json.dumps(CHECKOUT).encode() if body is None else body
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "checkouts/create",
        "X-Shopify-Hmac-Sha256": signature(secret, body),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": (NOW - timedelta(seconds=3)).isoformat().replace("+00:00", "Z"),
    }
    for name, value in overrides.items():
        header = "X-Shopify-" + name.replace("_", "-")
        if value is None:
            headers.pop(header)
        else:
            headers[header] = value
    return {"content": body, "headers": headers}


def landed_files(config: WebhookConfig) -> list[Path]:
    return sorted(config.inbox.rglob("*.json"))


def test_a_verified_delivery_lands_once_with_its_headers_and_the_exact_payload(client, config):
    # GIVEN a signed checkouts/create delivery
    request = delivery()
    # WHEN Shopify posts it
    answer = client.post("/webhooks/shopify", **request)
    # THEN it is acknowledged and lands at the inbox path of its topic and webhook id
    assert answer.status_code == 200 and answer.json() == {"landed": True, "duplicate": False}
    webhook_id = request["headers"]["X-Shopify-Webhook-Id"]
    path = landed_path(config.inbox, "checkouts/create", webhook_id)
    assert path == config.inbox / "checkouts_create" / f"{webhook_id}.json"
    landed = json.loads(path.read_text())
    assert landed == {"topic": "checkouts/create", "shop_domain": SHOP, "webhook_id": webhook_id,
                      "triggered_at": request["headers"]["X-Shopify-Triggered-At"],
                      "received_at": "2026-12-06T10:00:00.000000Z", "payload": CHECKOUT}
    assert landed_files(config) == [path], "no temporary file is left beside it"


def test_a_retried_delivery_is_acknowledged_and_not_written_again(client, config):
    request = delivery()
    assert client.post("/webhooks/shopify", **request).json()["landed"] is True
    path = landed_files(config)[0]
    before = path.stat().st_mtime_ns
    again = client.post("/webhooks/shopify", **request)
    assert again.status_code == 200 and again.json() == {"landed": False, "duplicate": True}
    assert landed_files(config) == [path] and path.stat().st_mtime_ns == before


@pytest.mark.parametrize(("change", "status", "error"), [
    pytest.param({"secret": "another-secret"}, 401, "bad_hmac", id="a body signed with another secret"),
    pytest.param({"Hmac_Sha256": None}, 401, "bad_hmac", id="no signature header"),
    pytest.param({"Hmac_Sha256": "not base64!"}, 401, "bad_hmac", id="a signature that is not base64"),
    pytest.param({"Shop_Domain": "someone-else.myshopify.com"}, 403, "unknown_shop", id="a shop not configured"),
    pytest.param({"Topic": "products/update"}, 422, "unsupported_topic", id="a topic not accepted"),
    pytest.param({"Topic": None}, 400, "missing_header:x-shopify-topic", id="no topic header"),
    pytest.param({"Webhook_Id": "../../etc/passwd"}, 400, "bad_header:x-shopify-webhook-id",
                 id="a webhook id that is no file name"),
    pytest.param({"Triggered_At": None}, 400, "missing_header:x-shopify-triggered-at", id="no triggered-at"),
    pytest.param({"Triggered_At": "yesterday"}, 400, "bad_header:x-shopify-triggered-at",
                 id="a triggered-at that is no timestamp"),
    pytest.param({"Triggered_At": "2026-12-03T09:00:00Z"}, 400, "stale_webhook",
                 id="a webhook triggered before the replay window"),
    pytest.param({"Triggered_At": "2026-12-06T13:00:00Z"}, 400, "triggered_in_future",
                 id="a webhook triggered hours in the future"),
])
def test_a_refused_delivery_is_answered_with_its_reason_and_lands_nothing(client, config, change, status, error):
    secret = change.pop("secret", SECRET)
    answer = client.post("/webhooks/shopify", **delivery(secret=secret, **change))
    assert (answer.status_code, answer.json()) == (status, {"error": error})
    assert landed_files(config) == []


@pytest.mark.parametrize("body", [
    pytest.param(b'{"id": 1', id="truncated JSON"),
    pytest.param(b'[{"id": 1}]', id="a JSON array, not an object"),
    pytest.param(b'{"total": NaN}', id="NaN, which JSON does not have"),
    pytest.param(b"\xff\xfe{}", id="bytes that are not UTF-8"),
])
def test_a_signed_body_that_is_not_a_json_object_is_refused(client, config, body):
    answer = client.post("/webhooks/shopify", **delivery(body))
    assert (answer.status_code, answer.json()) == (400, {"error": "malformed_json"})
    assert landed_files(config) == []


def test_a_body_over_the_limit_is_refused_whether_or_not_it_declares_its_length(client, config):
    big = json.dumps({**CHECKOUT, "note": "x" * 70_000}).encode()
    assert client.post("/webhooks/shopify", **delivery(big)).status_code == 413

    def chunks():
        yield big[:40_000]
        yield big[40_000:]

    request = delivery(big)
    streamed = client.post("/webhooks/shopify", content=chunks(), headers=request["headers"])
    assert (streamed.status_code, streamed.json()) == (413, {"error": "body_too_large"})
    assert landed_files(config) == []


def test_the_previous_secret_still_verifies_during_a_rotation(config):
    rotating = WebhookConfig(secrets=("new-secret", SECRET), shop_domains=config.shop_domains, inbox=config.inbox)
    client = TestClient(webhook_app(rotating, clock=lambda: NOW))
    assert client.post("/webhooks/shopify", **delivery(secret=SECRET)).status_code == 200
    assert client.post("/webhooks/shopify", **delivery(secret="new-secret")).status_code == 200
    assert len(landed_files(config)) == 2


def test_an_old_retry_of_a_landed_webhook_is_still_acknowledged(config):
    request = delivery()
    assert TestClient(webhook_app(config, clock=lambda: NOW)).post("/webhooks/shopify", **request).status_code == 200
    three_days_later = TestClient(webhook_app(config, clock=lambda: NOW + timedelta(days=3)))
    assert three_days_later.post("/webhooks/shopify", **request).json() == {"landed": False, "duplicate": True}


def test_out_of_order_deliveries_keep_their_triggered_at_so_readers_can_order_them(client, config):
    # GIVEN an update triggered after the create, delivered first
    update = delivery(Topic="checkouts/update", Triggered_At="2026-12-06T09:59:30Z")
    # (nanoseconds, as Shopify spells X-Shopify-Triggered-At)
    create = delivery(Triggered_At="2026-12-06T09:59:00.877041743Z")
    for request in (update, create):
        assert client.post("/webhooks/shopify", **request).status_code == 200
    # THEN ordering the files by triggered_at puts the create first
    ordered = sorted((json.loads(p.read_text()) for p in landed_files(config)), key=lambda f: f["triggered_at"])
    assert [f["topic"] for f in ordered] == ["checkouts/create", "checkouts/update"]


def test_the_secret_never_reaches_the_log(client, caplog):
    caplog.set_level("DEBUG")
    client.post("/webhooks/shopify", **delivery(secret="another-secret"))
    client.post("/webhooks/shopify", **delivery())
    assert SECRET not in caplog.text and "example@email.com" not in caplog.text
    assert "bad_hmac" in caplog.text


def test_concurrent_deliveries_of_one_webhook_land_exactly_one_file(tmp_path):
    # GIVEN 16 threads landing the same webhook id at once
    body = json.dumps(CHECKOUT).encode()
    same = Delivery("checkouts/create", SHOP, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "2026-12-06T09:59:57Z", body)
    results: list[bool] = []
    start = threading.Barrier(16)

    def deliver() -> None:
        start.wait()
        results.append(land(tmp_path, same, "2026-12-06T10:00:00Z"))

    threads = [threading.Thread(target=deliver) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN exactly one of them wrote, and the inbox holds one complete file and nothing else
    assert results.count(True) == 1
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{same.webhook_id}.json"]
    assert json.loads(next(tmp_path.rglob("*.json")).read_text())["payload"] == CHECKOUT


def test_every_accepted_delivery_of_a_concurrent_burst_lands(config):
    # GIVEN 200 distinct deliveries plus a retry of each, sent concurrently
    requests = [delivery(json.dumps({**CHECKOUT, "id": n}).encode()) for n in range(200)]
    app = webhook_app(config, clock=lambda: NOW)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            answers = await asyncio.gather(*(http.post("/webhooks/shopify", **r) for r in requests + requests))
        return [a.status_code for a in answers]

    statuses = asyncio.run(burst())
    # THEN every one is acknowledged and each webhook id landed exactly once with its own payload
    assert statuses == [200] * 400
    files = landed_files(config)
    assert len(files) == 200
    assert sorted(json.loads(p.read_text())["payload"]["id"] for p in files) == list(range(200))


def test_the_configuration_reads_the_secret_and_shop_from_the_shopify_connection(tmp_path, monkeypatch):
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path))
    extra = json.dumps({"webhook_secret": SECRET, "shop_domain": SHOP})
    env = {"AIRFLOW_CONN_NARROWCAST_SHOPIFY": json.dumps({"conn_type": "https", "host": "127.0.0.1",
                                                           "password": "token", "extra": extra}),
           "NARROWCAST_WEBHOOK_TOPICS": "orders/create"}
    config = WebhookConfig.from_env(env)
    assert config.secrets == (SECRET,) and config.shop_domains == {SHOP} and config.topics == {"orders/create"}
    assert config.inbox == tmp_path / "landing" / "webhooks" / "shopify"
    assert SECRET not in repr(config)


def test_without_a_secret_the_receiver_does_not_start(tmp_path):
    from narrowcast.settings import ConfigError

    with pytest.raises(ConfigError, match="webhook_secret"):
        WebhookConfig.from_env({"NARROWCAST_SHOPIFY_SHOP_DOMAINS": SHOP})
