"""The command line: connections from AIRFLOW_CONN_* and the exit status of a run."""

from __future__ import annotations

import json

from narrowcast.activation.__main__ import main
from narrowcast.contracts.connections import connections_from_env


def test_connections_are_read_from_airflow_conn_environment_variables():
    env = {
        "AIRFLOW_CONN_NARROWCAST_META": "http://:tok@127.0.0.1:8765/meta?api_version=v27.0",
        "AIRFLOW_CONN_NARROWCAST_AMAZON": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 8765,
                                                      "schema": "amazon", "password": "t",
                                                      "extra": {"seller_id": "S", "marketplace_id": "M"}}),
        "UNRELATED": "x",
    }
    conns = connections_from_env(env)
    assert set(conns) == {"narrowcast_meta", "narrowcast_amazon"}
    assert conns["narrowcast_meta"].base_url == "http://127.0.0.1:8765/meta"
    assert conns["narrowcast_meta"].extra == {"api_version": "v27.0"}
    assert conns["narrowcast_amazon"].base_url == "http://127.0.0.1:8765/amazon"
    assert conns["narrowcast_amazon"].require("seller_id") == "S"


def test_an_unknown_sync_exits_non_zero_with_the_declared_ids(capsys, tmp_path):
    assert main(["run", "no_such_sync", "--dry-run", "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert "unknown sync 'no_such_sync'" in err and "stock_ebay" in err
