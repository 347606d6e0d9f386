"""Amazon SP-API Orders emulator (source side): ``getOrders`` and ``getOrderItems`` (Orders API v0).

Orders sorted by ``(LastUpdateDate, AmazonOrderId)``, filtered by ``MarketplaceIds`` and
``LastUpdatedAfter``/``LastUpdatedBefore`` (both inclusive), paged with an opaque ``NextToken``.
:class:`AmazonErrors` is the SP-API ``{"errors": [...]}`` envelope (429 with ``x-amzn-RateLimit-Limit``); the
Listings emulator reuses it.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
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
SANDBOX_PLAN = {"getOrders": (20.0, 1000.0), "getOrderItems": (100.0, 1000.0)}
# Amazon leaves OrderTotal/ItemPrice out for orders that never got (or lost) a price.
_UNPRICED = {"Pending", "Canceled"}


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

    def rate_limited(self, retry_after: float) -> Response:
        # SP-API sends no Retry-After. x-amzn-RateLimit-Limit (the rate applied to the request) comes "on a
        # best-effort basis" (Parse SP-API Responses); here it states one request per retry_after seconds.
        return self.amazon_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.",
                                 headers={"x-amzn-RateLimit-Limit": f"{1.0 / max(retry_after, 1e-3):.4g}"})

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


class AmazonOrdersEmulator(AmazonErrors, Emulator):
    name = "amazon_orders"
    prefix = "amazon"

    def load(self) -> None:
        self._plan_lock = threading.Lock()
        self._plan_tokens: dict[str, tuple[float, float]] = {}
        items: dict[str, list[dict]] = defaultdict(list)
        for row in read_world_table(self.world_dir, "amazon_orders"):
            items[row["amazon_order_id"]].append(row)
        self.orders = KeyIndex([
            (epoch_us(rows[0]["last_update_date"]), order_id,
             (rows[0]["marketplace_id"], json.dumps(_order(rows), separators=(",", ":"))))
            for order_id, rows in items.items()])
        self.items = {order_id: json.dumps({"payload": {"AmazonOrderId": order_id,
                                                        "OrderItems": [_item(r) for r in rows]}})
                      for order_id, rows in items.items()}

    def routes(self, router: APIRouter) -> None:
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
            market, blob = self.orders.payloads[position]
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
    def _over_plan(self, operation: str) -> Response | None:
        """QuotaExceeded when the operation's plan has no request left now, else None (one request taken)."""
        rate, burst = SANDBOX_PLAN[operation]
        now = time.monotonic()
        with self._plan_lock:
            tokens, last = self._plan_tokens.get(operation, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._plan_tokens[operation] = (tokens, now)
                return self.rate_limited((1.0 - tokens) / rate)
            self._plan_tokens[operation] = (tokens - 1.0, now)
        return None

    @staticmethod
    def _plan_header(operation: str) -> dict[str, str]:
        return {"x-amzn-RateLimit-Limit": f"{SANDBOX_PLAN[operation][0]:g}"}


EMULATOR = AmazonOrdersEmulator
