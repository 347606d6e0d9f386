"""Small generated worlds shared by the datagen tests (generated once per test session)."""

from __future__ import annotations

import pytest
from datagen_helpers import SMALL, read_events

from narrowcast.datagen import GenerationReport, generate


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> GenerationReport:
    return generate(tmp_path_factory.mktemp("clean"), **SMALL)


@pytest.fixture(scope="session")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> GenerationReport:
    return generate(tmp_path_factory.mktemp("dirty"), dirty=True, **SMALL)


@pytest.fixture(scope="session")
def clean_events(clean_world: GenerationReport) -> list[dict]:
    events, broken = read_events(clean_world.data_dir / "exports" / "ga4")
    assert broken == []
    return events
