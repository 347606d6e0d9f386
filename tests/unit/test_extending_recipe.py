"""A source and a destination declared only in a package of their own (``recipe_pkg``) flow through extract,
the raw table, a model and a sync, and into every generated copy of the raw schema, without a registry edit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from recipe_pkg import tables as loyalty_tables
from recipe_pkg.destination import LoyaltyTiers

from narrowcast.activation import run_sync
from narrowcast.activation.destinations import DESTINATIONS
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source
from narrowcast.sources import raw_schema, registry

WINDOW = Window(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))
RECIPE_DIR = Path(__file__).parent


@pytest.fixture
def registered() -> Iterator[None]:
    """The loyalty source registered for one test; the registries are restored afterwards."""
    sources, entities, destinations = dict(registry.SOURCES), dict(registry.ENTITIES), dict(DESTINATIONS)
    registry.register_source(loyalty_tables.SOURCE)
    LoyaltyTiers.received.clear()
    yield
    for live, saved in ((registry.SOURCES, sources), (registry.ENTITIES, entities), (DESTINATIONS, destinations)):
        live.clear()
        live.update(saved)


def test_a_source_and_a_destination_of_an_outside_package_run_from_extract_to_sync(
    registered: None, tmp_path: Path
) -> None:
    # GIVEN the loyalty source registered from its own package, and a warehouse
    warehouse = tmp_path / "wh.duckdb"

    # WHEN it is extracted: its table is created from its declaration and its quality rule applies
    report = run_source("loyalty", None, WINDOW, data_dir=tmp_path, warehouse=warehouse, threshold=0.5)
    assert (report.entities["loyalty_members"].loaded, report.entities["loyalty_members"].quarantined) == (3, 1)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select rule from meta.quarantine").fetchall() == [("non_negative:points",)]
        # AND a model reads the raw table (a select stands in for the dbt model over the source)
        con.execute("""create table main.loyalty_member_tiers as
                       select member_id, email, case when points >= 100 then 'gold' else 'silver' end as tier
                       from raw.loyalty_members""")

    # AND a sync names the destination by its import path and takes the connection it declares
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "loyalty_tiers.yml").write_text(yaml.safe_dump({
        "model": "loyalty_member_tiers", "destination": "recipe_pkg.destination:LoyaltyTiers",
        "object": "member_tier", "key": "member_id", "fields": {"email": "email", "tier": "tier"},
        "schedule": "audiences",
    }))
    sync = run_sync("loyalty_tiers", connections={"loyalty_api": Connection("loyalty_api", "http://127.0.0.1:9")},
                    warehouse=warehouse, syncs_dir=syncs)

    # THEN every member reached the destination with the tier the model gave it
    assert sync.accepted == 3
    assert sorted((r["email"], r["tier"]) for r in LoyaltyTiers.received) == [
        ("ann@example.com", "gold"), ("ben@example.com", "silver"), ("cho@example.com", "gold")]
    assert DESTINATIONS["loyalty_tiers"] is LoyaltyTiers


def test_a_registered_source_reaches_the_generated_dbt_macro_and_data_contract(registered: None) -> None:
    macro = raw_schema.dbt_macro(registry.ENTITIES.values())
    assert ("'loyalty_members': ['\"member_id\" bigint', '\"email\" varchar', '\"points\" integer', "
            "'\"updated_at\" timestamp']") in macro
    assert "| `raw.loyalty_members` | loyalty | member_id | merge |" in raw_schema.contract_table(registry.SOURCES.values())


def test_a_source_module_named_in_the_setting_is_collected_by_a_fresh_process() -> None:
    code = ("from narrowcast.sources.registry import SOURCES, ENTITIES; "
            "print(SOURCES['loyalty'].connection_id, ENTITIES['loyalty_members'].key)")
    env = {**os.environ, "NARROWCAST_SOURCE_MODULES": "recipe_pkg.tables",
           "PYTHONPATH": os.pathsep.join([str(RECIPE_DIR), str(RECIPE_DIR.parents[1] / "include")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "loyalty_api ('member_id',)"


def test_a_source_declaring_a_table_another_source_owns_is_refused(registered: None) -> None:
    from dataclasses import replace

    thief = replace(loyalty_tables.SOURCE, name="thief", entities=(registry.entity("shop_orders"),))
    with pytest.raises(ValueError, match="raw table 'shop_orders' of source 'thief' is already declared"):
        registry.register_source(thief)
