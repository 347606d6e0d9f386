"""Google Ads REST client: OAuth bearer + developer token, Google's error envelope, ``searchStream``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import requests

from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError, HttpClient
from narrowcast.sources.google_ads.settings import DEFAULT_API_VERSION, RETRIABLE_STATUSES

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def google_error(response: requests.Response) -> dict[str, Any]:
    """The ``error`` object; searchStream may wrap it in a one-element array."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def digits(customer_id: Any) -> str:
    """Google Ads customer ids are sent without hyphens (``123-456-7890`` → ``1234567890``)."""
    return str(customer_id).replace("-", "").strip()


class GoogleAdsApi(HttpClient):
    """Google Ads REST conventions shared by the reporting source and the Customer Match destination.

    OAuth bearer + developer token headers (built with :meth:`auth_headers`), Google's error envelope, its
    retriable statuses and the ``retryDelay`` it sends in the body.
    """

    api_name = "google_ads"

    @staticmethod
    def auth_headers(access_token: str, developer_token: str, login_customer_id: Any = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {access_token}", "developer-token": developer_token}
        if login_customer_id:
            headers["login-customer-id"] = digits(login_customer_id)
        return headers

    def is_retriable(self, response: requests.Response) -> bool:
        return super().is_retriable(response) or google_error(response).get("status") in RETRIABLE_STATUSES

    def retry_after(self, response: requests.Response) -> float | None:
        explicit = super().retry_after(response)
        if explicit is not None:
            return explicit
        # google.rpc.RetryInfo (or the Ads QuotaErrorDetails) carries the delay as a duration like "30s".
        for detail in google_error(response).get("details") or []:
            delay = detail.get("retryDelay") or (detail.get("quotaErrorDetails") or {}).get("retryDelay")
            for failure in detail.get("errors") or []:
                delay = delay or ((failure.get("details") or {}).get("quotaErrorDetails") or {}).get("retryDelay")
            match = _DURATION.match(str(delay)) if delay else None
            if match:
                return float(match.group(1))
        return None

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


class GoogleAdsClient(GoogleAdsApi):
    """GoogleAdsService over REST (``base_url`` e.g. ``https://googleads.googleapis.com``)."""

    def __init__(self, base_url: str, access_token: str, developer_token: str, *,
                 login_customer_id: str | None = None, api_version: str = DEFAULT_API_VERSION, **http: Any) -> None:
        super().__init__(base_url, headers=self.auth_headers(access_token, developer_token, login_customer_id),
                         **http)
        self.api_version = api_version

    @classmethod
    def from_connection(cls, conn: Connection, **http: Any) -> GoogleAdsClient:
        return cls(conn.base_url, conn.require_password("the OAuth access token"),
                   str(conn.require("developer_token")),
                   login_customer_id=conn.extra.get("login_customer_id") or None,
                   api_version=conn.extra.get("api_version") or DEFAULT_API_VERSION, **http)

    def search_stream(self, customer_id: str, query: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every batch of a GAQL ``searchStream`` call as (results, source_ref)."""
        path = f"{self.api_version}/customers/{digits(customer_id)}/googleAds:searchStream"
        response = self.request("POST", path, json={"query": query})
        try:
            batches = response.json()
            if isinstance(batches, dict):  # a single batch sent without the array
                batches = [batches]
            for batch in batches:
                if not isinstance(batch, dict):
                    raise TypeError(f"batch is {type(batch).__name__}")
        except (ValueError, TypeError) as exc:
            raise FatalApiError(self.api_name, "POST", response.url, response.status_code,
                                f"POST /{path}: response is not an array of batches ({exc})") from exc
        for number, batch in enumerate(batches, start=1):
            yield batch.get("results") or [], f"POST /{path} batch {number}"
