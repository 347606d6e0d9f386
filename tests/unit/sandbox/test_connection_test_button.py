"""The Airflow UI's connection "Test" button for Narrowcast connections: Airflow's providers manager finds the
``narrowcast_<service>`` connection types, and testing one runs the doctor's check against the sandbox, answering
ok for a healthy connection and naming the problem (never a secret) otherwise."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from narrowcast import doctor
from narrowcast.local_credentials import LOCAL_API_TOKEN, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.runtime import airflow_env, sandbox_connection_json, ui_env
from narrowcast.sandbox.server import SandboxServer

pytest.importorskip("airflow")

SECRETS = (LOCAL_API_TOKEN, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN)


@pytest.fixture(scope="module")
def full_sandbox(world_dir: Path) -> Iterator[SandboxServer]:
    """Every emulator, token endpoints included: the doctor's checks call Meta's debug_token and refresh OAuth."""
    with SandboxServer(world_dir) as server:
        yield server


def press_test(monkeypatch: pytest.MonkeyPatch, server: SandboxServer, conn_id: str, **extra: str) -> tuple[bool, str]:
    """What ``POST /api/v2/connections/test`` does with the form: a connection of the Narrowcast type under a
    random transient id, exported as ``AIRFLOW_CONN_*`` so the hook can read it, then ``test_connection()``."""
    from airflow.models.connection import Connection

    raw = json.loads(sandbox_connection_json(conn_id, server.url))
    conn = Connection(conn_id="tmp8f3k2q", conn_type=conn_id, host=raw["host"], login=raw.get("login"),
                      password=raw["password"], extra=json.dumps({**raw["extra"], **extra}))
    monkeypatch.setenv("AIRFLOW_CONN_TMP8F3K2Q", conn.get_uri())
    return conn.test_connection()


@pytest.mark.parametrize("manager", [
    pytest.param("airflow.providers_manager.ProvidersManager", id="the-api-server-s-providers-manager"),
    pytest.param("airflow.sdk.providers_manager_runtime.ProvidersManagerTaskRuntime", id="the-task-sdk-s"),
])
def test_airflow_discovers_one_testable_connection_type_per_service_the_doctor_checks(manager):
    module, _, name = manager.rpartition(".")
    providers = getattr(importlib.import_module(module), name)()
    assert "narrowcast" in providers.providers
    for conn_type in doctor.CHECKS:
        hook = providers.hooks[conn_type]
        assert hook is not None, conn_type
        assert hook.connection_type == conn_type and hook.package_name == "narrowcast" and hook.connection_testable
        assert hook.hook_class_name.startswith("narrowcast_airflow.hooks.")


@pytest.mark.parametrize("conn_id", ["narrowcast_shopify", "narrowcast_meta", "narrowcast_google_ads"])
def test_a_healthy_connection_tests_ok(monkeypatch, full_sandbox, conn_id):
    ok, message = press_test(monkeypatch, full_sandbox, conn_id)
    assert ok, message
    assert message.startswith("ok: ") and "authenticated" in message
    assert not any(secret in message for secret in SECRETS)


@pytest.mark.parametrize(("conn_id", "extra", "named"), [
    pytest.param("narrowcast_meta", {"token_expires_at": "2026-11-30"}, "token (declared) expired on 2026-11-30",
                 id="an-expired-meta-token"),
    pytest.param("narrowcast_meta", {"api_version": "v21.0"}, "meta version v21.0 was sunset on 2025-09-09",
                 id="a-sunset-meta-version"),
    pytest.param("narrowcast_google_ads", {"api_version": "v18"}, "google_ads version v18 was sunset on 2025-08-20",
                 id="a-sunset-google-ads-version"),
])
def test_a_connection_with_a_problem_fails_naming_it_without_its_secret(monkeypatch, full_sandbox, conn_id, extra, named):
    ok, message = press_test(monkeypatch, full_sandbox, conn_id, **extra)
    assert not ok
    assert message.startswith("FAIL: ") and named in message, message
    assert not any(secret in message for secret in SECRETS)


def test_a_host_without_its_scheme_fails_before_any_secret_is_sent(monkeypatch):
    from airflow.models.connection import Connection

    conn = Connection(conn_id="tmp8f3k2q", conn_type="narrowcast_klaviyo", host="a.klaviyo.com",
                      password=LOCAL_API_TOKEN)
    monkeypatch.setenv("AIRFLOW_CONN_TMP8F3K2Q", conn.get_uri())
    ok, message = conn.test_connection()
    assert not ok and "https://a.klaviyo.com" in message and LOCAL_API_TOKEN not in message


def test_airflows_test_route_answers_with_the_doctors_verdict(full_sandbox, tmp_path):
    # GIVEN an Airflow of its own with connection tests enabled, and the Test button's form for two connections
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    bodies = []
    for conn_id, extra in (("narrowcast_shopify", {}), ("narrowcast_meta", {"api_version": "v21.0"})):
        raw = json.loads(sandbox_connection_json(conn_id, full_sandbox.url))
        bodies.append({"connection_id": conn_id, "conn_type": conn_id, "host": raw["host"],
                       "password": raw["password"], "extra": json.dumps({**raw["extra"], **extra})})
    # WHEN they are posted to POST /api/v2/connections/test
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("airflow_test_route.py")), json.dumps(bodies)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    healthy, sunset = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    # THEN the healthy one passes and the sunset version fails by name, neither quoting the token
    assert healthy["http_status"] == 200 and healthy["status"] is True, healthy
    assert sunset["status"] is False and "meta version v21.0 was sunset on 2025-09-09" in sunset["message"], sunset
    assert LOCAL_API_TOKEN not in done.stdout


@pytest.mark.parametrize(("host", "enabled"), [
    pytest.param(None, "Enabled", id="the-loopback-ui-offers-the-test-button"),
    pytest.param("0.0.0.0", None, id="a-ui-on-every-interface-keeps-airflows-default"),
])
def test_the_local_ui_enables_connection_tests_only_on_loopback(tmp_path: Path, host, enabled):
    base = airflow_env({}, airflow_home=tmp_path, data_dir=tmp_path)
    if host:
        base["AIRFLOW__API__HOST"] = host
    assert ui_env(base, port=18080).get("AIRFLOW__CORE__TEST_CONNECTION") == enabled

