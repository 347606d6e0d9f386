"""eBay source client: ``getOrders`` of the Sell Fulfillment API, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrowcast.apis.ebay import EbayApi, list_pages
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate
from narrowcast.sources.ebay.settings import ORDERS_PATH, PAGE_LIMIT

ORDER_PAGES = list_pages("orders")


class EbayClient(EbayApi):
    """eBay Sell APIs (``base_url`` e.g. ``https://api.ebay.com``)."""

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, headers={"Accept": "application/json", **(http.pop("headers", None) or {})},
                         **http)

    def orders(self, order_filter: str) -> Iterator[tuple[dict[str, Any], str]]:
        """Every page of ``getOrders`` for ``order_filter`` as (page body, source_ref)."""
        params = {"filter": order_filter, "limit": PAGE_LIMIT, "offset": 0}
        for page in paginate(self, ORDERS_PATH, params, ORDER_PAGES):
            ref = f"GET /{ORDERS_PATH} page {page.number}"
            try:
                body = page.json()
                if not isinstance(body.get("orders", []), list):
                    raise TypeError("orders is not a list")
            except (ValueError, AttributeError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response is not an order page ({exc})") from exc
            yield body, ref
