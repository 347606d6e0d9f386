"""Amazon source client: orders and order items of the SP-API Orders API (v0), page by page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from narrowcast.apis.amazon import ORDERS, PAGES, SellingPartnerApi
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate
from narrowcast.sources.amazon.settings import PAGE_LIMIT


class AmazonClient(SellingPartnerApi):
    """SP-API for one seller (``base_url`` e.g. ``https://sellingpartnerapi-eu.amazon.com``)."""

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, headers={"Accept": "application/json", **(http.pop("headers", None) or {})},
                         **http)

    def _pages(self, path: str, params: dict[str, Any], items_key: str) -> Iterator[tuple[dict[str, Any], str]]:
        for page in paginate(self, path, params, PAGES):
            ref = f"GET /{path} page {page.number}"
            try:
                payload = page.json()["payload"]
                if not isinstance(payload.get(items_key, []), list):
                    raise TypeError(f"{items_key} is not a list")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response has no payload.{items_key} list ({exc})") from exc
            yield payload, ref

    def orders(self, marketplace_ids: list[str], updated_after: datetime,
               updated_before: datetime) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Orders last updated in ``[updated_after, updated_before]`` (SP-API includes both ends)."""
        params = {"MarketplaceIds": ",".join(marketplace_ids), "LastUpdatedAfter": _amazon_time(updated_after),
                  "LastUpdatedBefore": _amazon_time(updated_before), "MaxResultsPerPage": PAGE_LIMIT}
        for payload, ref in self._pages(ORDERS, params, "Orders"):
            yield payload.get("Orders") or [], ref

    def order_items(self, amazon_order_id: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
        path = f"{ORDERS}/{amazon_order_id}/orderItems"
        for payload, ref in self._pages(path, {}, "OrderItems"):
            yield payload.get("OrderItems") or [], ref


def _amazon_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
