"""The source registry agrees with the connectors and the contract, and creates every raw table."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from narrowcast.contracts.extraction import ConnectionPagesExtractor
from narrowcast.loading.ddl import ensure_meta_tables, ensure_raw_table
from narrowcast.sources.registry import ENTITIES, SOURCES, source
from narrowcast.warehouse import DuckDBWarehouse

CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "data-contracts.md"


API_SOURCES = [n for n, s in SOURCES.items() if isinstance(s.extractor, ConnectionPagesExtractor)]


def test_the_registry_collects_every_source_package_of_narrowcast_sources() -> None:
    assert set(SOURCES) == {"shopify", "meta_ads", "google_ads", "ebay", "amazon", "ga4", "inbox", "ecb",
                            "ebay_finances", "amazon_finances", "etsy", "etsy_finances", "shopify_checkouts",
                            "meta_campaigns", "google_ads_campaigns", "klaviyo"}
    assert set(API_SOURCES) == {"shopify", "meta_ads", "google_ads", "ebay", "amazon", "ecb", "ebay_finances",
                                "amazon_finances", "etsy", "etsy_finances", "meta_campaigns", "google_ads_campaigns",
                                "klaviyo"}


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{n} connector") for n in API_SOURCES])
def test_each_api_connector_declares_the_entities_and_keys_of_the_registry(name: str) -> None:
    spec = source(name)
    module = importlib.import_module(spec.extractor.target.split(":")[0])
    assert {e: tuple(k) for e, k in module.ENTITIES.items()} == {e.name: e.key for e in spec.entities}
    assert callable(spec.extractor.load())


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in SOURCES])
def test_each_source_declares_an_extractor_that_imports(name: str) -> None:
    extractor = source(name).extractor
    function = extractor.load()
    assert callable(function)
    # named by the module that defines it: a package re-exporting ``extract`` from its submodule ``extract`` gives
    # the submodule instead, once anything has imported that submodule
    assert function.__module__ == extractor.target.partition(":")[0]


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


def _modules_loaded_by(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    code = f"import sys; {statement}; print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(CONTRACT.parents[1] / "include")})
    return eval(out.stdout)


CONNECTOR_MODULES = tuple(f"narrowcast.sources.{n}.{m}" for n in ("shopify", "meta_ads", "google_ads", "ebay", "amazon")
                          for m in ("client", "extract")) + ("narrowcast.sources.ga4.reader", "narrowcast.sources.files.inbox")


def test_reading_the_registry_imports_only_declarations_no_http_client_and_no_pyarrow() -> None:
    loaded = _modules_loaded_by(
        "import narrowcast.sources.registry as r; [s.entities for s in r.SOURCES.values()]",
        (*CONNECTOR_MODULES, "narrowcast.http", "requests", "pyarrow", "duckdb", "great_expectations", "airflow"),
    )
    assert loaded == []


def test_importing_the_extract_runner_imports_no_connector_and_no_great_expectations() -> None:
    assert _modules_loaded_by("import narrowcast.extract", (*CONNECTOR_MODULES, "great_expectations", "airflow")) == []


def test_a_source_package_still_exports_its_connector_on_first_use() -> None:
    loaded = _modules_loaded_by(
        "import narrowcast.sources.shopify as s; assert callable(s.extract) and s.ENTITIES and s.ShopifyClient",
        ("narrowcast.sources.shopify.",),
    )
    assert "narrowcast.sources.shopify.client" in loaded and "narrowcast.sources.shopify.extract" in loaded
