"""Fixtures of the conformance tests: the emulators on loopback and a recorder of every request the connectors
put on the wire, so each test validates what was actually sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from conformance_recording import Sent, decoded

from narrowcast.sandbox.server import SandboxServer

EMULATORS = ["amazon_orders", "amazon_listings", "data_manager", "ebay_fulfillment", "ebay_inventory",
             "google_ads_reporting", "google_customer_match", "klaviyo", "meta_audiences", "shopify",
             "shopify_inventory", "shopify_customer_profile", "shopify_checkouts"]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=EMULATORS) as server:
        yield server


@pytest.fixture()
def emulators(sandbox: SandboxServer) -> dict[str, Any]:
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    sandbox.faults("all")
    return sandbox.app.state.emulators


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> list[Sent]:
    """Every request sent through ``requests`` during the test (to the emulators' API routes)."""
    recorded: list[Sent] = []
    original = requests.Session.request

    def record(self: requests.Session, method: str, url: str, params: Any = None, data: Any = None,
               headers: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        response = original(self, method, url, params=params, data=data, headers=headers, json=json, **kwargs)
        if "/_sandbox/" not in url:
            merged = {**self.headers, **(headers or {})}
            query = dict(parse_qsl(urlsplit(url).query))
            query.update({k: str(v) for k, v in (params or {}).items()})
            recorded.append(Sent(method.upper(), url, query, {k: v for k, v in merged.items() if v is not None},
                                 json if json is not None else decoded(data), response.status_code,
                                 dict(response.headers), decoded(response.content)))
        return response

    monkeypatch.setattr(requests.Session, "request", record)
    return recorded
