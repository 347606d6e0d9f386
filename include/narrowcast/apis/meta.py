"""Meta Graph API wire conventions, for the Insights source and the Custom Audiences destination.

Connection ``narrowcast_meta``: ``base_url`` = ``https://graph.facebook.com``, ``password`` = the access token
(a system-user token is recommended), extra ``api_version`` (default below). Reads send the token as the
``access_token`` query parameter; audience writes send it in the JSON body instead, so no URL carries it.
Errors are ``{"error": {message, type, code, error_subcode, fbtrace_id, is_transient}}``; rate limits come as
HTTP 400 + a throttling code, with the wait in ``X-Business-Use-Case-Usage``. Pages by ``paging.cursors.after``.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, VersionedApi
from narrowcast.http.pagination import BodyCursor

CONNECTION_ID = "narrowcast_meta"
DEFAULT_API_VERSION = versions.META.default
# Graph error codes that mean "slow down" (app, user, ad-account and Business-Use-Case limits): retriable.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009,
                              80014})
# Marketing API Rate Limiting, API-level limits: at the Standard tier an ad account's score may reach 9,000 points
# and decays over 300 s, a write costing 3: 10 writes/s hold it steady (past it, code 17 and a 60-s block). The
# audience syncs' default pace keeps a fifth of that for the other calls on the account (the ad-costs extract's
# reads, the merchant's own tools). The custom_audience use case's own hourly budget (at least 190,000 calls at
# the Standard tier) is far above it.
AUDIENCE_WRITES_PER_SECOND = 8.0
# "Unknown error" / "service temporarily unavailable": transient by Meta's own description.
TRANSIENT_CODES = frozenset({1, 2})
# Graph signals the last page by leaving out paging.next (the cursors stay).
PAGES = BodyCursor(cursor=("paging", "cursors", "after"), param="after", more=("paging", "next"))



def auth(conn: Connection, *, in_query: bool = True) -> Auth:
    """The access token, as the ``access_token`` query parameter (reads) or for the caller to place in the
    request body (``in_query=False``: audience writes)."""
    return Auth(conn.require_password("the Marketing API access token"),
                query_param="access_token" if in_query else None)


def graph_error(response: requests.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph response, or ``{}`` when the body is not the Graph envelope."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


class GraphApi(VersionedApi):
    """The Graph API: its error envelope, its rate-limit and transient codes as retriable, and the
    business-use-case header as the retry wait."""

    api_name = "meta"
    versions = versions.META
    default_base_url = "https://graph.facebook.com"

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {**super().connection_settings(conn), "auth": auth(conn)}

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
        # error_user_msg carries the reason Meta words for people, often clearer than ``message``.
        user_message = f" {error['error_user_msg']}" if error.get("error_user_msg") else ""
        return f"{error.get('message', '')} ({', '.join(details)}){user_message}"[:500]


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
