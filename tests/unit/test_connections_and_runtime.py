"""Connections parse from Airflow's URI and JSON forms; the runtime defaults every connection to the sandbox,
gives the local UI its README login, and stops every process a local server started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from narrowcast.activation.__main__ import main as sync_main
from narrowcast.contracts.connections import Connection
from narrowcast.runtime import SANDBOX_CONNECTIONS, airflow_env, cpu_count, ui_env, write_ui_login
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


def test_runtime_puts_this_interpreters_scripts_first_on_path_so_airflow_finds_its_own_commands(tmp_path):
    # GIVEN a PATH without the virtualenv, as on a fresh machine's shell
    env = airflow_env({"PATH": "/usr/bin:/bin"}, airflow_home=tmp_path, data_dir=tmp_path)
    # THEN `airflow standalone` starting `airflow scheduler` by name gets this environment's airflow
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["PATH"].endswith("/usr/bin:/bin")


def test_the_ui_listens_on_loopback_sized_to_the_cpus_with_the_readme_login(tmp_path):
    env = ui_env(airflow_env({}, airflow_home=tmp_path, data_dir=tmp_path), port=18080)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__API__PORT"] == "18080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__CORE__PARALLELISM"] == str(max(2, cpu_count()))
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"  # user:role

    assert write_ui_login(env)
    password_file = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    assert json.loads(password_file.read_text()) == {"admin": "admin"}
    assert password_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("before", "after"), [
    pytest.param('{"admin": "Xy7generated", "bob": "b"}', {"admin": "admin", "bob": "b"},
                 id="a generated admin password is replaced and other users kept"),
    pytest.param("", {"admin": "admin"}, id="an empty file left by an interrupted start is rewritten"),
])
def test_the_ui_login_is_written_over_what_the_passwords_file_held(tmp_path, before, after):
    env = ui_env(airflow_env({}, airflow_home=tmp_path, data_dir=tmp_path), port=18080)
    Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).write_text(before)
    write_ui_login(env)
    assert json.loads(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read_text()) == after


def test_users_the_operator_configured_keep_their_own_passwords(tmp_path):
    env = ui_env(airflow_env({"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "ops:admin"}, airflow_home=tmp_path,
                             data_dir=tmp_path), port=18080)
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "ops:admin"
    assert not write_ui_login(env)
    assert not Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).exists()


# A server like `airflow standalone`: a child that ignores SIGTERM, one in its own process group (Airflow's task
# supervisor does that) and one in a session of its own (a BashOperator's shell); it records every pid.
PROCESS_TREE = """
import os, signal, subprocess, sys, time
sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
stubborn = [sys.executable, "-c", "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "open(sys.argv[1], 'w').close(); time.sleep(600)", sys.argv[1] + ".ready"]
children = [subprocess.Popen(stubborn), subprocess.Popen(sleep, process_group=0),
            subprocess.Popen(sleep, start_new_session=True)]
while not os.path.exists(sys.argv[1] + ".ready"):
    time.sleep(0.05)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(" ".join(str(p) for p in [os.getpid(), *(c.pid for c in children)]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""

SUPERVISOR = """
import sys
from narrowcast.runtime import run_until_stopped
sys.exit(run_until_stopped([sys.executable, "-c", sys.argv[1], sys.argv[2]], {}, grace_seconds=1.0))
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("stop_signal", [pytest.param(signal.SIGTERM, id="SIGTERM"),
                                         pytest.param(signal.SIGINT, id="Ctrl-C")])
def test_stopping_a_local_server_stops_every_process_it_started(tmp_path, stop_signal):
    # GIVEN a server tree running under run_until_stopped
    pids_file = tmp_path / "pids"
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, PROCESS_TREE, str(pids_file)],
                                  env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "include")})
    try:
        deadline = time.monotonic() + 30
        while not pids_file.exists():
            assert supervisor.poll() is None and time.monotonic() < deadline, "the process tree did not start"
            time.sleep(0.05)
        pids = [int(p) for p in pids_file.read_text().split()]
        assert all(_running(pid) for pid in pids)
        # WHEN it is asked to stop
        supervisor.send_signal(stop_signal)
        # THEN it exits cleanly and no process of the tree is left, the SIGTERM-ignoring one included
        assert supervisor.wait(timeout=30) == 0
        assert [pid for pid in pids if _running(pid)] == []
    finally:
        if supervisor.poll() is None:
            supervisor.terminate()
            supervisor.wait(timeout=30)


def _without_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(name)


def test_a_sync_run_without_its_connection_names_the_variable_to_set(monkeypatch, capsys, tmp_path):
    _without_connections(monkeypatch)
    assert sync_main(["run", "stock_ebay", "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "set AIRFLOW_CONN_NARROWCAST_EBAY" in err
    assert not (tmp_path / "w.duckdb").exists()


def test_an_unreadable_connection_is_named_without_printing_its_token(monkeypatch, capsys, tmp_path):
    _without_connections(monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_EBAY", '{"password": "v^1.1#secret-user-token", "host": ')
    assert sync_main(["run", "stock_ebay", "--dry-run", "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    captured = capsys.readouterr()
    assert "AIRFLOW_CONN_NARROWCAST_EBAY is not an Airflow connection" in captured.err
    assert "secret-user-token" not in captured.out + captured.err


def test_a_dry_run_before_the_warehouse_exists_says_how_to_build_it(monkeypatch, capsys, tmp_path):
    _without_connections(monkeypatch)
    assert sync_main(["run", "stock_ebay", "--dry-run", "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    err = capsys.readouterr().err
    assert f"warehouse {tmp_path / 'w.duckdb'} does not exist: run `make demo`" in err
    assert not (tmp_path / "w.duckdb").exists()
