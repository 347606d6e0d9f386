"""The project's `unique` test on DuckDB (macros/test_unique.sql) finds exactly the duplicated keys."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pytest
from dbt_invocation import DbtRunFailed, run_dbt

UNIQUE_EVENT_KEY = "source_unique_ga4_ga4_events_event_key"


def test_unique_reports_each_duplicated_key_once_with_its_count(
    built_warehouse: Path, dbt_target_path: Path, tmp_path: Path
) -> None:
    # GIVEN the built fixture warehouse (its whole `dbt build`, unique tests included, passed), copied, with one
    # raw event three times and another twice
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        first, second = (r[0] for r in con.execute(
            "select event_key from raw.ga4_events order by event_key limit 2").fetchall())
        for key, copies in ((first, 2), (second, 1)):
            con.execute("insert into raw.ga4_events select e.* from raw.ga4_events as e, range(?) "
                        "where e.event_key = ?", [copies, key])

    # WHEN the source's unique test runs, storing its failing rows
    with pytest.raises(DbtRunFailed) as failed:
        run_dbt(["test", "--select", UNIQUE_EVENT_KEY, "--store-failures"], warehouse=warehouse,
                target_path=dbt_target_path, as_of_date=fixture.AS_OF_DATE)

    # THEN it fails with one row per duplicated key and that key's count, as dbt's own test would
    assert re.search(rf"\.{UNIQUE_EVENT_KEY}\.\w+: fail: Got 2 results", str(failed.value)), failed.value
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f"select unique_field, n_records from main_dbt_test__audit.{UNIQUE_EVENT_KEY} "
                           "order by n_records desc").fetchall()
    assert rows == [(first, 3), (second, 2)]
    # ... and the SQL that ran is the project's two-step test, not dbt's default
    compiled = next(dbt_target_path.glob(f"compiled/**/{UNIQUE_EVENT_KEY}.sql")).read_text()
    assert "hash(event_key)" in compiled
