"""Amazon SP-API: confirm a merchant-fulfilled order's shipment (carrier, tracking number, items), once.

Connection ``narrowcast_amazon`` (LWA access token; extra ``marketplace_id`` required). ``confirmShipment`` is
documented in Orders API v0 only (the 2026-01-01 version has no write operation):
``POST /orders/v0/orders/{orderId}/shipmentConfirmation`` with ``marketplaceId`` and ``packageDetail``
(``packageReferenceId`` — a positive number unique within the order —, ``carrierCode``, ``trackingNumber``,
``shipDate``, ``orderItems[{orderItemId, quantity}]``); 204 on success. The object is ``send_once``:
the engine journals each shipment before it is sent, and only one whose intent an earlier run left open (a crash
between Amazon's answer and the sync state's commit) has the order's packages read first (Orders 2026-01-01
``getOrder`` with ``includedData=PACKAGES``): a package with the same tracking number means Amazon already has
it, and nothing is sent. A clean run so never spends getOrder's usage plan (0.5/s, burst 30), which would bound
a large backlog to about 1,800 shipments an hour. Amazon's refusals (400 ``InvalidInput``, 404 for an unknown
order; ordersV0.json) are row rejections with Amazon's message.
"""

from __future__ import annotations

from typing import Any

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.activation.destinations.shipment_lines import shipped_lines
from narrowcast.apis import amazon
from narrowcast.apis.amazon import ORDERS, ORDERS_V0
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError


class AmazonShipments(Destination):
    name = "amazon_shipments"
    connection_id = amazon.CONNECTION_ID
    client_class = amazon.SellingPartnerApi
    # Its own name in error messages, so a refused confirmation is told apart from the orders source.
    api_name = "amazon_sp_api_shipments"
    objects = {
        # A shipment happens once: it is never changed or withdrawn from here, only added.
        "shipment": ObjectSpec(
            required_fields=frozenset({"orderId", "packageReferenceId", "carrierCode", "trackingNumber", "shipDate",
                                       "orderItems"}),
            optional_fields=frozenset({"carrierName", "shippingMethod"}), send_once=True,
            default_mode="add_only", allowed_modes=frozenset({"add_only"})),
    }
    # One call per shipment; a batch only groups state commits. The client paces each call by its usage plan.
    limits = Limits(max_batch_size=100, default_rps=amazon.USAGE_PLANS["confirmShipment"].rate,
                    default_burst=float(amazon.USAGE_PLANS["confirmShipment"].burst), max_concurrency=2)

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json"}}

    def send(self, batch: Batch) -> list[RowResult]:
        return [self._confirm(change, change.key in batch.in_doubt) for change in batch.changes]

    def _confirm(self, change: Change, in_doubt: bool) -> RowResult:
        p = change.payload
        reference = str(p["packageReferenceId"])
        try:
            if in_doubt:
                order = self.client.get_json(f"{ORDERS}/{p['orderId']}", params={"includedData": "PACKAGES"}) or {}
                packages = (order.get("order") or {}).get("packages") or []
                # The tracking number, not the reference: a package confirmed by hand in Seller Central may carry
                # the same small reference number for another parcel.
                if any(k.get("trackingNumber") == p["trackingNumber"] for k in packages):
                    return RowResult(change.key, "accepted", sent=False)
            detail: dict[str, Any] = {
                "packageReferenceId": reference,
                "carrierCode": p["carrierCode"],
                "trackingNumber": p["trackingNumber"],
                "shipDate": p["shipDate"],
                "orderItems": shipped_lines(p["orderItems"], "orderItemId"),
            }
            for optional in ("carrierName", "shippingMethod"):
                if p.get(optional):
                    detail[optional] = p[optional]
            self.client.post_json(f"{ORDERS_V0}/{p['orderId']}/shipmentConfirmation", {
                "marketplaceId": str(self.context.connection.require("marketplace_id")),
                "packageDetail": detail,
            })
        except FatalApiError as exc:
            return RowResult(change.key, "rejected", f"Amazon refused the shipment confirmation: {exc.message}")
        return RowResult(change.key, "accepted")
