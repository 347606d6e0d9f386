"""Shopify Admin REST client: access-token auth, Shopify's error envelope, ``Link`` cursor pagination."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError, HttpClient
from narrowcast.sources.shopify.settings import DEFAULT_API_VERSION, PAGE_LIMIT

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class ShopifyAdminApi(HttpClient):
    """Admin REST conventions shared by the shop source and the inventory destination.

    Access-token auth (headers built with :meth:`auth_headers`) and Shopify's error envelope.
    """

    api_name = "shopify"

    @staticmethod
    def auth_headers(access_token: str) -> dict[str, str]:
        return {"X-Shopify-Access-Token": access_token}

    def error_message(self, response: requests.Response) -> str:
        # Shopify's envelope is {"errors": "text"} or {"errors": {"field": ["text", ...]}}.
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            return super().error_message(response)
        if isinstance(errors, dict):
            return "; ".join(f"{field}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                             for field, v in errors.items())[:500]
        if isinstance(errors, list):
            return "; ".join(map(str, errors))[:500]
        return str(errors)[:500] if errors else super().error_message(response)


class ShopifyClient(ShopifyAdminApi):
    """One shop's Admin REST API (``base_url`` is the shop URL, e.g. ``https://acme.myshopify.com``)."""

    def __init__(self, base_url: str, access_token: str, *, api_version: str = DEFAULT_API_VERSION,
                 **http: Any) -> None:
        super().__init__(base_url, headers={**self.auth_headers(access_token), "Accept": "application/json"},
                         **http)
        self.api_version = api_version

    @classmethod
    def from_connection(cls, conn: Connection, **http: Any) -> ShopifyClient:
        return cls(conn.base_url, conn.require_password("the Admin API access token"),
                   api_version=conn.extra.get("api_version") or DEFAULT_API_VERSION, **http)

    def resource_path(self, resource: str) -> str:
        return f"admin/api/{self.api_version}/{resource}.json"

    def paginate(self, resource: str, filters: Mapping[str, str]) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every page of ``resource`` (``orders``, ``customers``, ``products``) as (items, source_ref).

        Filters go on the first request only: Shopify rejects them next to ``page_info``, so later requests
        carry just the cursor and the page size.
        """
        path = self.resource_path(resource)
        params: dict[str, Any] = {**filters, "limit": PAGE_LIMIT}
        page = 0
        while True:
            page += 1
            response = self.request("GET", path, params=params)
            ref = f"GET /{path} page {page}"
            try:
                items = response.json()[resource]
            except (ValueError, KeyError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", response.url, response.status_code,
                                    f"{ref}: response has no {resource!r} list") from exc
            yield items, ref
            page_info = next_page_info(response.headers.get("Link"))
            if page_info is None:
                return
            params = {"page_info": page_info, "limit": PAGE_LIMIT}


def next_page_info(link_header: str | None) -> str | None:
    """The ``page_info`` cursor of the ``rel="next"`` link, or ``None`` on the last page."""
    if not link_header:
        return None
    match = _NEXT_LINK.search(link_header)
    if not match:
        return None
    values = parse_qs(urlsplit(match.group(1)).query).get("page_info")
    return values[0] if values else None
