"""eBay Finances source client: ``getTransactions`` of the Sell Finances API on the apiz host, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrowcast.apis.ebay import EbayApi, finances_base_url, list_pages
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import FetchedPage, PageRequest, paginate
from narrowcast.sources.ebay_finances.settings import PAGE_LIMIT, TRANSACTIONS_PATH


class _TransactionPages:
    """eBay's ``next`` href, except after a 204 No Content (nothing matched: no body, no next page)."""

    hrefs = list_pages("transactions")

    def next_request(self, page: FetchedPage, first: PageRequest) -> PageRequest | None:
        if page.response.status_code == 204 or not page.response.content:
            return None
        return self.hrefs.next_request(page, first)


TRANSACTION_PAGES = _TransactionPages()


class EbayFinancesClient(EbayApi):
    """eBay Sell Finances (``base_url`` e.g. ``https://apiz.ebay.com``)."""

    api_name = "ebay_finances"
    default_base_url = "https://apiz.ebay.com"

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, headers={"Accept": "application/json", **(http.pop("headers", None) or {})},
                         **http)

    @classmethod
    def base_url_of(cls, conn: Connection) -> str:
        return finances_base_url(conn)

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        # Every Finances method requires X-EBAY-C-MARKETPLACE-ID and reads EBAY_US when it is absent
        # (sell_finances_v1_oas3): a seller elsewhere names theirs in extra ``marketplace_id``.
        settings = super().connection_settings(conn)
        marketplace = conn.extra.get("marketplace_id")
        if marketplace:
            settings["headers"] = {**settings.get("headers", {}), "X-EBAY-C-MARKETPLACE-ID": str(marketplace)}
        return settings

    def transactions(self, transaction_filter: str) -> Iterator[tuple[dict[str, Any], str]]:
        """Every page of ``getTransactions`` for ``transaction_filter`` as (page body, source_ref)."""
        params = {"filter": transaction_filter, "limit": PAGE_LIMIT, "offset": 0}
        for page in paginate(self, TRANSACTIONS_PATH, params, TRANSACTION_PAGES):
            ref = f"GET /{TRANSACTIONS_PATH} page {page.number}"
            # getTransactions answers 204 No Content when nothing matches (sell_finances_v1_oas3).
            if page.response.status_code == 204 or not page.response.content:
                yield {"transactions": []}, ref
                continue
            try:
                body = page.json()
                if not isinstance(body.get("transactions", []), list):
                    raise TypeError("transactions is not a list")
            except (ValueError, AttributeError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                    f"{ref}: response is not a transaction page ({exc})") from exc
            yield body, ref
