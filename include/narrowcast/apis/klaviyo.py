"""Klaviyo API (JSON:API) wire conventions, for the Klaviyo destination and the Klaviyo sign-up source.

Connection ``narrowcast_klaviyo``: ``base_url`` = ``https://a.klaviyo.com``, ``password`` = a private API key
(sent as ``Authorization: Klaviyo-API-Key <key>``), extra ``revision`` (the dated API version sent in the
``revision`` header; default below). Errors are JSON:API (``{"errors": [{status, code, title, detail,
source}]}``); pages by ``links.next``, a whole URL that carries every parameter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, HttpClient
from narrowcast.http.pagination import NextHref

CONNECTION_ID = "narrowcast_klaviyo"
DEFAULT_REVISION = versions.KLAVIYO.default
JSON_API = "application/vnd.api+json"
PAGES = NextHref(href=("links", "next"))


FALL_FORWARD_OPT_OUT = "X-Klaviyo-Revision-Fall-Forward-Opt-Out"
# bulk_create_events (Klaviyo's OpenAPI): at most 1,000 events and 5 MB per request; the margin leaves room for
# the request envelope around the entries.
BULK_EVENTS_MAX = 1_000
BULK_EVENTS_MAX_BYTES = 5 * 1024 * 1024 - 4_096


def auth(conn: Connection) -> Auth:
    return Auth(conn.require_password("the Klaviyo private API key"),
                headers=lambda key: {"Authorization": f"Klaviyo-API-Key {key}"})


class KlaviyoApi(HttpClient):
    """Klaviyo's JSON:API: the revision header, JSON:API media types and error envelope."""

    api_name = "klaviyo"
    default_base_url = "https://a.klaviyo.com"

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        # A retired revision otherwise falls forward silently to a newer one, changing the API's behaviour under
        # the connector; the opt-out makes it fail loudly instead (Klaviyo's API versioning and deprecation policy).
        return {"auth": auth(conn), "headers": {"revision": versions.KLAVIYO.of_connection(conn), FALL_FORWARD_OPT_OUT: "1",
                                                "Accept": JSON_API, "Content-Type": JSON_API}}

    def describe_error(self, e: dict[str, Any]) -> str:
        return f"{e.get('code') or e.get('status')}: {e.get('detail') or e.get('title')}"


def pack_event_requests(entries: list[tuple[dict[str, Any], list[str]]], max_events: int = BULK_EVENTS_MAX,
                        max_bytes: int = BULK_EVENTS_MAX_BYTES) -> list[list[tuple[dict[str, Any], list[str]]]]:
    """Bulk-create entries (one per profile, each paired with the caller's keys of its events) packed into
    ``POST /api/event-bulk-create-jobs`` requests of at most ``max_events`` events and about ``max_bytes`` of JSON; a
    profile with more events than one request takes is split into several entries."""
    packed: list[list[tuple[dict[str, Any], list[str]]]] = []
    current: list[tuple[dict[str, Any], list[str]]] = []
    events_in = bytes_in = 0
    for entry, keys in entries:
        attributes = entry["attributes"]
        events = attributes["events"]["data"]
        for start in range(0, len(events), max_events):
            part = events[start:start + max_events]
            piece = {"type": entry["type"], "attributes": {**attributes, "events": {"data": part}}}
            size = len(json.dumps(piece, separators=(",", ":"), default=str)) + 1
            if current and (events_in + len(part) > max_events or bytes_in + size > max_bytes):
                packed.append(current)
                current, events_in, bytes_in = [], 0, 0
            current.append((piece, keys[start:start + max_events]))
            events_in += len(part)
            bytes_in += size
    if current:
        packed.append(current)
    return packed


def bulk_events_body(group: list[tuple[dict[str, Any], list[str]]]) -> dict[str, Any]:
    """The ``POST /api/event-bulk-create-jobs`` body for one group of :func:`pack_event_requests`."""
    return {"data": {"type": "event-bulk-create-job",
                     "attributes": {"events-bulk-create": {"data": [entry for entry, _ in group]}}}}


def filter_datetime(moment: datetime) -> str:
    """A naive-UTC moment as a ``filter`` datetime argument: ISO 8601 with its offset, unquoted (Klaviyo's
    "Filtering" guide: datetimes are written without quotes; a quoted one is an invalid filter)."""
    return moment.replace(tzinfo=UTC).isoformat(timespec="seconds")


def filter_string(value: str) -> str:
    """A ``filter`` string argument: double-quoted, as the guide writes them (``equals(email,"a@b.com")``)."""
    if '"' in value:
        raise ValueError(f"Klaviyo filter value {value!r} contains a double quote")
    return f'"{value}"'
