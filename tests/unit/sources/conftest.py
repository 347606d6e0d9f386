"""Fixtures of the connector tests: recorded sleeps and client keyword arguments for the fake HTTP layer."""

from __future__ import annotations

from typing import Any

import pytest
from fake_http import FakeSession

from narrowcast.http import RetryPolicy


@pytest.fixture
def waits() -> list[float]:
    """Sleeps the client asked for (injected instead of ``time.sleep``)."""
    return []


@pytest.fixture
def http(waits: list[float]):
    """Keyword arguments that give a client the fake session, the recorded sleep and a short retry policy."""

    def make(session: FakeSession) -> dict[str, Any]:
        return {"session": session, "sleep": waits.append, "seed": 0,
                "retry": RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)}

    return make
