"""``narrowcast doctor`` against the sandbox: every sandbox connection healthy, and each kind of problem (a sunset
API version, a revoked refresh token, an expired token) named on its connection's line with a non-zero exit."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from narrowcast import doctor
from narrowcast.apis import versions
from narrowcast.local_credentials import LOCAL_API_TOKEN, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.runtime import SANDBOX_CONNECTIONS, sandbox_connection_json
from narrowcast.sandbox.emulators import oauth
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sandbox.tokens import TokenPolicy

TODAY = "2026-12-05"


@pytest.fixture(scope="module")
def full_sandbox(world_dir: Path) -> Iterator[SandboxServer]:
    with SandboxServer(world_dir, tokens=TokenPolicy("tokens", 30)) as server:
        yield server


@pytest.fixture(autouse=True)
def _tokens_mode(full_sandbox: SandboxServer) -> None:
    full_sandbox.tokens(mode="tokens", lifetime_seconds=30)


def env_for(server: SandboxServer, **changes: dict) -> dict[str, str]:
    """The sandbox connections as ``AIRFLOW_CONN_*``; ``changes`` updates a connection's JSON fields."""
    env = {}
    for conn_id in SANDBOX_CONNECTIONS:
        raw = json.loads(sandbox_connection_json(conn_id, server.url))
        for key, value in changes.get(conn_id, {}).items():
            if key == "extra":
                raw["extra"].update(value)
            elif value is None:
                raw.pop(key, None)
            else:
                raw[key] = value
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(raw)
    return env


def run(capsys, env: dict[str, str]) -> tuple[int, dict[str, str], str]:
    code = doctor.main(["--today", TODAY], env)
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()}
    return code, lines, out


def test_every_sandbox_connection_is_healthy(full_sandbox, capsys):
    code, lines, out = run(capsys, env_for(full_sandbox))
    assert code == 0, out
    assert sorted(lines) == sorted(SANDBOX_CONNECTIONS)
    assert all(line.split()[1] == "ok" for line in lines.values()), out
    assert "authenticated" in lines["narrowcast_amazon"] and "token refreshed" in lines["narrowcast_amazon"]
    assert "data_manager version v1" in lines["narrowcast_google_data_manager"]
    assert "token refreshed" in lines["narrowcast_google_data_manager"]
    assert "authenticated" in lines["narrowcast_google_data_manager"]
    assert "google_ads version v26" in lines["narrowcast_google_ads"]
    assert "token does not expire" in lines["narrowcast_meta"]
    for secret in (LOCAL_API_TOKEN, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN):
        assert secret not in out


@pytest.mark.parametrize(("conn_id", "extra", "named"), [
    pytest.param("narrowcast_google_ads", {"api_version": "v18"}, "google_ads version v18 was sunset on 2025-08-20",
                 id="google-ads-v18-is-sunset"),
    pytest.param("narrowcast_meta", {"api_version": "v21.0"}, "meta version v21.0 was sunset on 2025-09-09",
                 id="meta-v21-is-expired"),
    pytest.param("narrowcast_shopify", {"api_version": "2024-10"}, "Shopify answered with version 2026-01, not 2024-10",
                 id="shopify-2024-10-falls-forward"),
    pytest.param("narrowcast_klaviyo", {"revision": "2024-10-15"}, "klaviyo version 2024-10-15 was sunset on 2026-10-15",
                 id="klaviyo-2024-revision-is-retired"),
])
def test_a_sunset_version_is_named_and_fails(full_sandbox, capsys, conn_id, extra, named):
    code, lines, out = run(capsys, env_for(full_sandbox, **{conn_id: {"extra": extra}}))
    assert code == 1
    assert lines[conn_id].split()[1] == "FAIL" and named in lines[conn_id], out
    assert [c for c, line in lines.items() if line.split()[1] != "ok"] == [conn_id]


def test_a_version_within_90_days_of_sunset_warns_without_failing(full_sandbox, capsys):
    code, lines, _ = run(capsys, env_for(full_sandbox, narrowcast_klaviyo={"extra": {"revision": "2025-01-15"}}))
    assert code == 0
    assert lines["narrowcast_klaviyo"].split()[1] == "WARN"
    assert "klaviyo version 2025-01-15 is sunset on 2027-01-15" in lines["narrowcast_klaviyo"]


def test_a_revoked_refresh_token_is_named_on_each_oauth_connection(full_sandbox, capsys):
    full_sandbox.tokens(mode="tokens", lifetime_seconds=30, revoked=True)
    code, lines, out = run(capsys, env_for(full_sandbox))
    assert code == 1
    for conn_id in ("narrowcast_amazon", "narrowcast_ebay", "narrowcast_google_ads", "narrowcast_google_data_manager"):
        assert lines[conn_id].split()[1] == "FAIL"
        assert "invalid_grant (refresh token revoked or expired)" in lines[conn_id]
    assert lines["narrowcast_shopify"].split()[1] == "ok"
    assert LOCAL_REFRESH_TOKEN not in out and LOCAL_CLIENT_SECRET not in out


def test_an_expired_meta_token_fails(full_sandbox, capsys):
    code, lines, _ = run(capsys, env_for(full_sandbox, narrowcast_meta={"extra": {"token_expires_at": "2026-11-30"}}))
    assert code == 1
    assert "token (declared) expired on 2026-11-30 00:00 UTC" in lines["narrowcast_meta"]


def test_an_expired_static_token_is_not_authenticated(full_sandbox, capsys):
    # GIVEN an eBay connection holding a plain access token, which the tokens-mode sandbox no longer accepts
    static = {"login": None, "password": "an-expired-access-token", "extra": {"refresh_token": ""}}
    code, lines, out = run(capsys, env_for(full_sandbox, narrowcast_ebay=static))
    assert code == 1
    assert "not authenticated" in lines["narrowcast_ebay"] and "errorId 1001" in lines["narrowcast_ebay"]
    assert "static access token" in lines["narrowcast_ebay"]
    assert "an-expired-access-token" not in out


# ---- the Google Data Manager connection -------------------------------------------------------------------------
DATA_MANAGER = "narrowcast_google_data_manager"


def test_the_data_manager_connection_with_an_invalid_static_token_is_not_authenticated(full_sandbox, capsys):
    # GIVEN a Data Manager connection holding a plain access token the sandbox never issued (or that expired)
    static = {"login": None, "password": "ya29.an-expired-access-token", "extra": {"refresh_token": ""}}
    # WHEN the doctor runs
    code, lines, out = run(capsys, env_for(full_sandbox, **{DATA_MANAGER: static}))
    # THEN that connection fails as not authenticated (Google's UNAUTHENTICATED), and the token is not printed
    assert code == 1
    assert lines[DATA_MANAGER].split()[1] == "FAIL"
    assert "not authenticated" in lines[DATA_MANAGER] and "UNAUTHENTICATED" in lines[DATA_MANAGER]
    assert "static access token" in lines[DATA_MANAGER]
    assert "an-expired-access-token" not in out
    assert [c for c, line in lines.items() if line.split()[1] == "FAIL"] == [DATA_MANAGER]


def test_a_data_manager_version_past_its_sunset_fails(full_sandbox, capsys, monkeypatch):
    # GIVEN the versions table announcing v1's sunset before today
    monkeypatch.setattr(versions, "DATA_MANAGER",
                        dataclasses.replace(versions.DATA_MANAGER, sunsets={"v1": date(2026, 11, 1)}))
    # WHEN the doctor runs
    code, lines, out = run(capsys, env_for(full_sandbox))
    # THEN the Data Manager connection fails, naming the version and its sunset
    assert code == 1
    assert lines[DATA_MANAGER].split()[1] == "FAIL"
    assert "data_manager version v1 was sunset on 2026-11-01" in lines[DATA_MANAGER], out
    for secret in (LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN):
        assert secret not in out


def test_a_data_manager_version_the_api_does_not_serve_fails(full_sandbox, capsys):
    code, lines, out = run(capsys, env_for(full_sandbox, **{DATA_MANAGER: {"extra": {"api_version": "v2"}}}))
    assert code == 1
    assert lines[DATA_MANAGER].split()[1] == "FAIL"
    assert "data_manager version v2 is not a version Narrowcast knows" in lines[DATA_MANAGER]
    assert "GET /data_manager/v2/requestStatus:retrieve failed (HTTP 404)" in lines[DATA_MANAGER], out


def test_a_data_manager_token_granted_without_the_datamanager_scope_fails(full_sandbox, capsys, monkeypatch):
    # GIVEN Google's token endpoint granting the Google Ads scope only
    monkeypatch.setattr(oauth, "GOOGLE_GRANTED_SCOPES", "https://www.googleapis.com/auth/adwords")
    # WHEN the doctor runs
    code, lines, out = run(capsys, env_for(full_sandbox))
    # THEN the Data Manager connection fails on the missing scope; Google Ads, which needs only adwords, passes
    assert code == 1
    assert "the token lacks the scope https://www.googleapis.com/auth/datamanager" in lines[DATA_MANAGER], out
    assert "authenticated" not in lines[DATA_MANAGER]
    assert lines["narrowcast_google_ads"].split()[1] == "ok"


def test_an_amazon_connection_pinning_orders_v0_passes_until_its_removal_date_and_fails_after(full_sandbox, capsys):
    env = env_for(full_sandbox, narrowcast_amazon={"extra": {"api_version": "v0"}})
    code, lines, out = run(capsys, env)
    assert lines["narrowcast_amazon"].split()[1] == "ok", out
    assert "amazon_orders version v0 (supported until 2027-03-27)" in lines["narrowcast_amazon"]
    assert doctor.main(["--today", "2027-04-01"], env) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("narrowcast_amazon"))
    assert "amazon_orders version v0 was sunset on 2027-03-27; use 2026-01-01" in line
