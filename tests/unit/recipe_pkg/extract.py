"""The loyalty source's extractor: members updated in the window, from an in-memory stand-in for its API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from narrowcast.contracts.extraction import ExtractContext
from narrowcast.contracts.pages import Page

MEMBERS: list[dict[str, Any]] = [
    {"member_id": 1, "email": "ann@example.com", "points": 250, "updated_at": datetime(2024, 5, 1, 9)},
    {"member_id": 2, "email": "ben@example.com", "points": 40, "updated_at": datetime(2024, 5, 1, 10)},
    {"member_id": 3, "email": "cho@example.com", "points": 120, "updated_at": datetime(2024, 5, 1, 11)},
    {"member_id": 4, "email": "dan@example.com", "points": -5, "updated_at": datetime(2024, 5, 1, 12)},
]


def extract(context: ExtractContext) -> Iterator[Page]:
    updated = [m for m in MEMBERS if context.window.contains(m["updated_at"])]
    yield Page("loyalty_members", updated, f"GET /members?since={context.window.start.isoformat()}")
