"""Amazon Selling Partner API wire conventions, for the Orders source and the Listings destination.

Connection ``narrowcast_amazon``: ``base_url`` = the regional endpoint, e.g.
``https://sellingpartnerapi-eu.amazon.com``, ``password`` = an LWA access token (sent as
``x-amz-access-token``), extra ``marketplace_ids`` (list or comma-separated), ``seller_id`` and
``marketplace_id`` (the listings destination). Each API's version is part of its path (below). Errors are
``{"errors": [{code, message, details}]}``; pages by ``payload.NextToken``. SP-API sends no ``Retry-After``: a
429 carries ``x-amzn-RateLimit-Limit`` (requests per second), so the wait is one request interval at that rate.
"""

from __future__ import annotations

from typing import Any

import requests

from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, HttpClient
from narrowcast.http.pagination import BodyCursor

CONNECTION_ID = "narrowcast_amazon"
ORDERS = "orders/v0/orders"
LISTINGS = "listings/2021-08-01/items"
FEEDS = "feeds/2021-06-30"
# A NextToken replaces the filters; MarketplaceIds stays required on every page.
PAGES = BodyCursor(cursor=("payload", "NextToken"), param="NextToken", carry=("MarketplaceIds",))


def marketplace_list(value: Any) -> list[str]:
    """``marketplace_ids`` from a connection: a list or a comma-separated string."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def auth(conn: Connection) -> Auth:
    return Auth(conn.require_password("the LWA access token"), headers=lambda token: {"x-amz-access-token": token})


class SellingPartnerApi(HttpClient):
    """SP-API: the ``errors`` envelope and the rate header as the retry wait."""

    api_name = "amazon"

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {"auth": auth(conn)}

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
