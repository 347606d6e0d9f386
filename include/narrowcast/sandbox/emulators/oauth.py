"""OAuth 2 token endpoints of the vendors whose access tokens expire: Login with Amazon, eBay and Google.

Each answers the refresh-token grant (RFC 6749 §6) in its vendor's documented shape, under ``/oauth``:
- ``POST /oauth/amazon/auth/o2/token`` (api.amazon.com): client id and secret in the form body; answers
  ``{access_token, refresh_token, token_type: "bearer", expires_in}``
  (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api).
- ``POST /oauth/ebay/identity/v1/oauth2/token`` (api.ebay.com): HTTP Basic client credentials, ``scope``
  required to be within the consent; answers ``{access_token, expires_in, token_type: "User Access Token"}``
  (https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html).
- ``POST /oauth/google/token`` (oauth2.googleapis.com): client id and secret in the body; answers
  ``{access_token, expires_in, scope, token_type: "Bearer"}``
  (https://developers.google.com/identity/protocols/oauth2/web-server#offline).
Refusals are RFC 6749 §5.2 ``{error, error_description}`` with each vendor's wording. Tokens come from the
sandbox's :class:`~narrowcast.sandbox.tokens.AccessTokens`, whose policy sets their lifetime.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.sandbox.framework import Emulator
from narrowcast.sandbox.tokens import AccessTokens

EBAY_CONSENTED_SCOPES = frozenset({
    "https://api.ebay.com/oauth/api_scope",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment.readonly",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.inventory.readonly",
})
GOOGLE_GRANTED_SCOPES = "https://www.googleapis.com/auth/adwords https://www.googleapis.com/auth/datamanager"
# Each vendor's wording for a refresh token it no longer honours.
_INVALID_GRANT = {
    "amazon": "The request has an invalid grant parameter : refresh_token",
    "ebay": "the provided authorization refresh token is invalid or was issued to another client",
    "google": "Token has been expired or revoked.",
}


def oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store"})


class OAuthEmulator(Emulator):
    name = "oauth"
    prefix = "oauth"

    def routes(self, router: APIRouter) -> None:
        @router.post("/amazon/auth/o2/token")
        async def amazon(request: Request) -> Response:
            form = await request.form()
            refused = self._check(request, "amazon", form, form.get("client_id"), form.get("client_secret"))
            if refused is not None:
                return refused
            token, lifetime = _tokens(request).issue("amazon", "Atza|")
            return _granted({"access_token": token, "refresh_token": LOCAL_REFRESH_TOKEN, "token_type": "bearer",
                             "expires_in": lifetime})

        @router.post("/ebay/identity/v1/oauth2/token")
        async def ebay(request: Request) -> Response:
            form = await request.form()
            client_id, client_secret = _basic(request)
            refused = self._check(request, "ebay", form, client_id, client_secret)
            if refused is not None:
                return refused
            scopes = set(str(form.get("scope") or "").split())
            if not scopes or not scopes <= EBAY_CONSENTED_SCOPES:
                return oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, malformed, or "
                                   "exceeds the scope granted to the client")
            token, lifetime = _tokens(request).issue("ebay", "v^1.1#i^1#")
            return _granted({"access_token": token, "expires_in": lifetime, "token_type": "User Access Token"})

        @router.post("/google/token")
        async def google(request: Request) -> Response:
            form = await request.form()
            refused = self._check(request, "google", form, form.get("client_id"), form.get("client_secret"))
            if refused is not None:
                return refused
            token, lifetime = _tokens(request).issue("google", "ya29.")
            return _granted({"access_token": token, "expires_in": lifetime, "scope": GOOGLE_GRANTED_SCOPES,
                             "token_type": "Bearer"})

    def _check(self, request: Request, vendor: str, form, client_id, client_secret) -> Response | None:
        if form.get("grant_type") != "refresh_token":
            return oauth_error(400, "unsupported_grant_type", "Only the refresh_token grant is emulated.")
        if client_id != LOCAL_CLIENT_ID or client_secret != LOCAL_CLIENT_SECRET:
            return oauth_error(401, "invalid_client", "Client authentication failed")
        if form.get("refresh_token") != LOCAL_REFRESH_TOKEN or _tokens(request).policy.revoked:
            return oauth_error(400, "invalid_grant", _INVALID_GRANT[vendor])
        return None


def _tokens(request: Request) -> AccessTokens:
    return request.app.state.access_tokens


def _granted(body: dict) -> Response:
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _basic(request: Request) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return client_id, secret


EMULATOR = OAuthEmulator
