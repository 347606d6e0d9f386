"""The Airflow glue lists no source, table or connection of its own: assets and connections come from declarations."""

from __future__ import annotations

from typing import Any

import pytest

from narrowcast.activation import load_syncs
from narrowcast.activation.destinations import DESTINATIONS
from narrowcast.sources.registry import ENTITIES, SOURCES
from narrowcast_airflow import tasks
from narrowcast_airflow.assets import ALL_RAW_ASSETS, raw_assets
from narrowcast_airflow.connections import declared_connection_ids, get_connections


def test_every_declared_raw_table_is_an_asset_and_each_source_emits_its_own_tables() -> None:
    assert [a.uri for a in ALL_RAW_ASSETS] == [f"x-narrowcast://warehouse/raw/{name}" for name in ENTITIES]
    assert [a.uri.rsplit("/", 1)[1] for a in raw_assets("ebay")] == ["ebay_orders", "ebay_order_lines"]


def test_the_declared_connections_are_the_sources_the_destinations_and_the_syncs_ones() -> None:
    expected = {s.connection_id for s in SOURCES.values() if s.connection_id}
    expected |= {cls.connection_id for cls in DESTINATIONS.values()}
    expected |= {spec.connection for spec in load_syncs()}
    assert set(declared_connection_ids()) == expected
    assert "narrowcast_klaviyo" in expected  # declared by a destination only, no source reads it


def test_every_destination_declares_its_connection() -> None:
    assert all(isinstance(getattr(cls, "connection_id", None), str) for cls in DESTINATIONS.values())


def test_a_sync_gets_the_connection_it_names_even_one_no_list_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a connection set only in the environment, named by a sync and by nothing else
    monkeypatch.setenv("AIRFLOW_CONN_ACME_CRM", '{"conn_type": "https", "host": "crm.example.com", "password": "t0ken"}')
    seen: dict[str, Any] = {}

    class Spec:
        connection = "acme_crm"

    def fake_run(spec: Any, *, connections: dict, dry_run: bool, confirm_removals: bool) -> Any:
        seen.update(connections)
        return type("Report", (), {"as_dict": lambda self: {}})()

    monkeypatch.setattr("narrowcast.activation.engine.resolve", lambda sync_id: Spec())
    monkeypatch.setattr("narrowcast.activation.run_sync", fake_run)
    # WHEN the sync task runs
    tasks.run_sync("acme_sync", {})
    # THEN it received that connection
    assert seen["acme_crm"].base_url == "https://crm.example.com"
    assert get_connections(["narrowcast_not_set_anywhere"]) == {}
