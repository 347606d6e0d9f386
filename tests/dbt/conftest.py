"""Fixtures for the dbt tests: a hand-written raw warehouse and one `dbt build` of it per session."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dbt_fixture_warehouse  # noqa: E402
from dbt_invocation import run_dbt  # noqa: E402


@pytest.fixture(scope="session")
def dbt_target_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target folder per session so partial parsing speeds up every later invocation."""
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory, dbt_target_path: Path) -> Path:
    """The fixture warehouse after a full `dbt build` (models, seeds, data tests and unit tests all pass)."""
    warehouse = dbt_fixture_warehouse.build(tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb")
    run_dbt(["build"], warehouse=warehouse, target_path=dbt_target_path, as_of_date=dbt_fixture_warehouse.AS_OF_DATE)
    return warehouse


@pytest.fixture(scope="session")
def read_table(built_warehouse: Path) -> Iterator[Callable[[str], pd.DataFrame]]:
    """Read a whole table of the built warehouse as a DataFrame (``raw.x`` or a model name)."""
    con = duckdb.connect(str(built_warehouse), read_only=True)

    def read(name: str) -> pd.DataFrame:
        qualified = name if "." in name else f"main.{name}"
        return con.sql(f"select * from {qualified}").df()

    yield read
    con.close()
