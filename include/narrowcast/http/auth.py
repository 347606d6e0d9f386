"""How a request to an external API proves who sends it: headers or query parameters built from one token.

:meth:`Auth.token` is the only place a client reads its credential. Today that is the access token stored on
the connection; OAuth token refresh (Google's and eBay's refresh tokens, Amazon's LWA) belongs in a subclass
that overrides :meth:`Auth.token` to exchange the refresh token when the access token is about to expire.
The client asks for :meth:`Auth.headers` and :meth:`Auth.params` on every request, so nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class Auth:
    """One API's credential and where it goes: ``headers`` builds the request headers from the token,
    ``query_param`` names the query parameter that carries it (Graph API); either, both or neither."""

    def __init__(self, token: str, *, headers: Callable[[str], Mapping[str, str]] | None = None,
                 query_param: str | None = None) -> None:
        self._token = token
        self._headers = headers
        self._query_param = query_param

    def token(self) -> str:
        """The access token to send now (the seam for OAuth refresh)."""
        return self._token

    def headers(self) -> dict[str, str]:
        return dict(self._headers(self.token())) if self._headers else {}

    def params(self) -> dict[str, str]:
        return {self._query_param: self.token()} if self._query_param else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token=***)"
