"""Amazon Selling Partner API wire conventions, for the Orders source and the Listings destination.

Connection ``narrowcast_amazon``: ``base_url`` = the regional endpoint, e.g.
``https://sellingpartnerapi-eu.amazon.com``, ``password`` = an LWA access token (sent as
``x-amz-access-token``), extra ``marketplace_ids`` (list or comma-separated), ``seller_id`` and
``marketplace_id`` (the listings destination), ``restricted_roles`` (the SP-API roles the application was
granted, list or comma-separated), ``api_version`` (the Orders API version, default v2026-01-01; ``v0`` until
its removal). Each API's version is part of its path (below). Errors are ``{"errors": [{code, message,
details}]}``; Orders v0 pages by ``payload.NextToken``, Orders v2026-01-01 by ``pagination.nextToken``.

Rate limits are per operation (Amazon's usage plans, :data:`USAGE_PLANS`), so the client paces each operation
with its own token bucket, starting from the default plan and following the rate each answer's
``x-amzn-RateLimit-Limit`` reports (a selling partner's plan may be higher or lower). A 429 need not carry ``x-amzn-RateLimit-Limit`` (Amazon returns it "when
available") and SP-API sends no ``Retry-After``: without the header the wait is one request interval of the
operation's plan. Feed and report documents move through pre-signed S3 URLs that take none of the SP-API
headers (S3 refuses unsigned ``x-amz-*`` headers, and the access token must not reach S3).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.http import Auth, HttpClient, TokenBucket, bearer_or_refresh
from narrowcast.http.bodies import error_objects
from narrowcast.http.pagination import BodyCursor

CONNECTION_ID = "narrowcast_amazon"
# Login with Amazon issues SP-API access tokens (one hour) from the seller's refresh token.
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ORDERS_V0 = "orders/v0/orders"
ORDERS = f"orders/{versions.AMAZON_ORDERS.default}/orders"
LISTINGS = f"listings/{versions.AMAZON_LISTINGS.default}/items"
FEEDS = f"feeds/{versions.AMAZON_FEEDS.default}"
TRANSACTIONS = f"finances/{versions.AMAZON_FINANCES.default}/transactions"
# Product Type Definitions has one version, 2020-09-01, with no successor announced.
DEFINITIONS = "definitions/2020-09-01/productTypes"
# A NextToken replaces the filters; MarketplaceIds stays required on every page.
PAGES = BodyCursor(cursor=("payload", "NextToken"), param="NextToken", carry=("MarketplaceIds",))
# searchOrders: "All other parameters must be provided with the same values that were provided with the request
# that generated this token" (orders_2026-01-01.json, SearchOrdersResponse.pagination); the token lasts 24 hours.
SEARCH_PAGES = BodyCursor(cursor=("pagination", "nextToken"), param="paginationToken")
# listTransactions: "call the operation with this token and include the same arguments as the call that produced
# the token"; a page may be empty while a token follows (finances_2024-06-19.json, TransactionsPayload).
TRANSACTION_PAGES = BodyCursor(cursor=("payload", "nextToken"), param="nextToken")


@dataclass(frozen=True)
class UsagePlan:
    """An operation's default usage plan: ``rate`` requests per second, bursts up to ``burst``."""

    rate: float
    burst: int


# Amazon's default usage plans, from the "Usage Plan" table of each operation in the selling-partner-api-models
# references: Orders 2026-01-01 (orders_2026-01-01.json), Orders v0 (ordersV0.json), Listings Items 2021-08-01
# (listingsItems_2021-08-01.json), Feeds 2021-06-30 (feeds_2021-06-30.json) and Product Type Definitions 2020-09-01
# (definitionsProductTypes_2020-09-01.json).
USAGE_PLANS: dict[str, UsagePlan] = {
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrders": UsagePlan(0.0167, 20),
    "getOrderItems": UsagePlan(0.5, 30),
    "getOrder": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
    "patchListingsItem": UsagePlan(5.0, 10),
    "putListingsItem": UsagePlan(5.0, 10),
    "deleteListingsItem": UsagePlan(5.0, 10),
    "getDefinitionsProductType": UsagePlan(5.0, 10),
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    # finances_2024-06-19.json, listTransactions.
    "listTransactions": UsagePlan(0.5, 10),
}
# (method, path pattern relative to the base URL) → operation, so every call is paced by its own plan.
_OPERATIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(rf"^{ORDERS}$"), "searchOrders"),
    ("GET", re.compile(rf"^{ORDERS_V0}$"), "getOrders"),
    ("GET", re.compile(rf"^{ORDERS_V0}/[^/]+/orderItems$"), "getOrderItems"),
    ("GET", re.compile(rf"^{ORDERS}/[^/]+$"), "getOrder"),
    ("POST", re.compile(rf"^{ORDERS_V0}/[^/]+/shipmentConfirmation$"), "confirmShipment"),
    ("PATCH", re.compile(rf"^{LISTINGS}/[^/]+/.+$"), "patchListingsItem"),
    ("PUT", re.compile(rf"^{LISTINGS}/[^/]+/.+$"), "putListingsItem"),
    ("DELETE", re.compile(rf"^{LISTINGS}/[^/]+/.+$"), "deleteListingsItem"),
    ("GET", re.compile(rf"^{DEFINITIONS}/[^/]+$"), "getDefinitionsProductType"),
    ("POST", re.compile(rf"^{FEEDS}/documents$"), "createFeedDocument"),
    ("POST", re.compile(rf"^{FEEDS}/feeds$"), "createFeed"),
    ("GET", re.compile(rf"^{FEEDS}/feeds/[^/]+$"), "getFeed"),
    ("GET", re.compile(rf"^{FEEDS}/documents/[^/]+$"), "getFeedDocument"),
    ("GET", re.compile(rf"^{TRANSACTIONS}$"), "listTransactions"),
)

# The buyer's e-mail is restricted data, behind a role that differs by version. Orders v0 BuyerInfo: the Tax
# Remittance or Tax Invoicing (Restricted) role ("Get order information" guide). Orders v2026-01-01
# buyer.buyerEmail (includedData=BUYER, no Restricted Data Token): the Direct-to-Consumer Delivery (Restricted)
# role ("Access Orders PII"; Amazon's role list names the same role Direct-to-Consumer Shipping). The address is
# besides an anonymised relay address, never a person's own e-mail, so nothing may use it to link identities; it
# is read only for a connection that declares such a role (for invoicing or tax purposes).
BUYER_EMAIL_ROLES: dict[str, frozenset[str]] = {
    "v0": frozenset({"tax remittance", "tax invoicing"}),
    "2026-01-01": frozenset({"direct to consumer delivery", "direct to consumer shipping"}),
}


def marketplace_list(value: Any) -> list[str]:
    """``marketplace_ids`` from a connection: a list or a comma-separated string."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def orders_path(version: str) -> str:
    """The Orders API collection path of ``version`` (``v0`` or ``2026-01-01``)."""
    return f"orders/{version}/orders"


def may_read_buyer_email(conn: Connection, version: str) -> bool:
    """True when the connection declares (extra ``restricted_roles``) a role Amazon requires for the buyer's
    e-mail in Orders ``version``."""
    declared = {role.removesuffix("(Restricted)").strip().replace("-", " ").casefold()
                for role in marketplace_list(conn.extra.get("restricted_roles"))}
    return bool(declared & BUYER_EMAIL_ROLES.get(version, frozenset()))


def operation_of(method: str, path: str) -> str | None:
    """The SP-API operation a request to ``path`` (relative to the base URL) is, or None."""
    path = path.strip("/")
    return next((name for verb, pattern, name in _OPERATIONS if verb == method and pattern.match(path)), None)


def auth(conn: Connection) -> Auth:
    return bearer_or_refresh(conn, what="the LWA access token", token_url=LWA_TOKEN_URL,
                             headers=lambda token: {"x-amz-access-token": token})


class _PacedClock:
    """The time the usage-plan buckets see: real time plus the waits an injected sleep skipped, so a test's
    instant sleep still lets the bucket refill and a real sleep is never counted twice."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep
        self._skipped = 0.0

    def now(self) -> float:
        return time.monotonic() + self._skipped

    def sleep(self, seconds: float) -> None:
        started = time.monotonic()
        self._sleep(seconds)
        self._skipped += max(0.0, seconds - (time.monotonic() - started))


class SellingPartnerApi(HttpClient):
    """SP-API: the ``errors`` envelope, a token bucket per operation, pre-signed document transfers."""

    api_name = "amazon"

    def __init__(self, base_url: str, **http: Any) -> None:
        super().__init__(base_url, **http)
        self._clock = _PacedClock(self._sleep)
        self._buckets: dict[str, TokenBucket] = {}
        self._operation: str | None = None
        # Pre-signed S3 URLs carry their own signature: a client without auth or default headers, so neither
        # the access token nor any other SP-API header goes to S3.
        self.documents = HttpClient("", api_name=f"{self.api_name} document", timeout=self.timeout,
                                    retry=self.retry, sleep=self._sleep)

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {"auth": auth(conn)}

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        operation = None if path_or_url.startswith(("http://", "https://")) else operation_of(method, path_or_url)
        if operation is None:
            return super().request(method, path_or_url, **kwargs)
        plan = USAGE_PLANS[operation]
        bucket = self._buckets.setdefault(
            operation, TokenBucket(plan.rate, plan.burst, clock=self._clock.now, sleep=self._clock.sleep))
        bucket.acquire()
        self._operation = operation
        try:
            response = super().request(method, path_or_url, **kwargs)
        finally:
            self._operation = None
        applied = _applied_rate(response)
        if applied and applied != bucket.rate:
            # A selling partner's usage plan may differ from the default; the header states the one applied.
            bucket.set_rate(applied)
        return response

    def token_rejected(self, response: requests.Response) -> bool:
        # SP-API refuses an expired or revoked access token with 403 and code "Unauthorized" (its
        # authorization-errors guide), not 401.
        if response.status_code == 401:
            return True
        return response.status_code == 403 and any(
            isinstance(e, dict) and e.get("code") == "Unauthorized" for e in error_objects(response))

    def retry_after(self, response: requests.Response) -> float | None:
        explicit = super().retry_after(response)
        if explicit is not None:
            return explicit
        rate = _applied_rate(response) or 0.0
        if rate <= 0 and response.status_code == 429 and self._operation is not None:
            # The plan the operation's answers last reported (its default until one did): a 429 of
            # searchOrders carries no x-amzn-RateLimit-Limit (orders_2026-01-01.json lists only x-amzn-RequestId).
            rate = self._buckets[self._operation].rate
        return 1.0 / rate if rate > 0 else None

    def describe_error(self, e: dict[str, Any]) -> str:
        return f"{e.get('code')}: {e.get('message')}" + (f" ({e['details']})" if e.get("details") else "")

    # ---- feed and report documents -----------------------------------------------------------------
    def _document_request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A request to a pre-signed URL, counted with the API's calls (it is part of the feed's cost)."""
        sent = self.documents.calls
        try:
            return self.documents.request(method, url, **kwargs)
        finally:
            self.calls += self.documents.calls - sent

    def upload_document(self, url: str, content: bytes, content_type: str) -> None:
        """PUT a feed document to its pre-signed URL, with the content type given to createFeedDocument."""
        self._document_request("PUT", url, data=content, headers={"Content-Type": content_type})

    def download_document(self, document: dict[str, Any]) -> Any:
        """The JSON content of a feed or report document (the getFeedDocument/getReportDocument answer),
        unzipped when the answer says ``compressionAlgorithm: GZIP``."""
        content = self._document_request("GET", document["url"]).content
        if document.get("compressionAlgorithm") == "GZIP":
            content = gzip.decompress(content)
        return json.loads(content)


def _applied_rate(response: requests.Response) -> float | None:
    """The requests per second Amazon applied to this call (``x-amzn-RateLimit-Limit``, sent "when available",
    "Usage Plans and Rate Limits in the SP-API"), or None."""
    try:
        rate = float(response.headers.get("x-amzn-RateLimit-Limit", ""))
    except ValueError:
        return None
    return rate if rate > 0 else None
