"""Shopify source client: the Admin REST resources the shop source reads, page by page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from narrowcast.apis.shopify import REST_PAGES, ShopifyApi
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate
from narrowcast.sources.shopify.settings import PAGE_LIMIT


class ShopifyClient(ShopifyApi):
    """One shop's Admin REST API (``base_url`` is the shop URL, e.g. ``https://acme.myshopify.com``)."""

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, headers={"Accept": "application/json", **(http.pop("headers", None) or {})},
                         **http)

    def paginate(self, resource: str, filters: Mapping[str, str]) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every page of ``resource`` (``orders``, ``customers``, ``products``) as (items, source_ref).

        Filters go on the first request only: Shopify rejects them next to ``page_info``, so later requests
        carry just the cursor and the page size.
        """
        path = self.rest_path(resource)
        for page in paginate(self, path, {**filters, "limit": PAGE_LIMIT}, REST_PAGES):
            ref = f"GET /{path} page {page.number}"
            try:
                items = page.json()[resource]
            except (ValueError, KeyError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response has no {resource!r} list") from exc
            yield items, ref
