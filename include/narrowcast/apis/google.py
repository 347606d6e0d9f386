"""What Google's REST APIs share (Google Ads, Data Manager): the OAuth token endpoint, the ``google.rpc.Status``
error envelope, the statuses worth retrying and the delay a ``RetryInfo`` asks for.

https://cloud.google.com/apis/design/errors and googleapis google/rpc/{status,code,error_details}.proto.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from narrowcast.http import VersionedApi

TOKEN_URL = "https://oauth2.googleapis.com/token"
# gRPC statuses that mean "try again later" (the HTTP status may also say 429/5xx).
RETRIABLE_STATUSES = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def google_error(response: requests.Response) -> dict[str, Any]:
    """The ``error`` object of a google.rpc.Status answer, or ``{}``; a streamed answer (Google Ads searchStream)
    may wrap it in a one-element array."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def seconds(duration: Any) -> float | None:
    """A protobuf Duration as JSON (``"30s"``, ``"1.5s"``) in seconds, or None."""
    match = _DURATION.match(str(duration)) if duration else None
    return float(match.group(1)) if match else None


class GoogleApi(VersionedApi):
    """A Google REST API: its error envelope's retriable statuses and the delay its error details ask for."""

    def is_retriable(self, response: requests.Response) -> bool:
        return super().is_retriable(response) or google_error(response).get("status") in RETRIABLE_STATUSES

    def retry_after(self, response: requests.Response) -> float | None:
        explicit = super().retry_after(response)
        if explicit is not None:
            return explicit
        for detail in google_error(response).get("details") or []:
            delay = self.detail_delay(detail)
            if delay is not None:
                return delay
        return None

    def detail_delay(self, detail: dict[str, Any]) -> float | None:
        """The wait one error detail asks for (``google.rpc.RetryInfo.retryDelay``), or None."""
        return seconds(detail.get("retryDelay"))
