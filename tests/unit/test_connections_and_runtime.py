"""Connections parse from Airflow's URI and JSON forms; the runtime defaults every connection to the sandbox."""

from __future__ import annotations

import json

import pytest

from narrowcast.contracts.connections import Connection
from narrowcast.runtime import SANDBOX_CONNECTIONS, airflow_env
from narrowcast.sources.shopify.client import ShopifyClient


def test_a_uri_connection_keeps_path_token_and_extra():
    conn = Connection.from_uri(
        "narrowcast_shopify",
        "http://:shpat%2Fabc@127.0.0.1:8765/shopify?__extra__=%7B%22api_version%22%3A+%222024-10%22%7D",
    )
    assert conn.base_url == "http://127.0.0.1:8765/shopify"
    assert conn.password == "shpat/abc"
    assert conn.extra == {"api_version": "2024-10"}


def test_a_json_connection_with_a_full_url_host_is_used_verbatim():
    raw = json.dumps({"conn_type": "http", "host": "https://graph.facebook.com", "password": "t",
                      "extra": {"ad_account_id": "act_1"}})
    conn = Connection.from_uri("narrowcast_meta", raw)
    assert conn.base_url == "https://graph.facebook.com"
    assert conn.require("ad_account_id") == "act_1"


def test_a_missing_extra_field_names_the_connection_and_field():
    conn = Connection("narrowcast_meta", "http://x")
    with pytest.raises(ValueError, match="narrowcast_meta.*ad_account_id"):
        conn.require("ad_account_id")


def test_a_client_without_its_token_names_the_connection_and_the_token_it_needs():
    conn = Connection("narrowcast_shopify", "http://x")
    with pytest.raises(ValueError, match="narrowcast_shopify.*has no password; put the Admin API access token there"):
        ShopifyClient.from_connection(conn)
    assert Connection("c", "http://x", password="tok").require_password("the token") == "tok"


def test_the_token_is_not_in_the_repr():
    assert "secret" not in repr(Connection("c", "http://x", password="secret"))


def test_runtime_points_every_connection_at_the_sandbox_unless_the_user_set_one(tmp_path):
    env = airflow_env({"AIRFLOW_CONN_NARROWCAST_META": "https://real"}, airflow_home=tmp_path, data_dir=tmp_path,
                      sandbox="http://127.0.0.1:9999")
    assert env["AIRFLOW_CONN_NARROWCAST_META"] == "https://real"
    for conn_id in SANDBOX_CONNECTIONS:
        if conn_id != "narrowcast_meta":
            value = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
            assert value["host"].startswith("http://127.0.0.1:9999/")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"
    assert env["NARROWCAST_WAREHOUSE"].endswith("warehouse/narrowcast.duckdb")
