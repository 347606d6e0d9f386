"""How a request to an external API proves who sends it: headers or query parameters built from one token.

:meth:`Auth.token` is the only place a client reads its credential. A static token (an API key, a long-lived
system-user token) is the connection's password. An OAuth connection that configures a refresh-token grant
gets a :class:`RefreshingAuth`: it exchanges the refresh token at the vendor's token endpoint, keeps the
access token in memory until shortly before ``expires_in`` runs out, and drops it when the API rejects it
(:meth:`Auth.renew`) so the client refreshes once and retries. The client asks for :meth:`Auth.headers` and
:meth:`Auth.params` on every request, so nothing else changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import requests

from narrowcast.contracts.connections import Connection
from narrowcast.http.bodies import json_object

log = logging.getLogger(__name__)

# What RFC 6749 §5.2 error codes mean for the person fixing the connection.
_GRANT_ERRORS = {
    "invalid_grant": "refresh token revoked or expired",
    "invalid_client": "client id or client secret not accepted",
    "unauthorized_client": "this client may not use the refresh-token grant",
    "invalid_scope": "a requested scope was not granted with the refresh token",
    "invalid_request": "the token request is malformed",
}


class Auth:
    """One API's credential and where it goes: ``headers`` builds the request headers from the token,
    ``query_param`` names the query parameter that carries it (Graph API); either, both or neither."""

    def __init__(self, token: str, *, headers: Callable[[str], Mapping[str, str]] | None = None,
                 query_param: str | None = None) -> None:
        self._token = token
        self._headers = headers
        self._query_param = query_param

    def token(self) -> str:
        """The access token to send now."""
        return self._token

    def renew(self) -> bool:
        """Forget the access token the API just rejected; True when the next :meth:`token` fetches a new one.
        A static token cannot be renewed, so a rejection stays fatal."""
        return False

    def headers(self) -> dict[str, str]:
        return dict(self._headers(self.token())) if self._headers else {}

    def params(self) -> dict[str, str]:
        return {self._query_param: self.token()} if self._query_param else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token=***)"


@dataclass(frozen=True)
class RefreshGrant:
    """An OAuth 2 refresh-token grant (RFC 6749 §6): where to send it and how the client authenticates,
    in the request body (Amazon LWA, Google), as HTTP Basic (eBay), or as a public client that sends only its id
    (Etsy, whose apps use PKCE)."""

    conn_id: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    client_auth: Literal["body", "basic", "public"] = "body"
    scope: str | None = None


class TokenRefreshError(RuntimeError):
    """The token endpoint refused the refresh; ``str()`` names the connection, the endpoint and its error,
    never a credential."""

    def __init__(self, grant: RefreshGrant, error: str, description: str = "", status: int | None = None):
        self.conn_id = grant.conn_id
        self.token_url = grant.token_url
        self.error = error
        self.status = status
        meaning = _GRANT_ERRORS.get(error)
        self.detail = f"{error}" + (f" ({meaning})" if meaning else "") + (f": {description}" if description else "")
        super().__init__(f"connection {grant.conn_id!r}: refreshing the access token at {grant.token_url} "
                         f"failed: {self.detail}")


class RefreshingAuth(Auth):
    """An access token obtained from a refresh-token grant and renewed before it expires.

    ``refreshes`` counts the grants made; ``expires_at`` (``clock`` time) and ``scopes`` (when the endpoint
    reports them) describe the current token. Thread-safe: concurrent requests share one refresh.
    """

    def __init__(self, grant: RefreshGrant, *, headers: Callable[[str], Mapping[str, str]] | None = None,
                 query_param: str | None = None, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic, timeout: float | tuple[float, float] = (5.0, 30.0),
                 ) -> None:
        super().__init__("", headers=headers, query_param=query_param)
        self.grant = grant
        self._session = session or requests.Session()
        self._clock = clock
        self._timeout = timeout
        self._lock = threading.Lock()
        self.expires_at: float | None = None
        self.scopes: frozenset[str] | None = None
        self.refreshes = 0

    def token(self) -> str:
        with self._lock:
            if not self._token or (self.expires_at is not None and self._clock() >= self.expires_at):
                self._refresh()
            return self._token

    def renew(self) -> bool:
        with self._lock:
            self._token = ""
        return True

    def _refresh(self) -> None:
        grant = self.grant
        form = {"grant_type": "refresh_token", "refresh_token": grant.refresh_token}
        basic = None
        if grant.client_auth == "basic":
            basic = (grant.client_id, grant.client_secret)
        elif grant.client_auth == "public":
            form["client_id"] = grant.client_id
        else:
            form |= {"client_id": grant.client_id, "client_secret": grant.client_secret}
        if grant.scope:
            form["scope"] = grant.scope
        try:
            response = self._session.post(grant.token_url, data=form, auth=basic, timeout=self._timeout,
                                          headers={"Accept": "application/json"})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TokenRefreshError(grant, "unreachable", type(exc).__name__) from exc
        body = json_object(response)
        if not response.ok or not body.get("access_token"):
            raise TokenRefreshError(grant, str(body.get("error") or f"HTTP {response.status_code}"),
                                    str(body.get("error_description") or "")[:300], response.status_code)
        self._token = str(body["access_token"])
        self.refreshes += 1
        lifetime = _seconds(body.get("expires_in"))
        # Renew a little early (a tenth of the lifetime, at most a minute), so a token never expires in flight.
        self.expires_at = None if lifetime is None else self._clock() + lifetime - min(60.0, lifetime / 10)
        if body.get("scope"):
            self.scopes = frozenset(str(body["scope"]).split())
        log.info("%s: access token refreshed (valid %ss)", grant.conn_id, lifetime)


def bearer_or_refresh(conn: Connection, *, what: str, token_url: str,
                      headers: Callable[[str], Mapping[str, str]], client_auth: Literal["body", "basic"] = "body",
                      default_scope: str | None = None) -> Auth:
    """The connection's auth for an OAuth API: a refresh-token grant when its extra names a ``refresh_token``
    (``login`` = client id, ``password`` = client secret, optional extras ``token_url`` and ``scope``),
    otherwise the static access token in ``password`` (``what`` names it in the error when it is missing)."""
    refresh_token = conn.extra.get("refresh_token")
    if not refresh_token:
        return Auth(conn.require_password(what), headers=headers)
    if not conn.login or not conn.password:
        raise ValueError(f"connection {conn.conn_id!r} has a refresh_token but no client id (login) or client "
                         "secret (password); put the OAuth client's id and secret there")
    scope = conn.extra.get("scope") or default_scope
    if isinstance(scope, list | tuple):
        scope = " ".join(map(str, scope))
    grant = RefreshGrant(conn.conn_id, str(conn.extra.get("token_url") or token_url), conn.login, conn.password,
                         str(refresh_token), client_auth, scope or None)
    return RefreshingAuth(grant, headers=headers)


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None
