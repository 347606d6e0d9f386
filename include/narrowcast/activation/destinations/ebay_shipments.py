"""eBay Sell Fulfillment: mark an order's lines shipped with the carrier and tracking number, once per shipment.

Connection ``narrowcast_ebay`` (``password`` = user access token with scope ``sell.fulfillment``). One
``POST /sell/fulfillment/v1/order/{orderId}/shipping_fulfillment`` per shipment (``lineItems``,
``shippedDate``, ``shippingCarrierCode``, ``trackingNumber``; 201 with the new fulfillment in ``Location``).
eBay records a fulfillment on every call, so the object is ``send_once``: the engine journals each shipment
before it is sent, and only one whose intent an earlier run left open (a crash between eBay's answer and the
sync state's commit) has the order's fulfillments read first (``GET .../shipping_fulfillment``): one with the
same tracking number means eBay already has it, and nothing is sent. eBay's refusals (sell_fulfillment_v1_oas3 ``x-response-codes``, e.g.
32100 invalid order id, 32200 invalid line item id, 32300 invalid tracking number or carrier, 32600 invalid input
data) are row rejections with eBay's message.
"""

from __future__ import annotations

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.activation.destinations.shipment_lines import shipped_lines
from narrowcast.apis import ebay
from narrowcast.apis.ebay import FULFILLMENT
from narrowcast.http import FatalApiError

SHIPMENT_FIELDS = frozenset({"orderId", "lineItems", "shippingCarrierCode", "trackingNumber", "shippedDate"})


class EbayShipments(Destination):
    name = "ebay_shipments"
    connection_id = ebay.CONNECTION_ID
    client_class = ebay.EbayApi
    # Its own name in error messages, so a refused fulfillment is told apart from the orders source.
    api_name = "ebay_sell_fulfillment"
    objects = {
        # A shipment happens once: it is never changed or withdrawn from here, only added.
        "shipment": ObjectSpec(required_fields=SHIPMENT_FIELDS, optional_fields=frozenset(), send_once=True,
                               default_mode="add_only", allowed_modes=frozenset({"add_only"})),
    }
    # One call per shipment (two for one in doubt); a batch only groups state commits. eBay states no per-second rate for the
    # Fulfillment API (a daily call limit per application), so the default stays gentle.
    limits = Limits(max_batch_size=100, default_rps=5.0, default_burst=5.0, max_concurrency=4)

    def send(self, batch: Batch) -> list[RowResult]:
        return [self._ship(change, change.key in batch.in_doubt) for change in batch.changes]

    def _ship(self, change: Change, in_doubt: bool) -> RowResult:
        p = change.payload
        path = f"{FULFILLMENT}/order/{p['orderId']}/shipping_fulfillment"
        try:
            if in_doubt:
                known = self.client.get_json(path) or {}
                if any(f.get("shipmentTrackingNumber") == p["trackingNumber"] for f in known.get("fulfillments", [])):
                    return RowResult(change.key, "accepted", sent=False)
            self.client.post_json(path, {
                "lineItems": shipped_lines(p["lineItems"], "lineItemId"),
                "shippedDate": p["shippedDate"],
                "shippingCarrierCode": p["shippingCarrierCode"],
                "trackingNumber": p["trackingNumber"],
            })
        except FatalApiError as exc:
            return RowResult(change.key, "rejected", f"eBay refused the shipment: {exc.message}")
        return RowResult(change.key, "accepted")
