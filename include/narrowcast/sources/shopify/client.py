"""Shopify source client: reads one resource updated in a window, in pages (few rows) or in bulk (many rows, or a
long window)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from narrowcast.apis.shopify import ShopifyApi, reassemble_file
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError
from narrowcast.sources.shopify.queries import Resource
from narrowcast.sources.shopify.settings import BULK_PAGE_ROOTS, BULK_WINDOW, STANDARD_RESTORE_RATE

log = redacting_logger(__name__)

# CountPrecision (https://shopify.dev/docs/api/admin-graphql/latest/enums/CountPrecision): EXACT, or AT_LEAST
# when "a limit was imposed and reached" (the count fields' ``limit``, 10,000 by default).
AT_LEAST = "AT_LEAST"
PRECISIONS = frozenset({"EXACT", AT_LEAST})


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def window_search(window: Window) -> str:
    """Shopify's search syntax for ``updated_at`` in ``[start, end)``
    (https://shopify.dev/docs/api/usage/search-syntax). Shopify compares to the second: an end with sub-seconds
    is rounded up so no row of the window's last second is cut off (the extractor drops anything at or after
    the exact end)."""
    end = window.end if window.end.microsecond == 0 else window.end.replace(microsecond=0) + timedelta(seconds=1)
    return f"updated_at:>='{_iso(window.start)}' AND updated_at:<'{_iso(end)}'"


class ShopifyClient(ShopifyApi):
    """One shop's GraphQL Admin API (``base_url`` is the shop URL, e.g. ``https://acme.myshopify.com``)."""

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, headers={"Accept": "application/json", **(http.pop("headers", None) or {})},
                         **http)
        self._counts: dict[tuple[str, str], tuple[int, str]] = {}  # (count field, search) -> (count, precision)

    def read(self, resource: Resource, window: Window) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every node of ``resource`` updated in the window, as (nodes, source_ref) pages.

        A window longer than :data:`BULK_WINDOW` is one bulk operation. A shorter one is counted first and read
        in bulk too when it holds more nodes than paging reads in a bulk operation's fixed cost
        (:meth:`bulk_threshold`); otherwise with paged queries, unless one of its nodes has more nested children
        than a page holds: then the window is read again in bulk (pages are held until the window is read, so
        nothing is yielded twice).
        """
        search = window_search(window)
        if window.end - window.start > BULK_WINDOW:
            yield from self.read_bulk(resource, search)
            return
        count, precision = self.count(resource, search)
        threshold = self.bulk_threshold(resource)
        if reads_in_bulk(count, precision, threshold):
            log.info("shopify: %s%s %s in the window, paging reads %d in a bulk operation's time; reading it in "
                     "bulk", "at least " if precision == AT_LEAST else "", count, resource.label, threshold)
            yield from self.read_bulk(resource, search)
            return
        pages: list[tuple[list[dict[str, Any]], str]] = []
        query = resource.paged_query()
        for number, nodes in enumerate(
                self.connection_pages(query, {"first": resource.page_size, "query": search}, resource.connection),
                start=1):
            if any(_overflows(node, resource) for node in nodes):
                log.info("shopify: a %s node has more nested items than a page holds; reading the window in bulk",
                         resource.label)
                yield from self.read_bulk(resource, search)
                return
            pages.append((nodes, f"POST graphql.json {resource.label} page {number}"))
        yield from pages

    def count(self, resource: Resource, search: str) -> tuple[int, str]:
        """How many nodes of ``resource`` match ``search``, and the count's precision (``EXACT``, or ``AT_LEAST``
        at the count's cap); asked once per connection and search, so the fulfillments read the count the orders
        read asked for (``ordersCount``, ``customersCount``, ``productsCount``: a ``Count`` object, one point;
        https://shopify.dev/docs/api/admin-graphql/latest/queries/ordersCount)."""
        key = (resource.count_field, search)
        if key not in self._counts:
            data = self.graphql(resource.count_query(), {"query": search})
            found = data.get(resource.count_field)
            count = found.get("count") if isinstance(found, dict) else None
            if (not isinstance(count, int) or isinstance(count, bool) or count < 0
                    or found.get("precision") not in PRECISIONS):
                raise FatalApiError(self.api_name, "POST", self.url(self.graphql_path), 200,
                                    f"{resource.count_field} is not a Count {{ count precision }}: {found!r}"[:300],
                                    data)
            self._counts[key] = (count, str(found["precision"]))
        return self._counts[key]

    def bulk_threshold(self, resource: Resource) -> int:
        """Nodes of ``resource`` above which a short window is read in bulk: ``resource.bulk_above`` at the
        standard plan's restore rate, scaled by the rate the shop last reported (paging goes ten times faster on
        Shopify Plus's 1,000 points/s, and Shopify may lower a shop's rate for a while)."""
        reported = self.restore_rate()
        restore = reported if reported is not None and reported > 0 else STANDARD_RESTORE_RATE
        return int(resource.bulk_above * restore / STANDARD_RESTORE_RATE)

    def read_bulk(self, resource: Resource, search: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """One bulk operation's rows, :data:`BULK_PAGE_ROOTS` roots at a time, its result file read from disk."""
        with tempfile.TemporaryDirectory(prefix="narrowcast-shopify-bulk-") as tmp:
            operation, result = self.bulk_query(resource.bulk_query(search), Path(tmp) / "result.jsonl")
            read = 0
            for chunk in reassemble_file(result, resource.children, BULK_PAGE_ROOTS) if result else ():
                yield chunk, f"bulk operation {operation} {resource.label} {read + 1}-{read + len(chunk)}"
                read += len(chunk)
            if not read:
                yield [], f"bulk operation {operation} ({resource.label}, no rows)"


def reads_in_bulk(count: int, precision: str, threshold: int) -> bool:
    """Whether a window of ``count`` nodes is read in bulk: above the threshold, or a count that reached its cap
    (``AT_LEAST``: the window holds at least that many, which says it is large)."""
    return precision == AT_LEAST or count > threshold


def _overflows(node: Any, resource: Resource) -> bool:
    """Whether a paged node was cut short: a nested connection with a next page, or a limited list that is full."""
    if isinstance(node, dict):
        if isinstance(node.get("pageInfo"), dict) and node["pageInfo"].get("hasNextPage"):
            return True
        for name in resource.lists:
            if isinstance(node.get(name), list) and len(node[name]) >= resource.nested_pages[name]:
                return True
        return any(_overflows(value, resource) for value in node.values())
    if isinstance(node, list):
        return any(_overflows(value, resource) for value in node)
    return False
