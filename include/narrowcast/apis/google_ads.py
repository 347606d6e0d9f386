"""Google Ads API (REST) wire conventions, for the reporting source and the Customer Match destination.

Connection ``narrowcast_google_ads``: ``base_url`` = ``https://googleads.googleapis.com``, ``password`` = an
OAuth 2 access token (``Authorization: Bearer``), extra ``developer_token``, optional ``login_customer_id``
(the manager account, when access goes through one) and ``api_version`` (default below). Errors are
google.rpc.Status (``{"error": {code, message, status, details}}``, an array of one around it from
``searchStream``); gRPC statuses such as RESOURCE_EXHAUSTED are retriable, with the wait as a ``retryDelay``
duration in the details. ``searchStream`` answers every row in one response, so nothing pages.
"""

from __future__ import annotations

from typing import Any

import requests

from narrowcast.apis import versions
from narrowcast.apis.google import TOKEN_URL, GoogleApi, google_error, seconds
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, bearer_or_refresh

CONNECTION_ID = "narrowcast_google_ads"
# Google's OAuth 2 endpoint exchanges the refresh token for a one-hour access token; the Ads API needs this scope.
SCOPE = "https://www.googleapis.com/auth/adwords"
DEFAULT_API_VERSION = versions.GOOGLE_ADS.default



def digits(customer_id: Any) -> str:
    """Google Ads customer ids are sent without hyphens (``123-456-7890`` → ``1234567890``)."""
    return str(customer_id).replace("-", "").strip()


def auth(conn: Connection) -> Auth:
    """OAuth bearer token, developer token and (through a manager account) ``login-customer-id`` headers."""
    developer_token = str(conn.require("developer_token"))
    login_customer_id = conn.extra.get("login_customer_id") or None

    def headers(token: str) -> dict[str, str]:
        built = {"Authorization": f"Bearer {token}", "developer-token": developer_token}
        if login_customer_id:
            built["login-customer-id"] = digits(login_customer_id)
        return built

    return bearer_or_refresh(conn, what="the OAuth access token", token_url=TOKEN_URL, headers=headers)


class GoogleAdsApi(GoogleApi):
    """Google Ads REST: Google's error envelope, its retriable statuses and the ``retryDelay`` it sends."""

    api_name = "google_ads"
    versions = versions.GOOGLE_ADS
    default_base_url = "https://googleads.googleapis.com"

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {**super().connection_settings(conn), "auth": auth(conn)}

    def customer_path(self, customer_id: Any, rest: str) -> str:
        """``{version}/customers/{id}/{rest}``, the id without hyphens."""
        return f"{self.api_version}/customers/{digits(customer_id)}/{rest}"

    def detail_delay(self, detail: dict[str, Any]) -> float | None:
        # Google Ads puts the delay in QuotaErrorDetails, at the detail or inside one of its errors.
        delay = detail.get("retryDelay") or (detail.get("quotaErrorDetails") or {}).get("retryDelay")
        for failure in detail.get("errors") or []:
            delay = delay or ((failure.get("details") or {}).get("quotaErrorDetails") or {}).get("retryDelay")
        return seconds(delay)

    def error_message(self, response: requests.Response) -> str:
        error = google_error(response)
        if not error:
            return super().error_message(response)
        parts = [f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")]
        for detail in error.get("details") or []:
            for failure in detail.get("errors") or []:
                codes = ", ".join(f"{k}={v}" for k, v in (failure.get("errorCode") or {}).items())
                parts.append(f"{codes}: {failure.get('message', '')}".strip(": "))
        return " | ".join(parts)[:500]
