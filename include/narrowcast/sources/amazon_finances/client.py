"""Amazon Finances source client: ``listTransactions`` (Finances 2024-06-19), page by page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from narrowcast.apis.amazon import TRANSACTION_PAGES, TRANSACTIONS, SellingPartnerApi
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate


class AmazonFinancesClient(SellingPartnerApi):
    """SP-API Finances for one seller (``base_url`` e.g. ``https://sellingpartnerapi-eu.amazon.com``)."""

    api_name = "amazon_finances"

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, headers={"Accept": "application/json", **(http.pop("headers", None) or {})},
                         **http)

    def transactions(self, posted_after: datetime, posted_before: datetime,
                     marketplace_id: str | None = None) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Transactions posted in ``[posted_after, posted_before)`` (Amazon excludes postedBefore itself)."""
        params: dict[str, Any] = {"postedAfter": _amazon_time(posted_after), "postedBefore": _amazon_time(posted_before)}
        if marketplace_id:
            params["marketplaceId"] = marketplace_id
        for page in paginate(self, TRANSACTIONS, params, TRANSACTION_PAGES):
            ref = f"GET /{TRANSACTIONS} page {page.number}"
            try:
                items = (page.json().get("payload") or {}).get("transactions") or []
                if not isinstance(items, list):
                    raise TypeError("payload.transactions is not a list")
            except (ValueError, AttributeError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response has no payload.transactions list ({exc})") from exc
            yield items, ref


def _amazon_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
