"""Fixtures of the sandbox tests: a small world on disk and one sandbox serving it for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tiny_world import EMULATORS, build_world

from narrowcast.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="session")
def sandbox(world_dir: Path) -> Iterator[SandboxServer]:
    with SandboxServer(world_dir, only=EMULATORS) as server:
        # The connector tests sleep no real time, so the shop's query-cost bucket is made deep enough that they
        # never have to wait for its restore (the throttling tests set their own).
        bucket = server.app.state.emulators["shopify"].bucket
        bucket.size, bucket.restore_rate = 1_000_000.0, 100_000.0
        yield server


@pytest.fixture(autouse=True)
def _no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts and ends with every fault switch off (only when the test uses the sandbox)."""
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").faults("all")
