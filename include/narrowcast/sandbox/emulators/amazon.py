"""Amazon SP-API Orders emulator (source side): ``searchOrders`` (Orders API v2026-01-01,
orders_2026-01-01.json) and the deprecated ``getOrders`` and ``getOrderItems`` (Orders API v0, ordersV0.json).

Orders sorted by their last update then id, filtered by marketplaces and the last-update bounds (both inclusive),
paged with an opaque token. :class:`AmazonErrors` is the SP-API ``{"errors": [...]}`` envelope; the Listings
emulator reuses it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import zlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.world_index import (
    KeyIndex,
    decode_cursor,
    encode_cursor,
    epoch_us,
    iso_z,
    json_array,
    money_text,
    read_world_table,
)
from narrowcast.sandbox.framework import Emulator
from narrowcast.sandbox.tokens import accepts

MAX_RESULTS = 100
SETTLE_TIME = timedelta(minutes=2)
# The sandbox seller's usage plan (requests/second, burst) for each Orders operation. Amazon applies a plan per
# selling partner and reports the rate applied in ``x-amzn-RateLimit-Limit`` ("Usage Plans and Rate Limits in
# the SP-API"); the sandbox grants a generous one so the demo stays quick, enforces it with QuotaExceeded and
# reports it on every answer, so the client's pacing follows the header as it would for a real seller.
SANDBOX_PLAN = {"searchOrders": (20.0, 1000.0), "getOrders": (20.0, 1000.0), "getOrderItems": (100.0, 1000.0)}
# Amazon leaves OrderTotal/ItemPrice out for orders that never got (or lost) a price.
_UNPRICED = {"Pending", "Canceled"}
# orders_2026-01-01.json, searchOrders: the includedData values, the FulfillmentStatus each v0 OrderStatus (the
# world's) becomes, and "marketplaceIds" of at most 50.
INCLUDED_DATA = frozenset({"BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT",
                           "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS"})
FULFILLMENT_STATUS = {"PendingAvailability": "PENDING_AVAILABILITY", "Pending": "PENDING", "Unshipped": "UNSHIPPED",
                      "PartiallyShipped": "PARTIALLY_SHIPPED", "Shipped": "SHIPPED", "Canceled": "CANCELLED",
                      "Unfulfillable": "UNFULFILLABLE", "InvoiceUnconfirmed": "SHIPPED"}
MAX_MARKETPLACES = 50
# "The token will expire after 24 hours" (SearchOrdersResponse.pagination).
TOKEN_LIFETIME = timedelta(hours=24)
# "Access Orders PII": the buyer's e-mail only for merchant-fulfilled orders in these statuses (all sandbox orders
# are merchant-fulfilled).
_BUYER_EMAIL_STATUSES = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}
# searchOrders parameters that a paginationToken request must repeat unchanged ("with the exception of
# maxResultsPerPage and includedData").
_FILTERS = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore", "fulfillmentStatuses",
            "marketplaceIds", "fulfilledBy")


def amazon_authorized(request: Request) -> bool:
    """An LWA access token the sandbox accepts, in the header this API authenticates with (source and
    destination alike); an expired one is refused like a revoked one, with 403 ``Unauthorized``."""
    return accepts(request, "amazon", request.headers.get("x-amz-access-token"))


class AmazonErrors:
    """SP-API error envelope: ``{"errors": [{"code", "message", "details"}]}`` ("Parse SP-API Responses").

    Codes used by the emulators, each in the error examples of the Orders v0, Listings Items and Feeds
    references: InvalidInput 400, Unauthorized 403, NotFound 404, QuotaExceeded 429, InternalFailure 500.
    """

    def amazon_error(self, status: int, code: str, message: str, details: str = "",
                     headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"errors": [{"code": code, "message": message, "details": details}]},
                            status_code=status, headers=headers)

    def rate_limited(self, retry_after: float, *, report_rate: bool = True) -> Response:
        # SP-API sends no Retry-After. x-amzn-RateLimit-Limit (the rate applied to the request) comes "on a
        # best-effort basis" (Parse SP-API Responses); here it states one request per retry_after seconds, unless
        # the operation's document lists no such header on its 429 (orders_2026-01-01.json).
        headers = {"x-amzn-RateLimit-Limit": f"{1.0 / max(retry_after, 1e-3):.4g}"} if report_rate else None
        return self.amazon_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.",
                                 headers=headers)

    def server_error(self) -> Response:
        return self.amazon_error(500, "InternalFailure", "We encountered an internal error. Please try again.")

    def unauthorized(self) -> Response:
        return self.amazon_error(403, "Unauthorized", "Access to requested resource is denied.",
                                 "The access token you provided is revoked, malformed or invalid.")


def _order(items: list[dict[str, Any]]) -> dict[str, Any]:
    head = items[0]
    order: dict[str, Any] = {
        "AmazonOrderId": head["amazon_order_id"], "SellerOrderId": head["amazon_order_id"],
        "PurchaseDate": iso_z(head["purchase_date"]), "LastUpdateDate": iso_z(head["last_update_date"]),
        "OrderStatus": head["order_status"], "FulfillmentChannel": "MFN", "SalesChannel": "Amazon.de",
        "MarketplaceId": head["marketplace_id"], "OrderType": "StandardOrder",
        "NumberOfItemsShipped": sum(i["quantity_shipped"] for i in items),
        "NumberOfItemsUnshipped": sum(i["quantity_ordered"] - i["quantity_shipped"] for i in items),
        "BuyerInfo": {"BuyerEmail": head["buyer_email"]}, "IsPrime": False, "IsBusinessOrder": False,
    }
    if head["order_status"] not in _UNPRICED:
        order["OrderTotal"] = {"CurrencyCode": head["currency"],
                               "Amount": money_text(sum((i["item_price"] for i in items), start=0))}
    return order


def _item(row: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ASIN": f"B0{zlib.crc32(row['seller_sku'].encode()) % 10**8:08d}", "SellerSKU": row["seller_sku"],
        "OrderItemId": row["order_item_id"], "Title": row["seller_sku"],
        "QuantityOrdered": row["quantity_ordered"], "QuantityShipped": row["quantity_shipped"],
    }
    if row["order_status"] not in _UNPRICED:
        item["ItemPrice"] = {"CurrencyCode": row["currency"], "Amount": money_text(row["item_price"])}
    return item


def _unit_price(row: dict[str, Any]) -> str:
    # The world holds the line price (v0 ItemPrice = unit price × quantity); v2026 states the unit price.
    unit = Decimal(str(row["item_price"])) / row["quantity_ordered"]
    return money_text(unit) if unit == unit.quantize(Decimal("0.01")) else format(unit, "f")


def _searched_order(items: list[dict[str, Any]]) -> dict[str, Any]:
    """An Order of orders_2026-01-01.json: the parts every answer has, and each ``includedData`` set under its
    name (``BUYER`` → buyer, ``FULFILLMENT`` → fulfillment on the order and its items, ``PROCEEDS`` → proceeds)."""
    head = items[0]
    priced = head["order_status"] not in _UNPRICED
    status = FULFILLMENT_STATUS[head["order_status"]]
    currency = head["currency"]
    order_items = []
    for row in items:
        product: dict[str, Any] = {
            "asin": f"B0{zlib.crc32(row['seller_sku'].encode()) % 10**8:08d}", "title": row["seller_sku"],
            "sellerSku": row["seller_sku"], "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"}}
        # Priced per line as the v0 answers are (_item), so both versions tell the same story.
        line_priced = row["order_status"] not in _UNPRICED
        if line_priced:
            product["price"] = {"unitPrice": {"amount": _unit_price(row), "currencyCode": currency}}
        line = money_text(row["item_price"])
        order_items.append({
            "base": {"orderItemId": row["order_item_id"], "quantityOrdered": row["quantity_ordered"],
                     "programs": [], "product": product},
            "FULFILLMENT": {"fulfillment": {"quantityFulfilled": row["quantity_shipped"],
                                            "quantityUnfulfilled": row["quantity_ordered"] - row["quantity_shipped"]}},
            "PROCEEDS": {"proceeds": {"proceedsTotal": {"amount": line, "currencyCode": currency},
                                      "breakdowns": [{"type": "ITEM", "subtotal": {"amount": line,
                                                                                   "currencyCode": currency}}]}}
            if line_priced else {},
        })
    total = money_text(sum((i["item_price"] for i in items), start=0))
    return {
        "base": {"orderId": head["amazon_order_id"],
                 "orderAliases": [{"aliasId": head["amazon_order_id"], "aliasType": "SELLER_ORDER_ID"}],
                 "createdTime": iso_z(head["purchase_date"]), "lastUpdatedTime": iso_z(head["last_update_date"]),
                 "programs": [], "salesChannel": {"channelName": "AMAZON", "marketplaceId": head["marketplace_id"],
                                                  "marketplaceName": "Amazon.de"}},
        "status": status,
        "BUYER": {"buyer": {"buyerEmail": head["buyer_email"]}} if status in _BUYER_EMAIL_STATUSES else {"buyer": {}},
        "FULFILLMENT": {"fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "MERCHANT",
                                        "fulfillmentServiceLevel": "STANDARD"}},
        "PROCEEDS": {"proceeds": {"grandTotal": {"amount": total, "currencyCode": currency},
                                  "breakdowns": [{"type": "ITEM", "subtotal": {"amount": total,
                                                                               "currencyCode": currency}}]}}
        if priced else {},
        "items": order_items,
    }


def _render(order: dict[str, Any], included: set[str]) -> dict[str, Any]:
    """The Order as searchOrders answers it for the ``included`` data sets (order items are always there)."""
    out = dict(order["base"])
    for name in ("BUYER", "FULFILLMENT", "PROCEEDS"):
        if name in included:
            out.update(order[name])
    out["orderItems"] = [{**item["base"], **{k: v for name in ("FULFILLMENT", "PROCEEDS") if name in included
                                             for k, v in item[name].items()}} for item in order["items"]]
    return out


class AmazonOrdersEmulator(AmazonErrors, Emulator):
    name = "amazon_orders"
    prefix = "amazon"

    def load(self) -> None:
        self._plan_lock = threading.Lock()
        self._plan_tokens: dict[str, tuple[float, float]] = {}
        self.seed_orders(read_world_table(self.world_dir, "amazon_orders"))

    def seed_orders(self, rows: list[dict[str, Any]]) -> None:
        """Serve these order lines (rows of the world's ``amazon_orders`` table) instead of the world's."""
        items: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            items[row["amazon_order_id"]].append(row)
        self.orders = KeyIndex([
            (epoch_us(rows[0]["last_update_date"]), order_id,
             (rows[0]["marketplace_id"], json.dumps(_order(rows), separators=(",", ":")), _searched_order(rows)))
            for order_id, rows in items.items()])
        self.items = {order_id: json.dumps({"payload": {"AmazonOrderId": order_id,
                                                        "OrderItems": [_item(r) for r in rows]}})
                      for order_id, rows in items.items()}

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/orders/2026-01-01/orders", self.search_orders, methods=["GET"])
        router.add_api_route("/orders/v0/orders", self.get_orders, methods=["GET"])
        router.add_api_route("/orders/v0/orders/{order_id}/orderItems", self.get_order_items, methods=["GET"])

    def get_orders(self, request: Request) -> Response:
        if not amazon_authorized(request):
            return self.unauthorized()
        if (refused := self._over_plan("getOrders")) is not None:
            return refused
        query = request.query_params
        markets = {m for m in query.get("MarketplaceIds", "").split(",") if m}
        if not markets:
            return self.amazon_error(400, "InvalidInput", "Missing required parameter MarketplaceIds.")
        try:
            if "NextToken" in query:
                state = decode_cursor(query["NextToken"])
                low, high, limit, after = state["low"], state["high"], state["limit"], tuple(state["after"])
                markets = set(state["markets"])
            else:
                if "LastUpdatedAfter" not in query:
                    return self.amazon_error(400, "InvalidInput", "LastUpdatedAfter is required (the sandbox "
                                             "does not serve CreatedAfter queries).")
                low = epoch_us(datetime.fromisoformat(query["LastUpdatedAfter"]))
                high = epoch_us(datetime.fromisoformat(query["LastUpdatedBefore"])) \
                    if query.get("LastUpdatedBefore") else None
                if high is not None and high > epoch_us(datetime.now(UTC) - SETTLE_TIME):
                    return self.amazon_error(400, "InvalidInput", "LastUpdatedBefore must be at least 2 minutes "
                                             "before the time the request is submitted.")
                limit, after = int(query.get("MaxResultsPerPage", MAX_RESULTS)), None
                if not 1 <= limit <= MAX_RESULTS:
                    return self.amazon_error(400, "InvalidInput", f"MaxResultsPerPage must be 1..{MAX_RESULTS}.")
        except (ValueError, KeyError, TypeError):
            return self.amazon_error(400, "InvalidInput", "Invalid NextToken, date or MaxResultsPerPage.")
        lo, hi = self.orders.bounds(low, high)
        position = max(lo, self.orders.after(after)) if after else lo
        blobs: list[str] = []
        # Other marketplaces' orders are skipped as the slice is walked, only as far as one page needs.
        while position < hi and len(blobs) < limit:
            market, blob, _ = self.orders.payloads[position]
            if market in markets:
                blobs.append(blob)
            position += 1
        while position < hi and self.orders.payloads[position][0] not in markets:
            position += 1
        payload = f'{{"Orders":{json_array(blobs)}'
        if position < hi:
            token = encode_cursor({"low": low, "high": high, "limit": limit, "markets": sorted(markets),
                                   "after": list(self.orders.keys[position - 1])})
            payload += f',"NextToken":"{token}"'
        return Response(f'{{"payload":{payload}}}}}', media_type="application/json",
                        headers=self._plan_header("getOrders"))

    def search_orders(self, request: Request) -> Response:
        """searchOrders: orders by last update (the sandbox serves no createdAfter search), with their items."""
        request_id = {"x-amzn-RequestId": str(uuid.uuid4())}
        if not amazon_authorized(request):
            return self._with(self.unauthorized(), request_id)
        if (refused := self._over_plan("searchOrders", report_rate=False)) is not None:
            return self._with(refused, request_id)
        headers = {**self._plan_header("searchOrders"), **request_id}
        query = request.query_params
        try:
            search, limit, included, after = self._search_of(query)
        except ValueError as exc:
            return self._with(self.amazon_error(400, "InvalidInput", str(exc)), headers)
        low, high = search["low"], search["high"]
        markets = set(search["marketplaceIds"])
        statuses = set(search["fulfillmentStatuses"])
        lo, hi = self.orders.bounds(low, high)
        position = max(lo, self.orders.after(after)) if after else lo
        orders: list[dict[str, Any]] = []

        def wanted(payload: tuple[str, str, dict[str, Any]]) -> bool:
            return (not markets or payload[0] in markets) and (not statuses or payload[2]["status"] in statuses) \
                and (not search["fulfilledBy"] or "MERCHANT" in search["fulfilledBy"])

        while position < hi and len(orders) < limit:
            if wanted(self.orders.payloads[position]):
                orders.append(_render(self.orders.payloads[position][2], included))
            position += 1
        while position < hi and not wanted(self.orders.payloads[position]):
            position += 1
        body: dict[str, Any] = {"orders": orders}
        if position < hi:
            body["pagination"] = {"nextToken": encode_cursor(
                {**search, "issued": time.time(), "after": list(self.orders.keys[position - 1])})}
        body["lastUpdatedBefore"] = iso_z(datetime.fromtimestamp(high / 1e6, UTC).replace(tzinfo=None))
        return JSONResponse(body, headers=headers)

    def _search_of(self, query: Any) -> tuple[dict[str, Any], int, set[str], tuple | None]:
        """(the search a request or its paginationToken names, page size, includedData, position after) or a
        ValueError saying what orders_2026-01-01.json refuses."""
        def listed(name: str) -> list[str]:
            return [v for v in query.get(name, "").split(",") if v]

        limit_text = query.get("maxResultsPerPage", str(MAX_RESULTS))
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_RESULTS:
            raise ValueError(f"maxResultsPerPage must be an integer 1..{MAX_RESULTS}.")
        included = set(listed("includedData"))
        if unknown := included - INCLUDED_DATA:
            raise ValueError(f"Invalid includedData value(s): {', '.join(sorted(unknown))}.")
        filters = {name: query[name] for name in _FILTERS if name in query}
        if "paginationToken" in query:
            try:
                state = decode_cursor(query["paginationToken"])
                after = tuple(state.pop("after"))
                issued = state.pop("issued")
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError("Invalid paginationToken.") from exc
            if time.time() - issued > TOKEN_LIFETIME.total_seconds():
                raise ValueError("The paginationToken has expired.")
            if filters != state["filters"]:
                raise ValueError("A paginationToken request must repeat the other parameters of the request that "
                                 "generated the token.")
            return state, int(limit_text), included, after
        if "createdAfter" in filters or "createdBefore" in filters:
            if "lastUpdatedAfter" in filters or "lastUpdatedBefore" in filters:
                raise ValueError("createdAfter/createdBefore cannot be combined with lastUpdatedAfter/lastUpdatedBefore.")
            raise ValueError("The sandbox serves searchOrders by lastUpdatedAfter only, not createdAfter.")
        if "lastUpdatedAfter" not in filters:
            raise ValueError("Exactly one of createdAfter and lastUpdatedAfter is required.")
        markets = listed("marketplaceIds")
        if len(markets) > MAX_MARKETPLACES:
            raise ValueError(f"marketplaceIds takes at most {MAX_MARKETPLACES} values.")
        latest = epoch_us(datetime.now(UTC) - SETTLE_TIME)
        try:
            low = epoch_us(datetime.fromisoformat(filters["lastUpdatedAfter"]))
            high = epoch_us(datetime.fromisoformat(filters["lastUpdatedBefore"])) \
                if "lastUpdatedBefore" in filters else latest
        except ValueError as exc:
            raise ValueError("lastUpdatedAfter and lastUpdatedBefore must be ISO 8601 date-times.") from exc
        if high < low:
            raise ValueError("lastUpdatedBefore must be equal to or after lastUpdatedAfter.")
        if high > latest:
            raise ValueError("lastUpdatedBefore must be at least two minutes before the time of the request.")
        statuses = listed("fulfillmentStatuses")
        if unknown := set(statuses) - set(FULFILLMENT_STATUS.values()):
            raise ValueError(f"Invalid fulfillmentStatuses value(s): {', '.join(sorted(unknown))}.")
        fulfilled_by = listed("fulfilledBy")
        if unknown := set(fulfilled_by) - {"MERCHANT", "AMAZON"}:
            raise ValueError(f"Invalid fulfilledBy value(s): {', '.join(sorted(unknown))}.")
        search = {"filters": filters, "low": low, "high": high, "marketplaceIds": sorted(markets),
                  "fulfillmentStatuses": statuses, "fulfilledBy": fulfilled_by}
        return search, int(limit_text), included, None

    @staticmethod
    def _with(response: Response, headers: dict[str, str]) -> Response:
        response.headers.update(headers)
        return response

    def get_order_items(self, order_id: str, request: Request) -> Response:
        if not amazon_authorized(request):
            return self.unauthorized()
        if (refused := self._over_plan("getOrderItems")) is not None:
            return refused
        body = self.items.get(order_id)
        if body is None:
            return self.amazon_error(404, "NotFound", f"Order {order_id} not found.")
        return Response(body, media_type="application/json", headers=self._plan_header("getOrderItems"))

    # ---- the sandbox seller's usage plan -----------------------------------------------------------
    def _over_plan(self, operation: str, *, report_rate: bool = True) -> Response | None:
        """QuotaExceeded when the operation's plan has no request left now, else None (one request taken)."""
        rate, burst = SANDBOX_PLAN[operation]
        now = time.monotonic()
        with self._plan_lock:
            tokens, last = self._plan_tokens.get(operation, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._plan_tokens[operation] = (tokens, now)
                return self.rate_limited((1.0 - tokens) / rate, report_rate=report_rate)
            self._plan_tokens[operation] = (tokens - 1.0, now)
        return None

    @staticmethod
    def _plan_header(operation: str) -> dict[str, str]:
        return {"x-amzn-RateLimit-Limit": f"{SANDBOX_PLAN[operation][0]:g}"}


EMULATOR = AmazonOrdersEmulator
