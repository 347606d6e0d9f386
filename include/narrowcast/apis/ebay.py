"""eBay Sell APIs wire conventions, for the Fulfillment source and the Inventory destination.

Connection ``narrowcast_ebay``: ``base_url`` = ``https://api.ebay.com``, ``password`` = a user access token
with the scopes the caller needs (``sell.fulfillment``, ``sell.inventory``; sent as ``Authorization: Bearer``).
Each API's version is part of its path (below). Errors are ErrorDetailV3 (``{"errors": [{errorId, domain,
category, message, longMessage}]}``); pages by the ``next`` href in the body, which carries every parameter.
"""

from __future__ import annotations

from typing import Any

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, HttpClient, bearer_or_refresh
from narrowcast.http.pagination import NextHref

CONNECTION_ID = "narrowcast_ebay"
# User access tokens last two hours; the refresh grant must name scopes of the seller's original consent.
TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"
SCOPES = ("https://api.ebay.com/oauth/api_scope/sell.fulfillment "
          "https://api.ebay.com/oauth/api_scope/sell.inventory")
FULFILLMENT = f"sell/fulfillment/{versions.EBAY_FULFILLMENT.default}"
INVENTORY = f"sell/inventory/{versions.EBAY_INVENTORY.default}"
FINANCES = f"sell/finances/{versions.EBAY_FINANCES.default}"


def finances_base_url(conn: Connection) -> str:
    """The Finances API's base URL: extra ``finances_base_url``, else the connection's with eBay's ``apiz``
    host (the Finances API is served from apiz.ebay.com only, sell_finances_v1_oas3 ``servers``)."""
    explicit = conn.extra.get("finances_base_url")
    if explicit:
        return str(explicit)
    return (conn.base_url or "https://api.ebay.com").replace("://api.", "://apiz.", 1)
# An offer's state as getOffer reports it (Sell Inventory v1 contract, EbayOfferDetailsWithAll): ``status``
# PUBLISHED or UNPUBLISHED, and the live listing's ``listing.listingStatus``. Relisting and withdrawing are decided
# from this state; no errorId of the contract says "not published".
PUBLISHED = "PUBLISHED"
LIVE_LISTING_STATUSES = frozenset({"ACTIVE", "OUT_OF_STOCK"})


def is_live(offer: dict[str, Any]) -> bool:
    """True when a getOffer answer shows a published offer whose listing is live."""
    listing_status = (offer.get("listing") or {}).get("listingStatus")
    return offer.get("status") == PUBLISHED and (listing_status is None or listing_status in LIVE_LISTING_STATUSES)


def list_pages(items_key: str) -> NextHref:
    """Pages of a list call whose items sit under ``items_key``; an empty page is the last."""
    return NextHref(href=("next",), items=(items_key,))


def auth(conn: Connection) -> Auth:
    return bearer_or_refresh(conn, what="the eBay user access token", token_url=TOKEN_URL, client_auth="basic",
                             default_scope=SCOPES, headers=lambda token: {"Authorization": f"Bearer {token}"})


class EbayApi(HttpClient):
    """eBay REST: the ErrorDetailV3 envelope as the error message."""

    api_name = "ebay"
    default_base_url = "https://api.ebay.com"

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {"auth": auth(conn)}

    def describe_error(self, e: dict[str, Any]) -> str:
        return f"errorId {e.get('errorId')} ({e.get('domain')}/{e.get('category')}): {e.get('longMessage') or e.get('message')}"
