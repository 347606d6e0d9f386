"""Etsy source client: ``getShopReceipts`` of Open API v3, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrowcast.apis.etsy import APPLICATION, MAX_LIMIT, EtsyApi, OffsetPages
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate

# Rows a page steps back, so receipts leaving the window between two pages push no unseen one past the cursor.
PAGE_OVERLAP = 5
RECEIPT_PAGES = OffsetPages(items="results", overlap=PAGE_OVERLAP)


def receipts_path(shop: str) -> str:
    return f"{APPLICATION}/shops/{shop}/receipts"


class EtsyClient(EtsyApi):
    """Etsy Open API v3 (``base_url`` e.g. ``https://openapi.etsy.com``)."""

    def receipts(self, shop: str, min_last_modified: int, max_last_modified: int,
                 ) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every page of ``getShopReceipts`` modified in ``[min, max]`` (unix seconds, both ends included) as
        (receipts, source_ref), oldest change first."""
        path = receipts_path(shop)
        params = {"min_last_modified": min_last_modified, "max_last_modified": max_last_modified,
                  "sort_on": "updated", "sort_order": "asc", "limit": MAX_LIMIT, "offset": 0}
        for page in paginate(self, path, params, RECEIPT_PAGES):
            ref = f"GET /{path} page {page.number}"
            try:
                results = page.json().get("results", [])
                if not isinstance(results, list):
                    raise TypeError("results is not a list")
            except (ValueError, AttributeError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response is not a receipts page ({exc})") from exc
            yield results, ref
