"""Which sources a merchant uses: decided by the connections set and ``NARROWCAST_SOURCES``, one answer for all."""

from __future__ import annotations

import pytest

from narrowcast import settings
from narrowcast.extract import main as extract_main
from narrowcast.sources.enabled import (
    ENABLED,
    NOT_CONNECTED,
    NOT_SELECTED,
    connection_set_in_env,
    is_enabled,
    source_state,
    source_states,
)
from narrowcast.sources.registry import SOURCES

SHOPIFY = "AIRFLOW_CONN_NARROWCAST_SHOPIFY"


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """A merchant's shell before they set anything: no connection variable, no source list."""
    import os

    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("NARROWCAST_SOURCES", raising=False)


def test_without_any_connection_only_the_sources_that_need_none_are_enabled():
    states = source_states()
    assert {name for name, s in states.items() if s.enabled} == {
        name for name, spec in SOURCES.items() if spec.connection_id is None}
    assert {"inbox", "ga4"} <= {name for name, s in states.items() if s.enabled}
    assert states["shopify"].status == NOT_CONNECTED


def test_a_set_connection_variable_enables_its_source(monkeypatch):
    monkeypatch.setenv(SHOPIFY, '{"conn_type": "https", "host": "shop.example.com", "password": "t"}')
    assert is_enabled("shopify")
    assert not is_enabled("ebay")


def test_an_empty_connection_variable_counts_as_not_set(monkeypatch):
    monkeypatch.setenv(SHOPIFY, "")
    assert not is_enabled("shopify")


@pytest.mark.parametrize("source, connection", [
    pytest.param("shopify", "narrowcast_shopify", id="the shop"),
    pytest.param("amazon", "narrowcast_amazon", id="amazon"),
    pytest.param("meta_ads", "narrowcast_meta", id="meta ads"),
])
def test_the_reason_a_source_is_not_connected_names_the_connection_and_its_variable(source, connection):
    state = source_state(source)
    assert state.status == NOT_CONNECTED
    assert state.reason == (f"source {source} not connected: set connection {connection} "
                            f"(AIRFLOW_CONN_{connection.upper()} or the Airflow UI)")
    assert "\n" not in state.reason


def test_the_airflow_lookup_replaces_the_environment_one(monkeypatch):
    # GIVEN a connection Airflow knows (metadata database) but no variable in this process
    # WHEN the Airflow glue asks with its own lookup THEN the source is enabled
    assert is_enabled("ebay", connected=lambda conn_id: conn_id == "narrowcast_ebay")
    assert not is_enabled("amazon", connected=lambda conn_id: conn_id == "narrowcast_ebay")


def test_the_settings_list_narrows_the_sources_to_the_ones_it_names(monkeypatch):
    monkeypatch.setenv(SHOPIFY, '{"host": "https://shop.example.com", "password": "t"}')
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_EBAY", '{"host": "https://api.ebay.com", "password": "t"}')
    monkeypatch.setenv("NARROWCAST_SOURCES", " inbox , shopify ")
    states = source_states()
    assert {name for name, s in states.items() if s.enabled} == {"inbox", "shopify"}
    # a connection set for a source the list leaves out does not enable it
    assert states["ebay"].status == NOT_SELECTED
    assert states["ga4"].reason == "source ga4 not selected: NARROWCAST_SOURCES=inbox,shopify does not list it"


def test_a_listed_source_still_needs_its_connection(monkeypatch):
    monkeypatch.setenv("NARROWCAST_SOURCES", "inbox,amazon")
    assert source_state("amazon").status == NOT_CONNECTED
    assert source_state("inbox").status == ENABLED


def test_an_unknown_name_in_the_settings_list_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("NARROWCAST_SOURCES", "inbox,shopfy")
    with pytest.raises(settings.ConfigError) as raised:
        is_enabled("inbox")
    message = str(raised.value)
    assert "NARROWCAST_SOURCES" in message and "'shopfy'" in message and "shopify" in message


def test_asking_about_an_unknown_source_is_a_clear_error():
    with pytest.raises(settings.ConfigError, match="unknown source 'woocommerce'.*inbox"):
        is_enabled("woocommerce")


def test_the_environment_lookup_reads_the_given_mapping():
    lookup = connection_set_in_env({SHOPIFY: "https://:t@shop.example.com"})
    assert lookup("narrowcast_shopify") and not lookup("narrowcast_ebay")


def test_extracting_a_source_that_is_not_connected_says_so_and_exits_cleanly(capsys, tmp_path):
    code = extract_main(["shopify", "--start", "2026-08-01", "--end", "2026-08-02", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == ("skipped: source shopify not connected: set connection narrowcast_shopify "
                           "(AIRFLOW_CONN_NARROWCAST_SHOPIFY or the Airflow UI)")
    assert not (tmp_path / "warehouse").exists()  # nothing was opened or written


def test_extracting_with_an_unknown_name_in_the_settings_list_fails_as_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("NARROWCAST_SOURCES", "shopfy")
    assert extract_main(["inbox", "--start", "2026-08-01", "--end", "2026-08-02"]) == 2
    assert "unknown source(s) 'shopfy'" in capsys.readouterr().err
