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

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, HttpClient, bearer_or_refresh
from narrowcast.http.pagination import BodyCursor

CONNECTION_ID = "narrowcast_amazon"
# Login with Amazon issues SP-API access tokens (one hour) from the seller's refresh token.
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ORDERS = f"orders/{versions.AMAZON_ORDERS.default}/orders"
LISTINGS = f"listings/{versions.AMAZON_LISTINGS.default}/items"
FEEDS = f"feeds/{versions.AMAZON_FEEDS.default}"
# A NextToken replaces the filters; MarketplaceIds stays required on every page.
PAGES = BodyCursor(cursor=("payload", "NextToken"), param="NextToken", carry=("MarketplaceIds",))


def marketplace_list(value: Any) -> list[str]:
    """``marketplace_ids`` from a connection: a list or a comma-separated string."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def auth(conn: Connection) -> Auth:
    return bearer_or_refresh(conn, what="the LWA access token", token_url=LWA_TOKEN_URL,
                             headers=lambda token: {"x-amz-access-token": token})


class SellingPartnerApi(HttpClient):
    """SP-API: the ``errors`` envelope and the rate header as the retry wait."""

    api_name = "amazon"

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {"auth": auth(conn)}

    def token_rejected(self, response: requests.Response) -> bool:
        # SP-API refuses an expired or revoked access token with 403 and code "Unauthorized" (its
        # authorization-errors guide), not 401.
        if response.status_code == 401:
            return True
        return response.status_code == 403 and any(
            isinstance(e, dict) and e.get("code") == "Unauthorized" for e in _errors(response))

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
        errors = _errors(response)
        if not errors:
            return super().error_message(response)
        return "; ".join(
            f"{e.get('code')}: {e.get('message')}" + (f" ({e['details']})" if e.get("details") else "")
            for e in errors if isinstance(e, dict))[:500]


def _errors(response: requests.Response) -> list[Any]:
    """The ``errors`` list of an SP-API error body, or ``[]``."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return []
    return errors if isinstance(errors, list) else []
