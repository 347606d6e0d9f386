"""The dbt project builds on PostgreSQL 15 from the same raw rows and its key marts equal DuckDB's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dbt_fixture_warehouse as fixture
import numpy as np
import pandas as pd
import pytest
from dbt_invocation import run_dbt
from dbt_postgres_cluster import copy_schema, throwaway_cluster

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

KEY_MARTS = {
    "customer_rfm": ["customer_id"],
    "customer_segments": ["customer_id", "segment"],
    "customer_recommendations": ["customer_id", "rank"],
    "kpi_channel_daily": ["kpi_key"],
    "kpi_funnel": ["month", "channel"],
    "budget_vs_actual": ["month", "channel"],
    "marketplace_listing_feed": ["sku", "marketplace"],
    "audience_members": ["audience_id", "customer_id"],
}


def _normalised(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Same value, same representation: numbers as rounded floats, everything else as text."""
    out = frame.copy()
    for column in out.columns:
        numeric = pd.to_numeric(out[column], errors="coerce")
        is_number = out[column].dropna().map(lambda v: isinstance(v, (int, float, np.number))).all() or (
            numeric.notna().sum() == out[column].notna().sum() and out[column].dtype != object)
        if out[column].dtype == bool or str(out[column].dtype) == "boolean":
            out[column] = out[column].astype("string")
        elif is_number or out[column].map(lambda v: v.__class__.__name__ == "Decimal").any():
            out[column] = pd.to_numeric(out[column]).astype(float).round(6)
        else:
            out[column] = out[column].astype("string")
    return out.sort_values(keys).reset_index(drop=True)


def test_postgres_build_matches_duckdb_marts(
    tmp_path: Path, built_warehouse: Path, read_table: Callable[[str], pd.DataFrame], dbt_target_path: Path,
) -> None:
    # GIVEN the fixture's raw tables copied into a fresh PostgreSQL cluster
    with throwaway_cluster() as cluster:
        copied = copy_schema(built_warehouse, cluster)
        assert "shop_orders" in copied and "file_orders" in copied
        # WHEN the whole project is built there (models, seeds, data tests, unit tests)
        run_dbt(["build"], warehouse=None, target_path=tmp_path / "pg_target", as_of_date=fixture.AS_OF_DATE,
                target="postgres", env=cluster.env())
        with cluster.connect() as pg:
            postgres = {name: pd.read_sql(f"select * from main.{name}", pg) for name in KEY_MARTS}
    # THEN every key mart has the same rows and values as the DuckDB build
    for name, keys in KEY_MARTS.items():
        duck = read_table(name)
        assert len(postgres[name]) == len(duck), f"{name}: row count differs"
        assert list(postgres[name].columns) == list(duck.columns), f"{name}: columns differ"
        pd.testing.assert_frame_equal(_normalised(postgres[name], keys), _normalised(duck, keys),
                                      check_dtype=False, obj=name)
