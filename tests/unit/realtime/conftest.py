"""Fixtures of the real-time tests: the shop and Klaviyo emulators in-process, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from narrowcast.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["shopify", "shopify_checkouts", "klaviyo"]) as server:
        yield server


@pytest.fixture()
def shop(sandbox):
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    sandbox.faults("all")
    yield sandbox.app.state.emulators["shopify_checkouts"]
    sandbox.faults("all")


@pytest.fixture()
def klaviyo(sandbox, shop):
    return sandbox.app.state.emulators["klaviyo"]
