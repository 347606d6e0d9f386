"""The Amazon Orders emulator applies a usage plan per operation and reports it in x-amzn-RateLimit-Limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from narrowcast.local_credentials import LOCAL_API_TOKEN
from narrowcast.sandbox.emulators import amazon
from narrowcast.sandbox.framework import create_app

HEADERS = {"x-amz-access-token": LOCAL_API_TOKEN}
ORDERS = {"MarketplaceIds": "A1PA6795UKMFR9", "LastUpdatedAfter": "2024-01-01T00:00:00Z",
          "LastUpdatedBefore": "2024-01-02T00:00:00Z"}


@pytest.fixture()
def client(world_dir: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    # A plan of one request and a slow refill, so the second request in a row is over it.
    monkeypatch.setitem(amazon.SANDBOX_PLAN, "getOrders", (0.01, 1.0))
    return TestClient(create_app(world_dir, only=["amazon_orders"]))


def test_an_answer_reports_the_plan_applied_and_a_request_over_it_is_refused_with_quota_exceeded(client):
    first = client.get("/amazon/orders/v0/orders", params=ORDERS, headers=HEADERS)
    assert first.status_code == 200 and first.headers["x-amzn-RateLimit-Limit"] == "0.01"
    second = client.get("/amazon/orders/v0/orders", params=ORDERS, headers=HEADERS)
    assert second.status_code == 429
    assert second.json()["errors"][0]["code"] == "QuotaExceeded"
