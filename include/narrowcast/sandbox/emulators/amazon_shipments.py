"""Emulator of Amazon SP-API shipment confirmation (Orders v0 ``confirmShipment``) and the packages an order
shows in Orders 2026-01-01 ``getOrder`` (``includedData=PACKAGES``).

Holds the world's merchant-fulfilled orders (``amazon_orders``, one row per item) or those seeded by
:meth:`seed_orders` (order id → marketplace and order item id → SKU and quantity ordered) and the packages confirmed against them, which :meth:`snapshot` shows for tests. The body
is validated against ordersV0.json's ``ConfirmShipmentRequest``/``PackageDetail`` (required ``marketplaceId``,
``packageReferenceId`` — positive numeric —, ``carrierCode``, ``trackingNumber``, ``shipDate`` in ISO 8601,
``orderItems[{orderItemId, quantity}]``); success is 204 with no body.

Error codes are those of the SP-API envelope (``AmazonErrors``): 400 ``InvalidInput`` for a body that breaks the
schema, an unknown order item or a quantity beyond what is left to ship (ordersV0.json: "Request has missing or
invalid parameters"), 404 ``NotFound`` for an unknown order ("The specified resource does not exist").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.amazon import AmazonErrors, amazon_authorized
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

PACKAGE_FIELDS = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")


class AmazonShipmentsEmulator(AmazonErrors, Emulator):
    name = "amazon_shipments"
    prefix = "amazon"

    def __init__(self, world_dir: Path | None) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.packages: dict[str, list[dict[str, Any]]] = {}
        self.confirmed = 0
        super().__init__(world_dir)

    def load(self) -> None:
        columns = ["amazon_order_id", "marketplace_id", "order_item_id", "seller_sku", "quantity_ordered"]
        by_market: dict[str, dict[str, dict[str, tuple[str, int]]]] = {}
        for row in read_world_table(self.world_dir, "amazon_orders", columns):
            by_market.setdefault(row["marketplace_id"], {}).setdefault(str(row["amazon_order_id"]), {})[
                str(row["order_item_id"])] = (row["seller_sku"], int(row["quantity_ordered"]))
        for marketplace_id, orders in by_market.items():
            self.seed_orders(orders, marketplace_id)

    def seed_orders(self, orders: dict[str, dict[str, tuple[str, int]]], marketplace_id: str) -> None:
        """Hold these orders of ``marketplace_id``: order id → order item id → (SKU, quantity ordered)."""
        with self.lock:
            for order_id, items in orders.items():
                self.orders[order_id] = {"marketplaceId": marketplace_id,
                                         "items": {i: {"sku": s, "quantity": q} for i, (s, q) in items.items()}}

    def reset(self) -> None:
        with self.lock:
            self.orders.clear()
            self.packages.clear()
            self.confirmed = 0
            super().reset()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"packages": {o: [dict(p) for p in ps] for o, ps in self.packages.items()},
                    "confirmed": self.confirmed}

    def not_found(self, order_id: str) -> Response:
        return self.amazon_error(404, "NotFound", "The specified resource does not exist.", f"order {order_id}")

    def routes(self, router: APIRouter) -> None:
        @router.get("/orders/2026-01-01/orders/{order_id}")
        def get_order(order_id: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            included = {v for v in request.query_params.get("includedData", "").split(",") if v}
            with self.lock:
                held = self.orders.get(order_id)
                if held is None:
                    return self.not_found(order_id)
                order: dict[str, Any] = {
                    "orderId": order_id,
                    "orderItems": [{"orderItemId": i, "product": {"sellerSku": v["sku"]}, "quantityOrdered": v["quantity"]}
                                   for i, v in held["items"].items()],
                }
                if "PACKAGES" in included:
                    order["packages"] = [dict(p) for p in self.packages.get(order_id, [])]
            return JSONResponse({"order": order})

        @router.post("/orders/v0/orders/{order_id}/shipmentConfirmation")
        async def confirm(order_id: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            body = await request.json()
            with self.lock:
                held = self.orders.get(order_id)
                if held is None:
                    return self.not_found(order_id)
                problem = self._problem(order_id, held, body)
                if problem:
                    return self.amazon_error(400, "InvalidInput", problem)
                detail = body["packageDetail"]
                self.packages.setdefault(order_id, []).append({
                    "packageReferenceId": str(detail["packageReferenceId"]),
                    "carrier": detail["carrierCode"],
                    "trackingNumber": detail["trackingNumber"],
                    "shipTime": detail["shipDate"],
                    "packageStatus": {"status": "SHIPPED"},
                    "packageItems": [{"orderItemId": str(i["orderItemId"]), "quantity": int(i["quantity"])}
                                     for i in detail["orderItems"]],
                })
                self.confirmed += 1
                self.received.append({"method": "confirmShipment", "orderId": order_id})
            return Response(status_code=204)

    def _problem(self, order_id: str, held: dict[str, Any], body: dict[str, Any]) -> str | None:
        if body.get("marketplaceId") != held["marketplaceId"]:
            return "marketplaceId is missing or not the order's marketplace."
        detail = body.get("packageDetail")
        if not isinstance(detail, dict):
            return "packageDetail is required."
        missing = [f for f in PACKAGE_FIELDS if detail.get(f) in (None, "", [])]
        if missing:
            return f"packageDetail is missing {', '.join(missing)}."
        reference = str(detail["packageReferenceId"])
        if not reference.isdigit() or int(reference) < 1:
            return "packageReferenceId must be a positive number."
        if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
            return "carrierName is required when carrierCode is Other."
        try:
            datetime.fromisoformat(str(detail["shipDate"]).replace("Z", "+00:00"))
        except ValueError:
            return "Invalid Input: shipDate is not an ISO 8601 date-time."
        shipped: dict[str, int] = {}
        for package in self.packages.get(order_id, []):
            for item in package["packageItems"]:
                shipped[item["orderItemId"]] = shipped.get(item["orderItemId"], 0) + item["quantity"]
        for item in detail["orderItems"]:
            item_id, quantity = str(item.get("orderItemId")), item.get("quantity")
            if item_id not in held["items"]:
                return f"Invalid orderItemId {item_id} for order {order_id}."
            left = held["items"][item_id]["quantity"] - shipped.get(item_id, 0)
            if not isinstance(quantity, int) or not 1 <= quantity <= left:
                return f"Invalid quantity {quantity} for orderItemId {item_id}: {left} left to ship."
        return None


EMULATOR = AmazonShipmentsEmulator
