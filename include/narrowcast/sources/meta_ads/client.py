"""Meta Graph API client: ``access_token`` auth, the Graph error envelope, rate-limit codes as retriable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import requests

from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError, HttpClient
from narrowcast.sources.meta_ads.settings import (
    DEFAULT_API_VERSION,
    INSIGHT_FIELDS,
    PAGE_LIMIT,
    RATE_LIMIT_CODES,
    TRANSIENT_CODES,
)


def graph_error(response: requests.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph response, or ``{}`` when the body is not the Graph envelope."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


class GraphApi(HttpClient):
    """Graph API conventions shared by the Insights source and the Custom Audiences destination.

    The Graph error envelope, its rate-limit and transient codes as retriable, and the business-use-case
    header as the retry wait. Auth differs per caller (query parameter here, request body for audiences).
    """

    api_name = "meta"

    def is_retriable(self, response: requests.Response) -> bool:
        if super().is_retriable(response):
            return True
        error = graph_error(response)
        return error.get("code") in RATE_LIMIT_CODES | TRANSIENT_CODES or bool(error.get("is_transient"))

    def retry_after(self, response: requests.Response) -> float | None:
        explicit = super().retry_after(response)
        if explicit is not None:
            return explicit
        return _buc_wait_seconds(response.headers.get("X-Business-Use-Case-Usage"))

    def error_message(self, response: requests.Response) -> str:
        error = graph_error(response)
        if not error:
            return super().error_message(response)
        details = [f"type {error.get('type')}", f"code {error.get('code')}"]
        if error.get("error_subcode"):
            details.append(f"subcode {error['error_subcode']}")
        if error.get("fbtrace_id"):
            details.append(f"fbtrace_id {error['fbtrace_id']}")
        # error_user_msg carries the reason Meta gives people (e.g. "low audience size" on a removal).
        user_message = f" {error['error_user_msg']}" if error.get("error_user_msg") else ""
        return f"{error.get('message', '')} ({', '.join(details)}){user_message}"[:500]


class MetaClient(GraphApi):
    """Graph API for one ad account (``base_url`` e.g. ``https://graph.facebook.com``)."""

    def __init__(self, base_url: str, access_token: str, *, api_version: str = DEFAULT_API_VERSION,
                 **http: Any) -> None:
        # Graph takes the token as a query parameter; HttpClient redacts it from every logged URL.
        super().__init__(base_url, params={"access_token": access_token}, **http)
        self.api_version = api_version

    @classmethod
    def from_connection(cls, conn: Connection, **http: Any) -> MetaClient:
        return cls(conn.base_url, conn.require_password("the Marketing API access token"),
                   api_version=conn.extra.get("api_version") or DEFAULT_API_VERSION, **http)

    def insights(self, account_id: str, since: date, until: date) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Daily campaign insights of ``act_{account_id}`` for ``since..until`` (inclusive), page by page."""
        path = f"{self.api_version}/act_{account_id}/insights"
        params: dict[str, Any] = {
            "level": "campaign",
            "time_increment": 1,
            "fields": ",".join(INSIGHT_FIELDS),
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()},
                                     separators=(",", ":")),
            "limit": PAGE_LIMIT,
        }
        page = 0
        while True:
            page += 1
            response = self.request("GET", path, params=params)
            ref = f"GET /{path} page {page}"
            try:
                body = response.json()
                rows = body["data"]
            except (ValueError, KeyError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", response.url, response.status_code,
                                    f"{ref}: response has no 'data' list") from exc
            yield rows, ref
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            # Graph signals the last page by leaving out paging.next (the cursors stay).
            if not paging.get("next") or not after:
                return
            params = {**params, "after": after}


def _buc_wait_seconds(header: str | None) -> float | None:
    """Seconds until access is regained, from ``X-Business-Use-Case-Usage`` (given in minutes)."""
    if not header:
        return None
    try:
        usage = json.loads(header)
        minutes = [float(entry.get("estimated_time_to_regain_access") or 0)
                   for entries in usage.values() for entry in entries]
    except (ValueError, AttributeError, TypeError):
        return None
    return max(minutes) * 60 if minutes and max(minutes) > 0 else None
