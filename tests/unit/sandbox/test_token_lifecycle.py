"""Token lifecycle against the sandbox in tokens mode: the Amazon, eBay and Google emulators accept only
short-lived tokens from the sandbox's token endpoints, so these runs prove refresh mid-run, the one retry after a
rejection, a clear failure for a revoked refresh token, and each vendor's token endpoint and refusal shapes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
from tiny_world import EMULATORS, GOOGLE_CUSTOMER, WORLD_DAYS, WORLD_START

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError, TokenRefreshError
from narrowcast.local_credentials import (
    LOCAL_API_TOKEN,
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
)
from narrowcast.runtime import SANDBOX_TOKEN_ENDPOINTS
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sandbox.tokens import TokenPolicy
from narrowcast.sources import amazon, ebay, google_ads

WHOLE_WORLD = Window(WORLD_START - timedelta(days=1), WORLD_START + timedelta(days=WORLD_DAYS + 1))
LIFETIME = 1.0


@pytest.fixture(scope="module")
def tokens_sandbox(world_dir: Path) -> Iterator[SandboxServer]:
    with SandboxServer(world_dir, only=[*EMULATORS, "oauth"], tokens=TokenPolicy("tokens", LIFETIME)) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_tokens(tokens_sandbox: SandboxServer) -> Iterator[None]:
    tokens_sandbox.tokens(mode="tokens", lifetime_seconds=LIFETIME)
    yield
    tokens_sandbox.faults("all")


def oauth_connection(server: SandboxServer, prefix: str, conn_id: str, refresh_token: str = LOCAL_REFRESH_TOKEN,
                     **extra: object) -> Connection:
    return Connection(conn_id, f"{server.url}/{prefix}", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
                      extra={"refresh_token": refresh_token, "token_url": f"{server.url}/{SANDBOX_TOKEN_ENDPOINTS[conn_id]}",
                             **extra})


def test_a_run_longer_than_a_token_life_refreshes_mid_run_and_gets_every_row(tokens_sandbox, world_dir):
    # GIVEN LWA tokens that live one second and an SP-API that answers each request after 20 ms
    # Orders v0 (one getOrderItems call per order): enough requests for the run to outlive several tokens.
    conn = oauth_connection(tokens_sandbox, "amazon", "narrowcast_amazon",
                            marketplace_ids="A1PA6795UKMFR9,A13V1IB3VIYZZH", api_version="v0")
    tokens_sandbox.faults("amazon", latency_ms=20)
    client = amazon.AmazonClient.from_connection(conn, sleep=lambda _s: None)
    # WHEN the Orders extract pages through every order and its items (well over a second)
    rows = [r for page in amazon.extract(conn, WHOLE_WORLD, client=client) if page.entity == "amazon_orders"
            for r in page.records]
    # THEN every order arrived, through several tokens, each one granted by the token endpoint
    world_orders = {o["amazon_order_id"] for o in pq.read_table(world_dir / "amazon_orders.parquet").to_pylist()}
    assert {r["amazon_order_id"] for r in rows} == world_orders
    stats = tokens_sandbox.token_stats()
    assert client.auth.refreshes >= 2
    assert stats["grants"] == {"amazon": client.auth.refreshes}


def test_a_rejected_token_triggers_exactly_one_refresh_and_one_retry(tokens_sandbox):
    # GIVEN an eBay client holding a valid token
    conn = oauth_connection(tokens_sandbox, "ebay", "narrowcast_ebay")
    client = ebay.EbayClient.from_connection(conn, sleep=lambda _s: None)
    client.get_json("sell/fulfillment/v1/order", params={"limit": 1})
    assert client.auth.refreshes == 1
    # WHEN the sandbox forgets every token it issued (as if it had been revoked) and the client calls again
    tokens_sandbox.tokens(mode="tokens", lifetime_seconds=60)
    calls = client.calls
    client.get_json("sell/fulfillment/v1/order", params={"limit": 1})
    # THEN the 401 led to one new token and one more request, and nothing else
    assert client.auth.refreshes == 2 and client.calls - calls == 2 and client.retries == 0
    assert tokens_sandbox.token_stats()["rejected"] == {"ebay": 1}


def test_a_token_still_rejected_after_the_refresh_fails_after_one_retry(tokens_sandbox):
    conn = oauth_connection(tokens_sandbox, "ebay", "narrowcast_ebay")
    client = ebay.EbayClient.from_connection(conn, sleep=lambda _s: None)
    tokens_sandbox.faults("ebay", auth_failure=True)
    with pytest.raises(FatalApiError) as error:
        client.get_json("sell/fulfillment/v1/order", params={"limit": 1})
    assert error.value.status == 401 and "errorId 1001" in str(error.value)
    assert client.calls == 2 and client.auth.refreshes == 2


def test_a_revoked_refresh_token_fails_with_a_clear_error(tokens_sandbox):
    tokens_sandbox.tokens(mode="tokens", lifetime_seconds=LIFETIME, revoked=True)
    conn = oauth_connection(tokens_sandbox, "google_ads", "narrowcast_google_ads", customer_id=str(GOOGLE_CUSTOMER),
                            developer_token="dev")
    with pytest.raises(TokenRefreshError) as error:
        list(google_ads.extract(conn, WHOLE_WORLD))
    message = str(error.value)
    assert message.startswith("connection 'narrowcast_google_ads': refreshing the access token at "
                              f"{tokens_sandbox.url}/oauth/google/token failed: invalid_grant (refresh token "
                              "revoked or expired)")
    assert LOCAL_REFRESH_TOKEN not in message and LOCAL_CLIENT_SECRET not in message


def test_the_fixed_local_token_is_refused_in_tokens_mode_with_each_vendors_shape(tokens_sandbox):
    url = tokens_sandbox.url
    amazon_answer = requests.get(f"{url}/amazon/orders/v0/orders", params={"MarketplaceIds": "A1PA6795UKMFR9",
                                 "CreatedAfter": "2020-01-01T00:00:00Z"}, headers={"x-amz-access-token": LOCAL_API_TOKEN},
                                 timeout=10)
    assert amazon_answer.status_code == 403 and amazon_answer.json()["errors"][0]["code"] == "Unauthorized"
    ebay_answer = requests.get(f"{url}/ebay/sell/fulfillment/v1/order",
                               headers={"Authorization": f"Bearer {LOCAL_API_TOKEN}"}, timeout=10)
    assert ebay_answer.status_code == 401 and ebay_answer.json()["errors"][0]["errorId"] == 1001


@pytest.mark.parametrize(("vendor", "path", "client_in", "expected"), [
    pytest.param("amazon", "oauth/amazon/auth/o2/token", "form", {"token_type", "refresh_token"},
                 id="login-with-amazon"),
    pytest.param("ebay", "oauth/ebay/identity/v1/oauth2/token", "basic", {"token_type"}, id="ebay"),
    pytest.param("google", "oauth/google/token", "form", {"token_type", "scope"}, id="google"),
])
def test_each_token_endpoint_answers_in_its_vendors_shape(tokens_sandbox, vendor, path, client_in, expected):
    form = {"grant_type": "refresh_token", "refresh_token": LOCAL_REFRESH_TOKEN}
    headers = {}
    if client_in == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{LOCAL_CLIENT_ID}:{LOCAL_CLIENT_SECRET}".encode()).decode()
        form["scope"] = "https://api.ebay.com/oauth/api_scope/sell.inventory"
    else:
        form |= {"client_id": LOCAL_CLIENT_ID, "client_secret": LOCAL_CLIENT_SECRET}
    body = requests.post(f"{tokens_sandbox.url}/{path}", data=form, headers=headers, timeout=10).json()
    assert body["access_token"] and body["expires_in"] == 1
    assert {"access_token", "expires_in", *expected} <= set(body)
    refused = requests.post(f"{tokens_sandbox.url}/{path}", data={**form, "refresh_token": "other"}, headers=headers,
                            timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("policy", [
    pytest.param({"mode": "sometimes"}, id="unknown-mode"),
    pytest.param({"mode": "tokens", "lifetime_seconds": 0}, id="non-positive-lifetime"),
    pytest.param({"lifetime": 2}, id="unknown-setting"),
])
def test_an_invalid_token_policy_is_refused(tokens_sandbox, policy):
    answer = requests.put(f"{tokens_sandbox.url}/_sandbox/tokens", json=policy, timeout=5)
    assert answer.status_code == 400 and tokens_sandbox.token_stats()["mode"] == "tokens"
