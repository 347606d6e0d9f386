"""The command line: connections from AIRFLOW_CONN_* and the exit status of a run."""

from __future__ import annotations

import json

from activation_fixtures import audience_rows

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


def test_a_refused_mirror_run_exits_non_zero_and_runs_with_confirm_removals(capsys, monkeypatch, tmp_path, sandbox,
                                                                           emulators, connections, warehouse):
    # GIVEN a Klaviyo list mirror sync with 5 confirmed members, whose members then all leave the model
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "win_back_list.yml").write_text(
        "model: audience_members\nfilter: {audience_id: win_back}\ndestination: klaviyo\n"
        "connection: narrowcast_klaviyo\nobject: list_members\ntarget: {list_id: LIST1}\nmode: mirror\n"
        "key: customer_id\nfields: {email: email, external_id: customer_id}\npii: [email]\nschedule: audiences\n")
    monkeypatch.setattr("narrowcast.activation.__main__.connections_from_env", lambda: connections)
    run = ["run", "win_back_list", "--syncs", str(syncs), "--warehouse", str(warehouse.path)]
    warehouse.replace("audience_members", audience_rows("win_back", range(5)))
    assert main(run) == 0
    warehouse.replace("audience_members", [])
    capsys.readouterr()
    # WHEN it is run, planned, then run with --confirm-removals
    refused = main(run)
    err = capsys.readouterr().err
    assert main([*run, "--dry-run"]) == 0
    planned = capsys.readouterr().out
    members_before_confirmation = list(emulators["klaviyo"].snapshot()["lists"]["LIST1"])
    confirmed = main([*run, "--confirm-removals"])
    # THEN the plain run exits 1 naming the counts and the flag, the dry run reports them, the confirmed run removes
    assert refused == 1
    assert "win_back_list: refused: 5 of 5 members planned for removal (100.0% > max_remove_share 20.0%)" in err
    assert "--confirm-removals" in err
    assert "needs confirmation: 5 of 5 members" in planned
    assert members_before_confirmation == ["0", "1", "2", "3", "4"]
    assert confirmed == 0 and emulators["klaviyo"].snapshot()["lists"]["LIST1"] == []
