"""Emulator of the eBay Sell Fulfillment API's shipping fulfillments (createShippingFulfillment and the list).

Holds the world's eBay orders (``ebay_orders``, one row per line) or those seeded by :meth:`seed_orders` (order
id → line item id → SKU and quantity ordered) and the
fulfillments created against them, which :meth:`snapshot` shows for tests. ``createShippingFulfillment``
validates the body as the contract describes it and answers 201 with a ``Location`` header.

Every errorId is one the Sell Fulfillment v1 contract (sell_fulfillment_v1_oas3, ``x-response-codes`` of
createShippingFulfillment / getShippingFulfillments) lists, each answered with HTTP 400 as the contract files
them: 32100 "Invalid Order Id", 32200 "Invalid line item id", 32210 "Duplicate line item in the request", 32300
"Invalid shipment tracking number or carrier", 32500 "Invalid shipped date", 32600 "Invalid input data" (here: a
quantity below 1 or beyond what is left to ship); and eBay's common 1001/2001/30500 (``EbayErrors``).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.ebay import EbayErrors, ebay_authorized
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

DOMAIN = "API_FULFILLMENT"
PATH = "/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment"


class EbayShippingEmulator(EbayErrors, Emulator):
    name = "ebay_shipping"
    prefix = "ebay"

    def __init__(self, world_dir: Path | None) -> None:
        self._ids = itertools.count(9_405_509_699_937_003_000)
        self.orders: dict[str, dict[str, dict[str, Any]]] = {}
        self.fulfillments: dict[str, list[dict[str, Any]]] = {}
        self.created = 0
        super().__init__(world_dir)

    def load(self) -> None:
        orders: dict[str, dict[str, tuple[str, int]]] = {}
        for row in read_world_table(self.world_dir, "ebay_orders", ["order_id", "line_item_id", "sku", "quantity"]):
            orders.setdefault(str(row["order_id"]), {})[str(row["line_item_id"])] = (row["sku"], int(row["quantity"]))
        self.seed_orders(orders)

    def seed_orders(self, orders: dict[str, dict[str, tuple[str, int]]]) -> None:
        """Hold these orders: order id → line item id → (SKU, quantity ordered)."""
        with self.lock:
            for order_id, lines in orders.items():
                self.orders[order_id] = {line_id: {"sku": sku, "quantity": quantity}
                                         for line_id, (sku, quantity) in lines.items()}

    def reset(self) -> None:
        with self.lock:
            self.orders.clear()
            self.fulfillments.clear()
            self.created = 0
            super().reset()  # reloads the world's orders

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"fulfillments": {o: [dict(f) for f in fs] for o, fs in self.fulfillments.items()},
                    "created": self.created}

    def _invalid(self, error_id: int, message: str) -> Response:
        return self.ebay_error(400, error_id, DOMAIN, "REQUEST", message)

    def routes(self, router: APIRouter) -> None:
        @router.get(PATH)
        def list_fulfillments(order_id: str, request: Request) -> Response:
            if not ebay_authorized(request):
                return self.unauthorized()
            with self.lock:
                if order_id not in self.orders:
                    return self._invalid(32100, f"Invalid order ID: {order_id}")
                held = [dict(f) for f in self.fulfillments.get(order_id, [])]
            return JSONResponse({"fulfillments": held, "total": len(held)})

        @router.post(PATH)
        async def create(order_id: str, request: Request) -> Response:
            if not ebay_authorized(request):
                return self.unauthorized()
            body = await request.json()
            with self.lock:
                refused = self._refusal(order_id, body)
                if refused is not None:
                    return refused
                fulfillment_id = str(next(self._ids))
                self.fulfillments.setdefault(order_id, []).append({
                    "fulfillmentId": fulfillment_id,
                    "lineItems": [{"lineItemId": str(i["lineItemId"]), "quantity": int(i["quantity"])}
                                  for i in body["lineItems"]],
                    "shipmentTrackingNumber": body.get("trackingNumber"),
                    "shippingCarrierCode": body.get("shippingCarrierCode"),
                    "shippedDate": body.get("shippedDate"),
                })
                self.created += 1
                self.received.append({"method": "createShippingFulfillment", "orderId": order_id})
            location = f"{request.base_url}ebay{PATH.format(order_id=order_id)}/{fulfillment_id}"
            return JSONResponse({}, status_code=201, headers={"Location": location})

    def _refusal(self, order_id: str, body: dict[str, Any]) -> Response | None:
        lines = self.orders.get(order_id)
        if lines is None:
            return self._invalid(32100, f"Invalid Order Id: {order_id}")
        items = body.get("lineItems")
        if not isinstance(items, list) or not items:
            return self._invalid(32600, "Invalid input data")
        ids = [str(i.get("lineItemId")) for i in items]
        if len(set(ids)) < len(ids):
            return self._invalid(32210, "Duplicate line item in the request")
        shipped = self._shipped(order_id)
        for item in items:
            line_id, quantity = str(item.get("lineItemId")), item.get("quantity")
            if line_id not in lines:
                return self._invalid(32200, f"Invalid line item id: {line_id}")
            left = lines[line_id]["quantity"] - shipped.get(line_id, 0)
            if not isinstance(quantity, int) or not 1 <= quantity <= left:
                return self._invalid(32600, "Invalid input data")
        # trackingNumber and shippingCarrierCode are "mutually dependent": one without the other is refused.
        if bool(body.get("trackingNumber")) != bool(body.get("shippingCarrierCode")):
            return self._invalid(32300, "Invalid shipment tracking number or carrier")
        shipped_date = body.get("shippedDate")
        if shipped_date is not None and not _iso_utc(shipped_date):
            return self._invalid(32500, "Invalid shipped date")
        return None

    def _shipped(self, order_id: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for fulfillment in self.fulfillments.get(order_id, []):
            for item in fulfillment["lineItems"]:
                out[item["lineItemId"]] = out.get(item["lineItemId"], 0) + item["quantity"]
        return out


def _iso_utc(text: Any) -> bool:
    """The contract's format ``[YYYY]-[MM]-[DD]T[hh]:[mm]:[ss].[sss]Z``."""
    try:
        datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


EMULATOR = EbayShippingEmulator
