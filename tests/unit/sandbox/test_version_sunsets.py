"""Each emulator answers a sunset API version the way its vendor documents, and the current default normally."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tiny_world import GOOGLE_CUSTOMER, META_ACCOUNT

from narrowcast.apis.versions import GOOGLE_ADS, KLAVIYO, META, SHOPIFY
from narrowcast.local_credentials import LOCAL_API_TOKEN
from narrowcast.sandbox.framework import create_app

GOOGLE_HEADERS = {"Authorization": f"Bearer {LOCAL_API_TOKEN}", "developer-token": "dev"}
KLAVIYO_AUTH = {"Authorization": f"Klaviyo-API-Key {LOCAL_API_TOKEN}"}
PROFILES = {"filter": 'equals(email,"a@b.invalid")'}


@pytest.fixture(scope="module")
def client(world_dir: Path) -> TestClient:
    return TestClient(create_app(world_dir, only=["shopify", "meta_insights", "google_ads_reporting", "klaviyo"]))


def test_shopify_falls_forward_from_a_sunset_version_and_says_which_version_answered(client):
    shop = {"query": "{ shop { name } }"}
    headers = {"X-Shopify-Access-Token": LOCAL_API_TOKEN}
    old = client.post("/shopify/admin/api/2024-10/graphql.json", headers=headers, json=shop)
    assert old.status_code == 200 and old.headers["X-Shopify-API-Version"] == "2026-01"
    current = client.post(f"/shopify/admin/api/{SHOPIFY.default}/graphql.json", headers=headers, json=shop)
    assert current.status_code == 200 and current.headers["X-Shopify-API-Version"] == SHOPIFY.default
    assert current.json()["data"] == {"shop": {"name": "Narrowcast Demo Shop"}}


def test_meta_refuses_an_expired_version_with_error_2635(client):
    params = {"access_token": LOCAL_API_TOKEN, "level": "campaign", "time_increment": "1",
              "time_range": '{"since":"2024-01-01","until":"2024-01-02"}'}
    old = client.get(f"/meta/v21.0/act_{META_ACCOUNT}/insights", params=params)
    assert old.status_code == 400 and old.json()["error"]["code"] == 2635
    assert f"latest version: {META.default}" in old.json()["error"]["message"]
    assert client.get(f"/meta/{META.default}/act_{META_ACCOUNT}/insights", params=params).status_code == 200


def test_google_ads_answers_a_sunset_version_with_not_found(client):
    body = {"query": "SELECT campaign.id FROM campaign"}
    old = client.post(f"/google_ads/v18/customers/{GOOGLE_CUSTOMER}/googleAds:searchStream", json=body,
                      headers=GOOGLE_HEADERS)
    assert old.status_code == 404 and old.text == "Not Found"
    current = client.post(f"/google_ads/{GOOGLE_ADS.default}/customers/{GOOGLE_CUSTOMER}/googleAds:searchStream",
                          json=body, headers=GOOGLE_HEADERS)
    assert current.status_code == 200


def test_klaviyo_falls_forward_from_a_retired_revision_unless_the_request_opts_out_then_answers_410(client):
    retired = {**KLAVIYO_AUTH, "revision": "2024-10-15"}
    assert client.get("/klaviyo/api/profiles/", params=PROFILES, headers=retired).status_code == 200
    opted_out = client.get("/klaviyo/api/profiles/", params=PROFILES,
                           headers={**retired, "X-Klaviyo-Revision-Fall-Forward-Opt-Out": "1"})
    assert opted_out.status_code == 410
    current = client.get("/klaviyo/api/profiles/", params=PROFILES,
                         headers={**KLAVIYO_AUTH, "revision": KLAVIYO.default, "X-Klaviyo-Revision-Fall-Forward-Opt-Out": "1"})
    assert current.status_code == 200
