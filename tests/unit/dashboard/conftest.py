"""Fixtures for the dashboard tests: a small mart warehouse on disk and a test client for the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mart_tables import build_mart_warehouse

from narrowcast.dashboard.app import create_app


@pytest.fixture(scope="session")
def mart_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session: tests only read it (the read-only tests prove they cannot change it)."""
    return build_mart_warehouse(tmp_path_factory.mktemp("marts") / "narrowcast.duckdb")


@pytest.fixture
def dbt_target(tmp_path: Path) -> Path:
    target = tmp_path / "target"
    target.mkdir()
    return target


@pytest.fixture
def client(mart_warehouse: Path, dbt_target: Path) -> TestClient:
    return TestClient(create_app(mart_warehouse, dbt_target))
