"""Helpers shared by the datagen tests: the small world's arguments and GA4 export parsing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

SMALL = {"customers": 300, "days": 14, "start": date(2026, 8, 1), "seed": 7}


def read_events(ga4_dir: Path) -> tuple[list[dict], list[str]]:
    """All parseable GA4 events, plus the names of files whose line failed to parse."""
    events: list[dict] = []
    broken: list[str] = []
    for path in sorted(ga4_dir.glob("events_*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                broken.append(path.name)
    return events, broken


def param(event: dict, key: str) -> object:
    """The typed value of one event parameter (None when absent)."""
    for p in event["event_params"]:
        if p["key"] == key:
            value = p["value"]
            return next((value[k] for k in ("string_value", "int_value", "double_value") if k in value), None)
    return None
