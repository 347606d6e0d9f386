"""Google Data Manager API (REST) wire conventions, for the Google audiences destination.

Connection ``narrowcast_google_data_manager``: ``base_url`` = ``https://datamanager.googleapis.com``; either
``password`` = an OAuth 2 access token, or ``login``/``password`` = the OAuth client and extra ``refresh_token``
(the grant Google Ads uses, with the Data Manager scope); optional extra ``api_version`` (default below). Unlike
the Google Ads API it needs no developer token. Errors are google.rpc.Status (``{"error": {code, message, status, details}}``) whose
details carry a ``google.rpc.ErrorInfo`` per problem with a Data Manager ``ErrorReason``
(developers.google.com/data-manager/api/devguides/concepts/understand-errors).
"""

from __future__ import annotations

from typing import Any

import requests

from narrowcast.apis import versions
from narrowcast.apis.google import TOKEN_URL, GoogleApi, google_error, seconds
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, FatalApiError, bearer_or_refresh

CONNECTION_ID = "narrowcast_google_data_manager"
BASE_URL = "https://datamanager.googleapis.com"
# Every Data Manager method asks for this scope (…/reference/rest/v1/audienceMembers/ingest, "Authorization scopes").
SCOPE = "https://www.googleapis.com/auth/datamanager"
DEFAULT_API_VERSION = versions.DATA_MANAGER.default

# Request limits, developers.google.com/data-manager/api/devguides/limits ("Request limits"): an
# IngestAudienceMembersRequest or RemoveAudienceMembersRequest takes at most 10,000 AudienceMember resources,
# 10 user identifiers in one member's UserData and 10 Destination resources.
MAX_AUDIENCE_MEMBERS = 10_000
MAX_USER_IDENTIFIERS = 10
MAX_DESTINATIONS = 10
# Same page, "Project limits": IngestionService takes 300 requests per minute (100,000 per day) per Cloud project;
# more are refused with RESOURCE_EXHAUSTED / HTTP 429.
REQUESTS_PER_MINUTE = 300

# gRPC statuses that mean "try again later" (the HTTP status may also say 429/5xx).
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
# A request id no ingestion answers with (theirs are numeric), for :meth:`DataManagerApi.probe`.
PROBE_REQUEST_ID = "narrowcast-doctor-probe"


def auth(conn: Connection) -> Auth:
    """OAuth bearer token, refreshed from the connection's refresh token (with the Data Manager scope) when it has one.
    A manager account is named in each Destination's ``loginAccount``, not in a header as Google Ads does it."""
    return bearer_or_refresh(conn, what="the OAuth access token", token_url=TOKEN_URL,
                             headers=lambda token: {"Authorization": f"Bearer {token}"}, default_scope=SCOPE)


def error_reasons(error: dict[str, Any]) -> list[str]:
    """The ``ErrorInfo.reason`` of every detail (Data Manager ``ErrorReason`` values such as INVALID_SHA256_FORMAT)."""
    return [str(d.get("reason")) for d in error.get("details") or []
            if d.get("@type") == ERROR_INFO and d.get("reason")]


def answered_by_api(error: dict[str, Any]) -> bool:
    """Whether a refusal comes from the Data Manager API itself (its ErrorInfo in the details), not from Google's
    front end, which refuses a missing token, a missing scope or a method it does not serve with a bare
    google.rpc.Status before the API sees the request."""
    return bool(error_reasons(error))


def field_violations(error: dict[str, Any]) -> list[dict[str, str]]:
    """The ``google.rpc.BadRequest`` field violations (``field`` path such as
    ``audience_members[3].user_data.user_identifiers[0]``, ``description``, ``reason``)."""
    return [v for d in error.get("details") or [] if d.get("@type") == BAD_REQUEST
            for v in d.get("fieldViolations") or [] if isinstance(v, dict)]


class DataManagerApi(GoogleApi):
    """Data Manager REST: Google's error envelope with ErrorInfo reasons, its retriable statuses and RetryInfo."""

    api_name = "data_manager"
    versions = versions.DATA_MANAGER
    default_base_url = BASE_URL

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {**super().connection_settings(conn), "auth": auth(conn)}

    def path(self, rest: str) -> str:
        """``{version}/{rest}``, e.g. ``v1/audienceMembers:ingest``."""
        return f"{self.api_version}/{rest}"

    def probe(self) -> None:
        """One request that reads nothing and changes nothing, to show the API takes this connection's token at
        its version: the status of a request id no ingestion ever had (requestStatus.retrieve). The API answers
        it with its own NOT_FOUND; a refused token, scope or version raises :class:`FatalApiError`."""
        try:
            self.get_json(self.path("requestStatus:retrieve"), params={"requestId": PROBE_REQUEST_ID})
        except FatalApiError as exc:
            error = exc.body.get("error") if isinstance(exc.body, dict) else None
            if exc.status in (401, 403) or not answered_by_api(error if isinstance(error, dict) else {}):
                raise

    def detail_delay(self, detail: dict[str, Any]) -> float | None:
        return seconds(detail.get("retryDelay")) if detail.get("@type") == RETRY_INFO else None

    def error_message(self, response: requests.Response) -> str:
        error = google_error(response)
        if not error:
            return super().error_message(response)
        parts = [f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")]
        reasons = error_reasons(error)
        if reasons:
            parts.append("reasons " + ", ".join(sorted(set(reasons))))
        parts += [f"{v.get('field', '')}: {v.get('reason') or v.get('description', '')}".strip(": ")
                  for v in field_violations(error)[:5]]
        return " | ".join(parts)[:500]
