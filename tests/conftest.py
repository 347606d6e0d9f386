"""Shared pytest setup: the package is importable from include/ and telemetry is off."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "include") not in sys.path:
    sys.path.insert(0, str(ROOT / "include"))

for key, value in {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}.items():
    os.environ.setdefault(key, value)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster per test session (started on first use); tests take a database each."""
    sys.path.insert(0, str(ROOT / "tests" / "dbt"))
    from dbt_postgres_cluster import throwaway_cluster

    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_database(postgres_server: Any) -> Callable[[str], Any]:
    """Make a new, empty database in the session's cluster: its connection settings (a ``Cluster``)."""
    made: set[str] = set()

    def make(name: str) -> Any:
        dbname = "".join(c if c.isalnum() else "_" for c in name.lower())[:40] + f"_{len(made)}"
        admin = dataclasses.replace(postgres_server, dbname="postgres").connect()
        try:
            admin.autocommit = True
            admin.cursor().execute(f'create database "{dbname}"')
        finally:
            admin.close()
        made.add(dbname)
        return dataclasses.replace(postgres_server, dbname=dbname)

    return make
