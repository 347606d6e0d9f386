"""Etsy finances client: ``getShopPaymentAccountLedgerEntries`` page by page, and the payments of ledger entries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from narrowcast.apis.etsy import APPLICATION, EtsyApi, OffsetPages
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate
from narrowcast.sources.etsy_finances.settings import PAGE_LIMIT

# Ledger entries are never modified, only added: a page steps back no rows.
LEDGER_PAGES = OffsetPages(items="results")


def ledger_entries_path(shop: str) -> str:
    return f"{APPLICATION}/shops/{shop}/payment-account/ledger-entries"


def ledger_entry_payments_path(shop: str) -> str:
    return f"{APPLICATION}/shops/{shop}/payment-account/ledger-entries/payments"


class EtsyFinancesClient(EtsyApi):
    """Etsy Open API v3 payment account (``base_url`` e.g. ``https://openapi.etsy.com``)."""

    def ledger_entries(self, shop: str, min_created: int, max_created: int,
                       ) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every page of ledger entries created in ``[min, max]`` (unix seconds, both ends included) as
        (entries, source_ref)."""
        path = ledger_entries_path(shop)
        params = {"min_created": min_created, "max_created": max_created, "limit": PAGE_LIMIT, "offset": 0}
        for page in paginate(self, path, params, LEDGER_PAGES):
            ref = f"GET /{path} page {page.number}"
            yield self._results(page.response, ref, "ledger entries"), ref

    def ledger_entry_payments(self, shop: str, entry_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The Payments of these ledger entries (``getPaymentAccountLedgerEntryPayments``)."""
        path = ledger_entry_payments_path(shop)
        # ledger_entry_ids is an array query parameter without a declared style: OpenAPI's default (form, exploded)
        # repeats the name once per id.
        response = self.request("GET", path, params={"ledger_entry_ids": list(entry_ids)})
        return self._results(response, f"GET /{path} ({len(entry_ids)} entries)", "payments")

    def _results(self, response: Any, ref: str, what: str) -> list[dict[str, Any]]:
        try:
            results = response.json().get("results", [])
            if not isinstance(results, list):
                raise TypeError("results is not a list")
        except (ValueError, AttributeError, TypeError) as exc:
            raise FatalApiError(self.api_name, "GET", response.url, response.status_code,
                                f"{ref}: response is not a page of {what} ({exc})") from exc
        return results
