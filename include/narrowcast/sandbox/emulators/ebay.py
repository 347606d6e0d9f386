"""eBay Sell Fulfillment emulator (source side): ``GET /sell/fulfillment/v1/order`` (getOrders).

Filter ``lastmodifieddate:[a..b]`` or ``creationdate:[a..b]`` (either end may be open), ``limit``/``offset``
paging with ``next``/``prev`` hrefs and ``total``. :class:`EbayErrors` is the ErrorDetailV3 envelope; the Sell
Inventory emulator reuses it.

Limits and errorIds as the Sell Fulfillment v1 contract (sell_fulfillment_v1_oas3, getOrders) lists them: limit
1..200 (default 50); 30700 invalid filter name, 30800 invalid filter value, 30810 invalid date format, 31000 invalid offset, 31100 invalid
limit, 30500 system error; and eBay's common 1001 (invalid access token) and 2001 (too many requests).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.world_index import (
    KeyIndex,
    epoch_us,
    iso_z,
    json_array,
    money_text,
    read_world_table,
)
from narrowcast.sandbox.framework import Emulator
from narrowcast.sandbox.tokens import accepts, bearer

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_FILTER = re.compile(r"^(?P<field>lastmodifieddate|creationdate):\[(?P<a>[^\]]*?)\.\.(?P<b>[^\]]*)\]$")


def ebay_authorized(request: Request) -> bool:
    """A user access token the sandbox accepts, as ``Authorization: Bearer`` (source and destination alike);
    an expired one gets eBay's 401 errorId 1001 "Invalid access token"."""
    return accepts(request, "ebay", bearer(request))


class EbayErrors:
    """eBay's ErrorDetailV3 envelope: ``{"errors": [{errorId, domain, category, message, longMessage}]}``."""

    def ebay_error(self, status: int, error_id: int, domain: str, category: str, message: str,
                   long_message: str | None = None, headers: dict[str, str] | None = None) -> Response:
        error: dict[str, Any] = {"errorId": error_id, "domain": domain, "category": category, "message": message}
        if long_message:
            error["longMessage"] = long_message
        return JSONResponse({"errors": [error]}, status_code=status, headers=headers)

    def rate_limited(self, retry_after: float) -> Response:
        return self.ebay_error(429, 2001, "ACCESS", "REQUEST", "Too many requests. The request limit has been "
                               "reached for the resource.", headers={"Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return self.ebay_error(500, 30500, "API_FULFILLMENT", "APPLICATION",
                               "There was a problem with an eBay internal system or process. Contact eBay developer "
                               "technical support for assistance.")

    def unauthorized(self) -> Response:
        return self.ebay_error(401, 1001, "OAuth", "REQUEST", "Invalid access token",
                               "Invalid access token. Check the value of the Authorization HTTP request header.")


def _order(lines: list[dict[str, Any]]) -> dict[str, Any]:
    head = lines[0]
    currency = head["currency"]
    total = sum((line["line_item_cost"] for line in lines), start=0)
    fulfilled = head["order_fulfillment_status"] == "FULFILLED"
    return {
        "orderId": head["order_id"], "legacyOrderId": head["order_id"].replace("-", ""),
        "creationDate": iso_z(head["creation_date"], millis=True),
        "lastModifiedDate": iso_z(head["last_modified_date"], millis=True),
        "orderFulfillmentStatus": head["order_fulfillment_status"],
        "orderPaymentStatus": head["order_payment_status"],
        "sellerId": "narrowcast_demo_seller",
        "buyer": {"username": head["buyer_username"],
                  "buyerRegistrationAddress": {"email": head["buyer_email"]}},
        "pricingSummary": {"priceSubtotal": {"value": money_text(total), "currency": currency},
                           "total": {"value": money_text(total), "currency": currency}},
        "cancelStatus": {"cancelState": head["cancel_state"], "cancelRequests": []},
        "paymentSummary": {"totalDueSeller": {"value": money_text(total), "currency": currency}},
        "lineItems": [{
            "lineItemId": line["line_item_id"], "legacyItemId": line["line_item_id"], "sku": line["sku"],
            "title": line["sku"], "quantity": line["quantity"],
            "lineItemCost": {"value": money_text(line["line_item_cost"]), "currency": currency},
            "total": {"value": money_text(line["line_item_cost"]), "currency": currency},
            "lineItemFulfillmentStatus": "FULFILLED" if fulfilled else "NOT_STARTED",
            "purchaseMarketplaceId": line["marketplace_id"], "listingMarketplaceId": line["marketplace_id"],
        } for line in lines],
    }


def _micros(text: str) -> int | None:
    if not text:
        return None
    return epoch_us(datetime.fromisoformat(text))


class EbayFulfillmentEmulator(EbayErrors, Emulator):
    name = "ebay_fulfillment"
    prefix = "ebay"

    def load(self) -> None:
        lines: dict[str, list[dict]] = defaultdict(list)
        for row in read_world_table(self.world_dir, "ebay_orders"):
            lines[row["order_id"]].append(row)
        modified, created = [], []
        for order_id, rows in lines.items():
            blob = json.dumps(_order(rows), separators=(",", ":"))
            modified.append((epoch_us(rows[0]["last_modified_date"]), order_id, blob))
            created.append((epoch_us(rows[0]["creation_date"]), order_id, blob))
        self.indexes = {"lastmodifieddate": KeyIndex(modified), "creationdate": KeyIndex(created)}

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/sell/fulfillment/v1/order", self.get_orders, methods=["GET"])

    def get_orders(self, request: Request) -> Response:
        if not ebay_authorized(request):
            return self.unauthorized()
        query = request.query_params
        field, low, high = "creationdate", None, None
        if query.get("filter"):
            match = _FILTER.match(query["filter"].strip())
            name, _, value = query["filter"].strip().partition(":")
            if name not in ("lastmodifieddate", "creationdate"):
                return self.ebay_error(400, 30700, "API_FULFILLMENT", "REQUEST", f"Invalid filter name: {name}",
                                       "The sandbox serves lastmodifieddate:[from..to] or creationdate:[from..to].")
            if not match:
                return self.ebay_error(400, 30800, "API_FULFILLMENT", "REQUEST",
                                       f"Invalid filter value {value} for filter {name}")
            try:
                field, low, high = match["field"], _micros(match["a"]), _micros(match["b"])
            except ValueError:
                return self.ebay_error(400, 30810, "API_FULFILLMENT", "REQUEST", "Invalid date format")
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError
        except ValueError:
            return self.ebay_error(400, 31100, "API_FULFILLMENT", "REQUEST", f"Invalid limit: {query.get('limit')}")
        try:
            offset = int(query.get("offset", 0))
            if offset < 0:
                raise ValueError
        except ValueError:
            return self.ebay_error(400, 31000, "API_FULFILLMENT", "REQUEST", f"Invalid offset: {query.get('offset')}")
        index = self.indexes[field]
        lo, hi = index.bounds(low, high)
        start, stop = min(hi, lo + offset), min(hi, lo + offset + limit)
        total = hi - lo

        def href(new_offset: int) -> str:
            return str(request.url.replace(query=urlencode({**query, "limit": limit, "offset": new_offset})))

        page: dict[str, Any] = {"href": href(offset), "total": total, "limit": limit, "offset": offset}
        if offset + limit < total:
            page["next"] = href(offset + limit)
        if offset > 0:
            page["prev"] = href(max(0, offset - limit))
        head = json.dumps(page, separators=(",", ":"))[:-1]
        return Response(f'{head},"orders":{json_array(index.payloads[start:stop])}}}', media_type="application/json")


EMULATOR = EbayFulfillmentEmulator
