"""Klaviyo API (JSON:API) wire conventions, for the Klaviyo destination.

Connection ``narrowcast_klaviyo``: ``base_url`` = ``https://a.klaviyo.com``, ``password`` = a private API key
(sent as ``Authorization: Klaviyo-API-Key <key>``), extra ``revision`` (the dated API version sent in the
``revision`` header; default below). Errors are JSON:API (``{"errors": [{status, code, title, detail,
source}]}``); pages by ``links.next``, a whole URL that carries every parameter.
"""

from __future__ import annotations

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
