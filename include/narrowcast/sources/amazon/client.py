"""Amazon SP-API client: LWA access token header, the ``errors`` envelope, ``NextToken`` paging.

SP-API sends no ``Retry-After``; a 429 carries ``x-amzn-RateLimit-Limit`` (requests per second), so the wait
before a retry is one request interval at that rate.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests

from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError, HttpClient
from narrowcast.sources.amazon.settings import ORDERS_PATH, PAGE_LIMIT


def marketplace_list(value: Any) -> list[str]:
    """``marketplace_ids`` from a connection: a list or a comma-separated string."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


class SellingPartnerApi(HttpClient):
    """SP-API wire conventions shared by the Orders source and the Listings destination.

    The LWA token header, the ``errors`` envelope and the rate header as the retry wait; the caller passes
    the headers it builds with :meth:`auth_headers` to the constructor.
    """

    api_name = "amazon"

    @staticmethod
    def auth_headers(access_token: str) -> dict[str, str]:
        return {"x-amz-access-token": access_token}

    def retry_after(self, response: requests.Response) -> float | None:
        explicit = super().retry_after(response)
        if explicit is not None:
            return explicit
        try:
            rate = float(response.headers.get("x-amzn-RateLimit-Limit", ""))
        except ValueError:
            return None
        return 1.0 / rate if rate > 0 else None

    def error_message(self, response: requests.Response) -> str:
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            errors = None
        if not isinstance(errors, list) or not errors:
            return super().error_message(response)
        return "; ".join(
            f"{e.get('code')}: {e.get('message')}" + (f" ({e['details']})" if e.get("details") else "")
            for e in errors if isinstance(e, dict))[:500]


class AmazonClient(SellingPartnerApi):
    """SP-API for one seller (``base_url`` e.g. ``https://sellingpartnerapi-eu.amazon.com``)."""

    def __init__(self, base_url: str, access_token: str, **http: Any) -> None:
        super().__init__(base_url, headers={**self.auth_headers(access_token), "Accept": "application/json"},
                         **http)

    @classmethod
    def from_connection(cls, conn: Connection, **http: Any) -> AmazonClient:
        return cls(conn.base_url, conn.require_password("the LWA access token"), **http)

    def _pages(self, path: str, params: dict[str, Any], items_key: str,
               next_params: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
        page = 0
        while True:
            page += 1
            response = self.request("GET", path, params=params)
            ref = f"GET /{path} page {page}"
            try:
                payload = response.json()["payload"]
                if not isinstance(payload.get(items_key, []), list):
                    raise TypeError(f"{items_key} is not a list")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise FatalApiError(self.api_name, "GET", response.url, response.status_code,
                                    f"{ref}: response has no payload.{items_key} list ({exc})") from exc
            yield payload, ref
            token = payload.get("NextToken")
            if not token:
                return
            params = {**next_params, "NextToken": token}

    def orders(self, marketplace_ids: list[str], updated_after: datetime,
               updated_before: datetime) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Orders last updated in ``[updated_after, updated_before]`` (SP-API includes both ends)."""
        markets = ",".join(marketplace_ids)
        params = {"MarketplaceIds": markets, "LastUpdatedAfter": _amazon_time(updated_after),
                  "LastUpdatedBefore": _amazon_time(updated_before), "MaxResultsPerPage": PAGE_LIMIT}
        # Later pages: the token replaces the filters (MarketplaceIds stays required).
        for payload, ref in self._pages(ORDERS_PATH, params, "Orders", {"MarketplaceIds": markets}):
            yield payload.get("Orders") or [], ref

    def order_items(self, amazon_order_id: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
        path = f"{ORDERS_PATH}/{amazon_order_id}/orderItems"
        for payload, ref in self._pages(path, {}, "OrderItems", {}):
            yield payload.get("OrderItems") or [], ref


def _amazon_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
