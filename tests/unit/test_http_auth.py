"""OAuth token lifecycle: refresh-token grants per vendor, tokens cached until shortly before expiry, one renewal
and one retry when the API rejects a token, and refusals that name the connection but never a secret."""

from __future__ import annotations

import json

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from narrowcast.apis import amazon, ebay, google_ads
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, FatalApiError, HttpClient, RefreshingAuth, TokenRefreshError
from narrowcast.http.auth import RefreshGrant

SECRET, REFRESH = "client-secret-value", "refresh-token-value"


def answer(status: int, body: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
    response.url = "http://fake.invalid/"
    return response


class TokenEndpoint:
    """Stands in for the session that posts token requests: answers each in turn, records what was sent."""

    def __init__(self, *answers: requests.Response) -> None:
        self.answers = list(answers)
        self.sent: list[dict] = []

    def post(self, url, *, data, auth, timeout, headers):
        self.sent.append({"url": url, "form": dict(data), "auth": auth})
        return self.answers.pop(0)


def granted(token: str, expires_in: int = 3600, **more) -> requests.Response:
    return answer(200, {"access_token": token, "expires_in": expires_in, "token_type": "bearer", **more})


def oauth_conn(conn_id: str, **extra) -> Connection:
    return Connection(conn_id, "https://api.test", login="client-id", password=SECRET,
                      extra={"refresh_token": REFRESH, **extra})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("module", "conn_id", "token_url", "basic", "scope"), [
    pytest.param(amazon, "narrowcast_amazon", "https://api.amazon.com/auth/o2/token", False, None,
                 id="amazon-lwa-sends-the-client-in-the-form"),
    pytest.param(ebay, "narrowcast_ebay", "https://api.ebay.com/identity/v1/oauth2/token", True, ebay.SCOPES,
                 id="ebay-sends-the-client-as-basic-auth-and-the-consented-scopes"),
    pytest.param(google_ads, "narrowcast_google_ads", "https://oauth2.googleapis.com/token", False, None,
                 id="google-sends-the-client-in-the-form"),
])
def test_each_vendor_gets_the_refresh_grant_it_documents(module, conn_id, token_url, basic, scope):
    # GIVEN a connection with a client id, client secret and refresh token
    auth = module.auth(oauth_conn(conn_id, developer_token="d"))
    endpoint = TokenEndpoint(granted("access-1"))
    auth._session = endpoint
    # WHEN the first request asks for the token
    assert auth.token() == "access-1"
    # THEN one grant went to the vendor's endpoint in the vendor's shape
    [sent] = endpoint.sent
    assert sent["url"] == token_url
    assert sent["form"]["grant_type"] == "refresh_token" and sent["form"]["refresh_token"] == REFRESH
    if basic:
        assert sent["auth"] == ("client-id", SECRET) and "client_secret" not in sent["form"]
    else:
        assert sent["auth"] is None and sent["form"]["client_id"] == "client-id"
        assert sent["form"]["client_secret"] == SECRET
    assert sent["form"].get("scope") == scope


def test_a_connection_with_a_static_token_keeps_working_as_before():
    auth = amazon.auth(Connection("narrowcast_amazon", "https://api.test", password="static-token"))
    assert type(auth) is Auth and auth.headers() == {"x-amz-access-token": "static-token"}
    assert auth.renew() is False


def test_the_token_endpoint_can_be_pointed_elsewhere_by_the_connection():
    auth = google_ads.auth(oauth_conn("narrowcast_google_ads", developer_token="d", token_url="http://127.0.0.1:1/t"))
    assert auth.grant.token_url == "http://127.0.0.1:1/t"


def test_the_access_token_is_reused_until_shortly_before_it_expires():
    clock = Clock()
    endpoint = TokenEndpoint(granted("first", expires_in=3600), granted("second", expires_in=3600))
    auth = RefreshingAuth(RefreshGrant("c", "https://t", "id", SECRET, REFRESH), session=endpoint, clock=clock)
    assert auth.token() == "first"
    clock.now += 3600 - 61  # a minute before expiry it is still used
    assert auth.token() == "first" and auth.refreshes == 1
    clock.now += 2  # inside the last minute it is renewed, so it never expires in flight
    assert auth.token() == "second" and auth.refreshes == 2


def test_the_scopes_the_endpoint_reports_are_kept():
    endpoint = TokenEndpoint(granted("t", scope="https://www.googleapis.com/auth/adwords openid"))
    auth = RefreshingAuth(RefreshGrant("c", "https://t", "id", SECRET, REFRESH), session=endpoint)
    auth.token()
    assert auth.scopes == {"https://www.googleapis.com/auth/adwords", "openid"}


def test_a_revoked_refresh_token_fails_naming_the_connection_and_the_endpoint_error_without_secrets():
    endpoint = TokenEndpoint(answer(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}))
    auth = RefreshingAuth(RefreshGrant("narrowcast_google_ads", "https://oauth2.googleapis.com/token", "id", SECRET,
                                       REFRESH), session=endpoint)
    with pytest.raises(TokenRefreshError) as error:
        auth.token()
    message = str(error.value)
    assert message == ("connection 'narrowcast_google_ads': refreshing the access token at "
                       "https://oauth2.googleapis.com/token failed: invalid_grant (refresh token revoked or expired): "
                       "Token has been expired or revoked.")
    assert SECRET not in message and REFRESH not in message and SECRET not in repr(auth.grant)


class ApiSession:
    """The API side: answers each request in turn and records the token it carried."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.tokens: list[str] = []
        self.headers: CaseInsensitiveDict = CaseInsensitiveDict()

    def request(self, method, url, *, params, json, data, headers, timeout):
        self.tokens.append(headers.get("Authorization", "").removeprefix("Bearer "))
        status = self.statuses.pop(0)
        return answer(status, {"ok": True} if status == 200 else {"errors": [{"message": "Invalid access token"}]})


def client_with(auth: Auth, session: ApiSession) -> HttpClient:
    return HttpClient("https://api.test", auth=auth, session=session, sleep=lambda _s: None)


def bearer_auth(endpoint: TokenEndpoint) -> RefreshingAuth:
    return RefreshingAuth(RefreshGrant("c", "https://t", "id", SECRET, REFRESH), session=endpoint,
                          headers=lambda token: {"Authorization": f"Bearer {token}"})


def test_a_rejected_token_is_refreshed_once_and_the_request_retried_once():
    endpoint = TokenEndpoint(granted("stale"), granted("fresh"))
    session = ApiSession(401, 200)
    client = client_with(bearer_auth(endpoint), session)
    assert client.get_json("orders") == {"ok": True}
    assert session.tokens == ["stale", "fresh"] and len(endpoint.sent) == 2
    assert client.calls == 2 and client.retries == 0


def test_a_second_rejection_after_the_refresh_is_fatal():
    endpoint = TokenEndpoint(granted("one"), granted("two"))
    session = ApiSession(401, 401)
    client = client_with(bearer_auth(endpoint), session)
    with pytest.raises(FatalApiError) as error:
        client.get_json("orders")
    assert error.value.status == 401 and session.tokens == ["one", "two"] and len(endpoint.sent) == 2


def test_a_static_token_rejected_by_the_api_is_fatal_at_once():
    session = ApiSession(401)
    client = client_with(Auth("static", headers=lambda t: {"Authorization": f"Bearer {t}"}), session)
    with pytest.raises(FatalApiError):
        client.get_json("orders")
    assert session.tokens == ["static"]


@pytest.mark.parametrize(("status", "code", "rejected"), [
    pytest.param(403, "Unauthorized", True, id="sp-api-403-unauthorized-is-a-rejected-token"),
    pytest.param(403, "AccessDenied", False, id="sp-api-other-403-is-not"),
    pytest.param(401, "Unauthorized", True, id="sp-api-401-is-a-rejected-token"),
])
def test_amazon_recognises_its_own_token_rejection(status, code, rejected):
    client = amazon.SellingPartnerApi("https://api.test", auth=Auth("t"))
    assert client.token_rejected(answer(status, {"errors": [{"code": code, "message": "m"}]})) is rejected

