"""Amazon source client: orders of the SP-API Orders API, page by page (v2026-01-01 searchOrders, or v0
getOrders + getOrderItems for a connection that still pins v0)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from narrowcast.apis.amazon import ORDERS, ORDERS_V0, PAGES, SEARCH_PAGES, SellingPartnerApi
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import BodyCursor, paginate
from narrowcast.sources.amazon.settings import PAGE_LIMIT


class AmazonClient(SellingPartnerApi):
    """SP-API for one seller (``base_url`` e.g. ``https://sellingpartnerapi-eu.amazon.com``)."""

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, headers={"Accept": "application/json", **(http.pop("headers", None) or {})},
                         **http)

    def _pages(self, path: str, params: dict[str, Any], pages: BodyCursor,
               items_at: tuple[str, ...]) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Each page's list at ``items_at`` (a missing list is an empty page) and the page's reference."""
        where = ".".join(items_at)
        for page in paginate(self, path, params, pages):
            ref = f"GET /{path} page {page.number}"
            try:
                body = page.json()
                for key in items_at[:-1]:
                    body = body[key]
                items = body.get(items_at[-1]) or []
                if not isinstance(items, list):
                    raise TypeError(f"{where} is not a list")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response has no {where} list ({exc})") from exc
            yield items, ref

    def search_orders(self, marketplace_ids: Sequence[str], updated_after: datetime, updated_before: datetime,
                      included_data: Sequence[str]) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Orders (v2026-01-01 searchOrders) last updated in ``[updated_after, updated_before]`` (both ends
        included), each with its ``orderItems`` and the ``included_data`` sets."""
        params: dict[str, Any] = {"lastUpdatedAfter": _amazon_time(updated_after),
                                  "lastUpdatedBefore": _amazon_time(updated_before), "maxResultsPerPage": PAGE_LIMIT}
        if marketplace_ids:
            params["marketplaceIds"] = ",".join(marketplace_ids)
        if included_data:
            params["includedData"] = ",".join(included_data)
        yield from self._pages(ORDERS, params, SEARCH_PAGES, ("orders",))

    def orders(self, marketplace_ids: Sequence[str], updated_after: datetime,
               updated_before: datetime) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Orders (v0 getOrders) last updated in ``[updated_after, updated_before]`` (both ends included)."""
        params = {"MarketplaceIds": ",".join(marketplace_ids), "LastUpdatedAfter": _amazon_time(updated_after),
                  "LastUpdatedBefore": _amazon_time(updated_before), "MaxResultsPerPage": PAGE_LIMIT}
        yield from self._pages(ORDERS_V0, params, PAGES, ("payload", "Orders"))

    def order_items(self, amazon_order_id: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """One v0 order's items (getOrderItems)."""
        yield from self._pages(f"{ORDERS_V0}/{amazon_order_id}/orderItems", {}, PAGES, ("payload", "OrderItems"))


def _amazon_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
