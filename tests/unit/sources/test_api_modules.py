"""The per-service API modules: a source and its destination build their client from a connection the same
way (auth, API version, retry settings), versions are overridable per connection, and auth is asked per request."""

from __future__ import annotations

from datetime import datetime

import pytest
from fake_http import FakeSession, reply

from narrowcast.activation.destinations import DESTINATIONS
from narrowcast.activation.destinations.base import SendContext
from narrowcast.activation.spec import load_syncs
from narrowcast.apis import amazon, data_manager, ebay, etsy, google_ads, klaviyo, meta, shopify
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import Auth, FatalApiError, HttpClient, RetriableApiError, RetryPolicy, TokenBucket
from narrowcast.sources import amazon as amazon_source
from narrowcast.sources import ebay as ebay_source
from narrowcast.sources import google_ads as google_source
from narrowcast.sources import meta_ads as meta_source
from narrowcast.sources import shopify as shopify_source

RETRY_EXTRAS = {"max_attempts": 2, "retry_base_delay": 0.25, "retry_max_delay": 1.5, "timeout_seconds": 12}
EXTRAS = {"developer_token": "dev", "ad_account_id": "1", "customer_id": "1", "marketplace_ids": "M1",
          "marketplace_id": "M1", "seller_id": "S1", "location_id": "7"}
# (source client, destination name, the destination's object and target)
PAIRS = [
    pytest.param(shopify_source.ShopifyClient, "shopify_inventory", "inventory_level", {}, id="shopify"),
    pytest.param(meta_source.MetaClient, "meta_audiences", "custom_audience", {"audience_id": "1"}, id="meta"),
    pytest.param(google_source.GoogleAdsClient, "google_customer_match", "customer_match_list",
                 {"customer_id": "1", "user_list_id": "2"}, id="google ads"),
    pytest.param(ebay_source.EbayClient, "ebay_inventory", "offer", {}, id="ebay"),
    pytest.param(amazon_source.AmazonClient, "amazon_listings", "listing", {}, id="amazon"),
]


def destination_client(name: str, conn: Connection, obj: str, target: dict) -> HttpClient:
    context = SendContext(connection=conn, target=target, object=obj, rate_limiter=TokenBucket(5.0))
    return DESTINATIONS[name](context).client


@pytest.mark.parametrize(("source_client", "destination", "obj", "target"), PAIRS)
def test_a_connections_retry_settings_reach_the_source_and_the_destination_alike(source_client, destination, obj,
                                                                                   target):
    conn = Connection(DESTINATIONS[destination].connection_id, "https://api.test", password="tok",
                      extra={**EXTRAS, **RETRY_EXTRAS})
    source = source_client.from_connection(conn)
    dest = destination_client(destination, conn, obj, target)
    assert source.retry == dest.retry == RetryPolicy(max_attempts=2, base_delay=0.25, max_delay=1.5)
    assert source.timeout == dest.timeout == (5.0, 12.0)
    # the same credential, placed by the API module (Meta's audiences put it in the body instead)
    assert source.auth.token() == dest.auth.token() == "tok"


def test_a_source_gives_up_after_the_attempts_its_connection_allows():
    # GIVEN a connection that allows two attempts, and a shop that keeps answering 503
    conn = Connection("narrowcast_shopify", "https://acme.myshopify.com", password="tok",
                      extra={"max_attempts": 2, "retry_base_delay": 0, "retry_max_delay": 0})
    session = FakeSession(*[reply(503, {"errors": "Service Unavailable"})] * 3)
    client = shopify_source.ShopifyClient.from_connection(conn, session=session, sleep=lambda s: None)
    # WHEN the source extracts, THEN it stops after two requests
    with pytest.raises(RetriableApiError, match="gave up after 2 attempts"):
        list(shopify_source.extract(conn, Window(datetime(2024, 3, 1), datetime(2024, 3, 2)), client=client))
    assert len(session.sent) == 2


@pytest.mark.parametrize(("api", "extra", "expected"), [
    pytest.param(shopify.ShopifyApi, {}, shopify.DEFAULT_API_VERSION, id="shopify default"),
    pytest.param(shopify.ShopifyApi, {"api_version": "2025-01"}, "2025-01", id="shopify from the connection"),
    pytest.param(meta.GraphApi, {}, meta.DEFAULT_API_VERSION, id="meta default"),
    pytest.param(meta.GraphApi, {"api_version": "v22.0"}, "v22.0", id="meta from the connection"),
    pytest.param(google_ads.GoogleAdsApi, {"developer_token": "d"}, google_ads.DEFAULT_API_VERSION,
                 id="google ads default"),
    pytest.param(google_ads.GoogleAdsApi, {"developer_token": "d", "api_version": "v19"}, "v19",
                 id="google ads from the connection"),
])
def test_the_api_version_defaults_per_service_and_a_connection_can_override_it(api, extra, expected):
    assert api.from_connection(Connection("c", "https://api.test", password="tok", extra=extra)).api_version == expected


def test_todays_default_versions_are_kept():
    assert (shopify.DEFAULT_API_VERSION, meta.DEFAULT_API_VERSION, google_ads.DEFAULT_API_VERSION,
            klaviyo.DEFAULT_REVISION) == ("2026-10", "v27.0", "v26", "2026-10-15")


def test_the_version_from_the_connection_is_in_the_paths_the_source_and_destination_send():
    conn = Connection("narrowcast_shopify", "https://acme.myshopify.com", password="tok",
                      extra={"api_version": "2025-01"})
    session = FakeSession(reply(body={"data": {"shop": {"name": "acme"}}}))
    client = shopify_source.ShopifyClient.from_connection(conn, session=session)
    client.graphql("{ shop { name } }")
    assert session.sent[0].path == "/admin/api/2025-01/graphql.json"
    assert shopify.ShopifyApi.from_connection(conn).graphql_path == "admin/api/2025-01/graphql.json"


@pytest.mark.parametrize(("api", "default"), [
    pytest.param(meta.GraphApi, "https://graph.facebook.com", id="meta"),
    pytest.param(google_ads.GoogleAdsApi, "https://googleads.googleapis.com", id="google ads"),
    pytest.param(ebay.EbayApi, "https://api.ebay.com", id="ebay"),
    pytest.param(klaviyo.KlaviyoApi, "https://a.klaviyo.com", id="klaviyo"),
])
def test_a_connection_without_a_host_uses_the_services_public_base_url(api, default):
    conn = Connection("c", "", password="tok", extra={"developer_token": "d"})
    assert api.from_connection(conn).base_url == default
    assert api.from_connection(Connection("c", "http://127.0.0.1:9/x", password="tok",
                                          extra={"developer_token": "d"})).base_url == "http://127.0.0.1:9/x"


class RefreshingToken(Auth):
    """What an OAuth refresh looks like from the client's side: a new token from the next request on."""

    def __init__(self) -> None:
        super().__init__("expired", headers=lambda token: {"Authorization": f"Bearer {token}"})
        self.tokens = iter(["first", "refreshed"])

    def token(self) -> str:
        return next(self.tokens)


def test_auth_is_asked_on_every_request_so_a_refreshed_token_is_used_next():
    session = FakeSession(reply(body={}), reply(body={}))
    client = HttpClient("https://api.test", auth=RefreshingToken(), session=session)
    client.get_json("a")
    client.get_json("b")
    assert [s.headers["Authorization"] for s in session.sent] == ["Bearer first", "Bearer refreshed"]


@pytest.mark.parametrize(("api", "extra", "headers"), [
    pytest.param(shopify, {}, {"X-Shopify-Access-Token": "s3cr3t"}, id="shopify"),
    pytest.param(google_ads, {"developer_token": "d", "login_customer_id": "111-222-3333"},
                 {"Authorization": "Bearer s3cr3t", "developer-token": "d", "login-customer-id": "1112223333"},
                 id="google ads"),
    pytest.param(ebay, {}, {"Authorization": "Bearer s3cr3t"}, id="ebay"),
    pytest.param(amazon, {}, {"x-amz-access-token": "s3cr3t"}, id="amazon"),
    pytest.param(klaviyo, {}, {"Authorization": "Klaviyo-API-Key s3cr3t"}, id="klaviyo"),
])
def test_each_service_places_its_credential_in_its_own_headers(api, extra, headers):
    auth = api.auth(Connection("c", "https://api.test", password="s3cr3t", extra=extra))
    assert auth.headers() == headers and auth.params() == {}
    assert "s3cr3t" not in repr(auth)


def test_meta_reads_send_the_token_as_a_query_parameter_and_audience_writes_do_not():
    conn = Connection("narrowcast_meta", "https://graph.facebook.com", password="tok")
    assert meta.auth(conn).params() == {"access_token": "tok"}
    assert meta.auth(conn, in_query=False).params() == {} and meta.auth(conn, in_query=False).headers() == {}


def test_every_destination_declares_the_connection_its_shipped_syncs_use():
    for spec in load_syncs():
        assert DESTINATIONS[spec.destination].connection_id == spec.connection, spec.id
    assert {cls.connection_id for cls in DESTINATIONS.values()} == {
        shopify.CONNECTION_ID, meta.CONNECTION_ID, google_ads.CONNECTION_ID, data_manager.CONNECTION_ID,
        ebay.CONNECTION_ID, amazon.CONNECTION_ID, klaviyo.CONNECTION_ID, etsy.CONNECTION_ID}


def test_shopify_http_errors_are_never_taken_for_graphql_throttling():
    # Only a 200 GraphQL answer can be THROTTLED; a 4xx with an errors list stays the fatal error it is.
    conn = Connection("narrowcast_shopify", "https://acme.myshopify.com", password="tok")
    refused = FakeSession(reply(403, {"errors": [{"message": "Access denied", "extensions": {"code": "THROTTLED"}}]}))
    client = shopify_source.ShopifyClient.from_connection(conn, session=refused)
    with pytest.raises(FatalApiError, match="HTTP 403"):
        client.graphql("{ shop { name } }")
    assert len(refused.sent) == 1
