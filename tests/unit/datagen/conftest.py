"""Small generated worlds shared by the datagen tests (generated once per test session)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from narrowcast.datagen import GenerationReport, generate

SMALL = {"customers": 300, "days": 14, "start": date(2026, 8, 1), "seed": 7}


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> GenerationReport:
    return generate(tmp_path_factory.mktemp("clean"), **SMALL)


@pytest.fixture(scope="session")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> GenerationReport:
    return generate(tmp_path_factory.mktemp("dirty"), dirty=True, **SMALL)


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


@pytest.fixture(scope="session")
def clean_events(clean_world: GenerationReport) -> list[dict]:
    events, broken = read_events(clean_world.data_dir / "exports" / "ga4")
    assert broken == []
    return events


def param(event: dict, key: str) -> object:
    """The typed value of one event parameter (None when absent)."""
    for p in event["event_params"]:
        if p["key"] == key:
            value = p["value"]
            return next((value[k] for k in ("string_value", "int_value", "double_value") if k in value), None)
    return None
