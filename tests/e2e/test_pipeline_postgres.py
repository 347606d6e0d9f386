"""The whole pipeline on PostgreSQL: one setting moves extract, quality gate, dbt, activation and dashboard.

GIVEN the shop the DuckDB demo run generated (its world, inbox and GA4 exports, copied) and a fresh PostgreSQL 15
database, WHEN the demo command runs every DAG with ``NARROWCAST_WAREHOUSE_ENGINE=postgres`` (and the
``NARROWCAST_PG_*`` variables, nothing else), THEN nothing is written to a DuckDB file, the key marts equal the DuckDB
run's, every batch books the same received/loaded/quarantined counts, every sync planned and had accepted the same
rows by a fresh sandbox, and the dashboard's charts read the same figures.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import psycopg2
import pytest
from pipeline_run import PipelineRun, isolated_env, run_demo

from narrowcast import settings
from narrowcast.dashboard.app import CHARTS
from narrowcast.dashboard.charts import availability
from narrowcast.dashboard.filters import parse_filters
from narrowcast.local_ports import free_port
from narrowcast.warehouse import DuckDBWarehouse, Warehouse
from narrowcast.warehouse.postgres import PostgresWarehouse

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

# The marts test_postgres_parity compares, with their keys.
KEY_MARTS = {
    "customer_identity_links": ["source", "key_kind", "source_key"],
    "customer_rfm": ["customer_id"],
    "customer_segments": ["customer_id", "segment"],
    "customer_recommendations": ["customer_id", "rank"],
    "kpi_channel_daily": ["kpi_key"],
    "kpi_funnel": ["month", "channel"],
    "budget_vs_actual": ["month", "channel"],
    "marketplace_listing_feed": ["sku", "marketplace"],
    "audience_members": ["audience_id", "customer_id"],
}
# Charts whose figures come from the data alone (the others show run times and generated codes).
SAME_FIGURE_CHARTS = ("kpi", "budget", "funnel", "rfm", "recommendations", "marketplaces", "uplift")
SYNC_COUNTS = ("planned_adds", "planned_changes", "planned_removes", "sent", "accepted", "rejected", "skipped")


def _copy_airflow_home(source: Path, target: Path) -> None:
    """The DuckDB run's migrated Airflow home (metadata DB and pool) at a new path: saves a migration."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("logs", "cosmos"))
    config = target / "airflow.cfg"
    if config.exists():
        config.write_text(config.read_text().replace(str(source), str(target)))


@pytest.fixture(scope="module")
def postgres_run(pipeline: PipelineRun, postgres_database, tmp_path_factory) -> Iterator[tuple[PipelineRun, Any]]:
    assert pipeline.returncode == 0, pipeline.stdout[-3000:]
    cluster = postgres_database("pipeline_e2e")
    base = tmp_path_factory.mktemp("pipeline_postgres")
    for folder in ("world", "inbox", "exports"):
        shutil.copytree(pipeline.data_dir / folder, base / "data" / folder)
    _copy_airflow_home(Path(pipeline.env["AIRFLOW_HOME"]), base / "airflow")
    env = isolated_env(base, free_port(), extra={"NARROWCAST_WAREHOUSE_ENGINE": "postgres", **cluster.env()})
    proc = run_demo(env)
    run = PipelineRun(base / "data", env, proc.stdout + proc.stderr, proc.returncode)
    (Path(__file__).resolve().parents[2] / "test-output").mkdir(exist_ok=True)
    (Path(__file__).resolve().parents[2] / "test-output" / "demo_postgres_output.txt").write_text(run.stdout)
    yield run, cluster


@pytest.fixture(scope="module")
def postgres_wh(postgres_run) -> Iterator[Warehouse]:
    run, cluster = postgres_run
    assert run.returncode == 0, run.stdout[-4000:]
    wh = PostgresWarehouse(settings.PostgresSettings(cluster.host, cluster.port, cluster.user, "", cluster.dbname,
                                                     "main"), read_only=True)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def duckdb_wh(pipeline: PipelineRun) -> Iterator[Warehouse]:
    wh = DuckDBWarehouse(duckdb.connect(str(pipeline.demo_warehouse), read_only=True))
    yield wh
    wh.close()


def _canonical(value: object) -> object:
    """One form per value whatever the driver returned; floats to 9 significant digits (summation order)."""
    if value is None or (not isinstance(value, (str, bytes, list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating, Decimal)):
        number = float(value)
        return 0.0 if number == 0 else round(number, 8 - int(math.floor(math.log10(abs(number)))))
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return str(value)


def _table(wh: Warehouse, sql: str, keys: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(wh.rows(sql))
    if frame.empty:  # no rows, so no columns to sort by either (a clean shop quarantines nothing)
        return frame
    return frame.astype(object).map(_canonical).sort_values(keys).reset_index(drop=True)


# A money value rounded to cents may differ by one cent where the exact value ends in half a cent: PostgreSQL
# rounds the exact numeric (8.575 → 8.58), DuckDB the nearest double (8.57499… → 8.57).
CENT = 0.0100001


def _missing(value: object) -> bool:
    """None, or the NaN a data frame turns it into."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _same_number(a: float, b: float) -> bool:
    in_cents = round(a, 2) == a and round(b, 2) == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=CENT if in_cents else 1e-9)


def _assert_same(on_postgres: pd.DataFrame, on_duckdb: pd.DataFrame, name: str) -> None:
    assert list(on_postgres.columns) == list(on_duckdb.columns), f"{name}: columns differ"
    assert len(on_postgres) == len(on_duckdb), f"{name}: row count differs"
    for column in on_postgres.columns:
        left, right = on_postgres[column].tolist(), on_duckdb[column].tolist()
        for row, (a, b) in enumerate(zip(left, right, strict=True)):
            if _missing(a) and _missing(b):
                continue
            if isinstance(a, float) and isinstance(b, float):
                assert _same_number(a, b), f"{name}.{column} row {row}: {a} != {b}"
            else:
                assert a == b, f"{name}.{column} row {row}: {a!r} != {b!r}"


def test_the_demo_runs_every_stage_on_postgres_and_writes_no_duckdb_file(postgres_run):
    run, _ = postgres_run
    assert run.returncode == 0, run.stdout[-4000:]
    for expected in ("extract_shop", "transform", "activate_audiences", "Rows per stage", "PostgreSQL"):
        assert expected in run.stdout
    assert not list((run.data_dir / "warehouse").glob("*.duckdb"))


@pytest.mark.parametrize("mart", list(KEY_MARTS))
def test_each_key_mart_equals_the_duckdb_runs(postgres_wh, duckdb_wh, mart):
    keys = KEY_MARTS[mart]
    on_postgres = _table(postgres_wh, f"select * from main.{mart}", keys)
    on_duckdb = _table(duckdb_wh, f"select * from main.{mart}", keys)
    assert len(on_postgres) > 0
    _assert_same(on_postgres, on_duckdb, mart)


def test_every_batch_books_the_same_counts_as_on_duckdb(postgres_wh, duckdb_wh):
    sql = """select source, entity, sum(received) as received, sum(loaded) as loaded, sum(quarantined) as quarantined,
                    count(*) filter (where status <> 'loaded') as not_loaded
             from meta.batches group by source, entity"""
    on_postgres = _table(postgres_wh, sql, ["source", "entity"])
    assert on_postgres["received"].sum() > 0
    _assert_same(on_postgres, _table(duckdb_wh, sql, ["source", "entity"]), "meta.batches")
    quarantine = "select entity, rule, count(*) as n from meta.quarantine group by entity, rule"
    _assert_same(_table(postgres_wh, quarantine, ["entity", "rule"]), _table(duckdb_wh, quarantine, ["entity", "rule"]),
                 "meta.quarantine")


def test_every_sync_sent_and_had_accepted_the_same_rows(postgres_wh, duckdb_wh):
    sql = f"""select sync_id, status, {', '.join(SYNC_COUNTS)} from activation.sync_runs where not dry_run"""
    on_postgres = _table(postgres_wh, sql, ["sync_id"])
    assert on_postgres["accepted"].sum() > 0
    _assert_same(on_postgres, _table(duckdb_wh, sql, ["sync_id"]), "activation.sync_runs")
    state = "select sync_id, count(*) as confirmed from activation.sync_state group by sync_id"
    _assert_same(_table(postgres_wh, state, ["sync_id"]), _table(duckdb_wh, state, ["sync_id"]), "activation.sync_state")


def _chart(wh: Warehouse, chart: str) -> dict[str, Any]:
    try:
        return CHARTS[chart](wh, parse_filters())
    except availability.NoData as exc:  # what the page shows as "no data yet"
        return {"status": "no data", "missing": exc.missing}


@pytest.mark.parametrize("chart", list(CHARTS))
def test_the_dashboard_reads_the_same_figures(postgres_wh, duckdb_wh, chart):
    on_postgres, on_duckdb = _chart(postgres_wh, chart), _chart(duckdb_wh, chart)
    assert on_postgres["status"] == on_duckdb["status"], on_postgres
    if chart in SAME_FIGURE_CHARTS:
        _assert_close(_canonical(on_postgres), _canonical(on_duckdb), chart)


def _assert_close(a: object, b: object, where: str) -> None:
    """Equal JSON-like values; floats as :func:`_same_number` compares them."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{where}: keys differ"
        for key in a:
            _assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: lengths differ"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{where}[{index}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert _same_number(a, b), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_the_postgres_connection_really_served_the_run(postgres_run):
    _, cluster = postgres_run
    with psycopg2.connect(host=cluster.host, port=cluster.port, user=cluster.user, dbname=cluster.dbname) as con:
        cur = con.cursor()
        cur.execute("select count(*) from information_schema.tables where table_schema in ('raw', 'main')")
        assert cur.fetchone()[0] > 20
