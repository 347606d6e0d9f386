"""Shopify Admin API (REST and GraphQL) wire conventions, for the shop source and the inventory destination.

Connection ``narrowcast_shopify``: ``base_url`` = the shop URL (``https://{shop}.myshopify.com``), ``password``
= the Admin API access token (sent as ``X-Shopify-Access-Token``), extra ``api_version`` (default below).
REST pages by ``Link: <...page_info=...>; rel="next"``; REST errors are ``{"errors": "text" | {field: [...]}}``.
GraphQL throttling is cost-based: HTTP 200 with ``errors[].extensions.code == "THROTTLED"``, retried like a
429 after (requested − currentlyAvailable) / restoreRate seconds. Inventory is set by compare-and-set: the
``available`` quantities are read first (:data:`AVAILABLE_AT_LOCATION`) and sent as ``changeFromQuantity``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, FatalApiError, VersionedApi
from narrowcast.http.bodies import json_object
from narrowcast.http.pagination import LinkHeaderCursor, next_link_param

CONNECTION_ID = "narrowcast_shopify"
DEFAULT_API_VERSION = versions.SHOPIFY.default
# Filters may not travel with a page_info cursor: later REST pages carry the cursor and the page size only.
REST_PAGES = LinkHeaderCursor(param="page_info", carry=("limit",))
_NUMERIC = re.compile(r"[0-9]+")
_GID = re.compile(r"gid://shopify/(\w+)/([0-9]+)")

# Every input array of the Admin API holds at most 250 items ("Input arguments that accept an array have a
# maximum size of 250", https://shopify.dev/docs/api/usage/limits), so one read covers one mutation's quantities.
MAX_INPUT_ARRAY = 250
# From 2026-04 each quantity of inventorySetQuantities must carry changeFromQuantity, the quantity the caller
# believes is current; a mismatch answers CHANGE_FROM_QUANTITY_STALE and ignoreCompareQuantity/compareQuantity
# are removed (https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities).
CHANGE_FROM_QUANTITY_SINCE = "2026-04"
CHANGE_FROM_QUANTITY_STALE = "CHANGE_FROM_QUANTITY_STALE"
# The ``available`` quantity of inventory items at one location: ``nodes(ids:)`` returns each InventoryItem
# (null for an unknown id, https://shopify.dev/docs/api/admin-graphql/latest/queries/nodes), whose
# ``inventoryLevel(locationId:)`` is null where the item is not stocked, and whose ``quantities(names:)`` reads
# quantities by name (https://shopify.dev/docs/apps/build/inventory-management-apps/manage-quantities-states).
AVAILABLE_AT_LOCATION = """query inventoryAvailable($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem { id inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } } }
  }
}"""
NOT_STOCKED = "not stocked"


def next_page_info(link_header: str | None) -> str | None:
    """The ``page_info`` cursor of the ``rel="next"`` link, or ``None`` on the last page."""
    return next_link_param(link_header, REST_PAGES.param)


def to_gid(kind: str, value: Any) -> str | None:
    """``gid://shopify/<kind>/<id>`` for a numeric id or for that gid itself; None for anything else."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if _NUMERIC.fullmatch(text):
        return f"gid://shopify/{kind}/{int(text)}"
    match = _GID.fullmatch(text)
    return text if match and match.group(1) == kind else None


def available_at(client: ShopifyApi, items: list[str], location: str) -> dict[str, int | str]:
    """Each inventory item's current ``available`` quantity at ``location`` (one query per 250 items):
    the quantity, or :data:`NOT_STOCKED` when the item has no level there; items Shopify does not know are absent."""
    found: dict[str, int | str] = {}
    for start in range(0, len(items), MAX_INPUT_ARRAY):
        data = client.graphql(AVAILABLE_AT_LOCATION, {"ids": items[start:start + MAX_INPUT_ARRAY],
                                                      "locationId": location})
        for node in data.get("nodes") or []:
            if not isinstance(node, Mapping) or not isinstance(node.get("id"), str):
                continue
            level = node.get("inventoryLevel")
            quantities = level.get("quantities") if isinstance(level, Mapping) else None
            available = [q.get("quantity") for q in quantities or []
                         if isinstance(q, Mapping) and q.get("name") == "available"]
            found[node["id"]] = available[0] if available and isinstance(available[0], int) else NOT_STOCKED
    return found


def auth(conn: Connection) -> Auth:
    return Auth(conn.require_password("the Admin API access token"),
                headers=lambda token: {"X-Shopify-Access-Token": token})


class ShopifyApi(VersionedApi):
    """One shop's Admin API: REST resources and GraphQL, its error envelopes and its throttling."""

    api_name = "shopify"
    versions = versions.SHOPIFY

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {**super().connection_settings(conn), "auth": auth(conn)}

    def rest_path(self, resource: str) -> str:
        return f"admin/api/{self.api_version}/{resource}.json"

    @property
    def graphql_path(self) -> str:
        return f"admin/api/{self.api_version}/graphql.json"

    def graphql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The ``data`` of one GraphQL request; throttling is retried by the client, other ``errors`` raised."""
        path = self.graphql_path
        answer = self.post_json(path, {"query": query, "variables": dict(variables)})
        if not isinstance(answer, dict):
            raise FatalApiError(self.api_name, "POST", self.url(path), 200, "GraphQL answer is not a JSON object", answer)
        if answer.get("errors"):
            raise FatalApiError(self.api_name, "POST", self.url(path), 200,
                                f"GraphQL error: {graphql_messages(answer['errors'])}", answer)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise FatalApiError(self.api_name, "POST", self.url(path), 200, "GraphQL answer has no data", answer)
        return data

    def is_throttled_answer(self, response: requests.Response) -> bool:
        # Only GraphQL answers 200 + THROTTLED; REST pages are never decoded twice for it.
        return _is_graphql(response) and _throttled(json_object(response).get("errors"))

    def retry_after(self, response: requests.Response) -> float | None:
        """For a GraphQL answer, seconds until the cost bucket holds the request's cost:
        (requested − currentlyAvailable) / restoreRate; otherwise the ``Retry-After`` header."""
        cost = (json_object(response).get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            requested = float(cost["requestedQueryCost"])
            available = float(status["currentlyAvailable"])
            restore = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return super().retry_after(response)
        return max(0.0, (requested - available) / restore) if restore > 0 else super().retry_after(response)

    def error_message(self, response: requests.Response) -> str:
        errors = json_object(response).get("errors")
        if _throttled(errors):
            return f"GraphQL {graphql_messages(errors)}: the query cost limit stayed exhausted"
        # REST's envelope is {"errors": "text"} or {"errors": {"field": ["text", ...]}}.
        if isinstance(errors, dict):
            return "; ".join(f"{field}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                             for field, v in errors.items())[:500]
        if isinstance(errors, list):
            return "; ".join(map(str, errors))[:500]
        return str(errors)[:500] if errors else super().error_message(response)


def graphql_messages(errors: Any) -> str:
    """GraphQL top-level ``errors`` as one line: each message with its ``extensions.code``."""
    if not isinstance(errors, list):
        return str(errors)[:500]
    parts = []
    for error in errors:
        if isinstance(error, Mapping):
            code = (error.get("extensions") or {}).get("code")
            parts.append(f"{error.get('message')}" + (f" ({code})" if code else ""))
        else:
            parts.append(str(error))
    return "; ".join(parts)[:500]


def _is_graphql(response: requests.Response) -> bool:
    return (response.url or "").split("?", 1)[0].endswith("/graphql.json")


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and bool(errors) and all(
        isinstance(e, Mapping) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)
