"""Shared by the real-time tests: connections to the in-process sandbox and the clock they use."""

from __future__ import annotations

from datetime import UTC, datetime

from narrowcast.contracts.connections import Connection
from narrowcast.sandbox.framework import SANDBOX_TOKEN


def connections(url: str) -> tuple[Connection, Connection]:
    fast = {"retry_base_delay": 0.01, "retry_max_delay": 0.02, "max_retries": 2, "timeout_seconds": 5.0}
    return (Connection("narrowcast_shopify", f"{url}/shopify", password=SANDBOX_TOKEN, extra=fast),
            Connection("narrowcast_klaviyo", f"{url}/klaviyo", password=SANDBOX_TOKEN, extra=fast))


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
