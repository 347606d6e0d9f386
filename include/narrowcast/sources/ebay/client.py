"""eBay REST client: user-token bearer auth, ErrorDetailV3 envelope, ``next`` href pagination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError, HttpClient
from narrowcast.sources.ebay.settings import ORDERS_PATH, PAGE_LIMIT


class EbayApi(HttpClient):
    """eBay REST conventions shared by the Fulfillment source and the Inventory destination.

    User-token bearer auth (headers built with :meth:`auth_headers`) and the ErrorDetailV3 envelope.
    """

    api_name = "ebay"

    @staticmethod
    def auth_headers(user_token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {user_token}"}

    def error_message(self, response: requests.Response) -> str:
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            errors = None
        if not isinstance(errors, list) or not errors:
            return super().error_message(response)
        return "; ".join(f"errorId {e.get('errorId')} ({e.get('domain')}/{e.get('category')}): "
                         f"{e.get('longMessage') or e.get('message')}" for e in errors if isinstance(e, dict))[:500]


class EbayClient(EbayApi):
    """eBay Sell APIs (``base_url`` e.g. ``https://api.ebay.com``)."""

    def __init__(self, base_url: str, user_token: str, **http: Any) -> None:
        super().__init__(base_url, headers={**self.auth_headers(user_token), "Accept": "application/json"}, **http)

    @classmethod
    def from_connection(cls, conn: Connection, **http: Any) -> EbayClient:
        return cls(conn.base_url, conn.require_password("the eBay user access token"), **http)

    def orders(self, order_filter: str) -> Iterator[tuple[dict[str, Any], str]]:
        """Every page of ``getOrders`` for ``order_filter`` as (page body, source_ref)."""
        url: str = ORDERS_PATH
        params: dict[str, Any] | None = {"filter": order_filter, "limit": PAGE_LIMIT, "offset": 0}
        page = 0
        while True:
            page += 1
            response = self.request("GET", url, params=params)
            ref = f"GET /{ORDERS_PATH} page {page}"
            try:
                body = response.json()
                if not isinstance(body.get("orders", []), list):
                    raise TypeError("orders is not a list")
            except (ValueError, AttributeError, TypeError) as exc:
                raise FatalApiError(self.api_name, "GET", response.url, response.status_code,
                                    f"{ref}: response is not an order page ({exc})") from exc
            yield body, ref
            next_href = body.get("next")
            if not next_href or not body.get("orders"):
                return
            # The next href carries filter, limit and offset already.
            url, params = next_href, None
