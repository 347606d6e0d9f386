"""The source registry agrees with the connectors and the contract, and creates every raw table."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from narrowcast.loading.ddl import ensure_meta_tables, ensure_raw_table
from narrowcast.sources.registry import ENTITIES, SOURCES, source
from narrowcast.warehouse import DuckDBWarehouse

CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "data-contracts.md"


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{n} connector") for n, s in SOURCES.items() if s.kind == "api"])
def test_each_api_connector_declares_the_entities_and_keys_of_the_registry(name: str) -> None:
    spec = source(name)
    module = importlib.import_module(spec.extractor.split(":")[0])
    assert {e: tuple(k) for e, k in module.ENTITIES.items()} == {e.name: e.key for e in spec.entities}
    assert callable(spec.load_extractor())


def test_every_raw_table_of_the_contract_is_in_the_registry_and_creates_in_duckdb() -> None:
    contract_tables = {
        line.split("`raw.")[1].split("`")[0] for line in CONTRACT.read_text().splitlines() if line.startswith("| `raw.")
    }
    assert contract_tables == set(ENTITIES)
    con = duckdb.connect()
    wh = DuckDBWarehouse(con)
    ensure_meta_tables(wh)
    for spec in ENTITIES.values():
        ensure_raw_table(wh, spec)
        columns = [r[0] for r in con.execute(f"describe {spec.table}").fetchall()]
        assert columns == [*spec.columns, "_batch_id", "_loaded_at", "_source"]


def test_reading_the_registry_imports_no_connector_and_no_great_expectations() -> None:
    code = (
        "import sys; import narrowcast.sources.registry, narrowcast.extract; "
        "print(sorted(m for m in sys.modules if m.startswith(('narrowcast.sources.shopify', 'great_expectations', 'airflow'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(CONTRACT.parents[1] / "include")})
    assert out.stdout.strip() == "[]"
