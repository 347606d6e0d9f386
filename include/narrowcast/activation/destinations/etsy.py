"""Etsy listings: quantity and price per SKU through the listing's whole inventory, inactive while out of stock.

Connection ``narrowcast_etsy`` (``narrowcast.apis.etsy``; scopes ``listings_r listings_w``). updateListingInventory
replaces a listing's whole inventory, so each listing's current one is read first (getListingInventory) and
sent back with only the changed SKUs' offerings altered (price and quantity per variation). A listing whose
every offering would be at zero stays as it is and is set ``state=inactive`` (updateListing), as Etsy keeps no
active listing without quantity; when stock returns, the inventory goes first and ``state=active`` after it.
Rows that left the feed deactivate their listing.

Object ``receipt_shipment`` (sync ``shipments_etsy``): a receipt's tracking code and carrier through
createReceiptShipment (``POST /shops/{shop_id}/receipts/{receipt_id}/tracking``, form ``tracking_code``,
``carrier_name``, optional ``send_bcc``; scope ``transactions_w``), which also marks the receipt shipped and
e-mails the buyer, once per shipment. Etsy adds a ShopReceiptShipment on every call, so the object is
``send_once``: the engine journals each shipment before it is sent, and only one whose intent an earlier run left
open (a crash between Etsy's answer and the sync state's commit) has its receipt read first (getShopReceipt): one
of its ``shipments`` with the same ``tracking_code`` means Etsy already has it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.apis import etsy
from narrowcast.apis.etsy import APPLICATION, amount
from narrowcast.http import FatalApiError

# The fields of getListingInventory's product and offering that updateListingInventory takes back.
_PROPERTY_FIELDS = ("property_id", "value_ids", "scale_id", "property_name", "values")


def inventory_request(inventory: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The updateListingInventory body: every live product of ``inventory`` (a getListingInventory answer), the
    offerings of the SKUs in ``changes`` with their new ``quantity`` and ``price``."""
    products = []
    for product in inventory.get("products") or []:
        if product.get("is_deleted"):
            continue
        change = changes.get(str(product.get("sku") or ""))
        offerings = []
        for offering in product.get("offerings") or []:
            if offering.get("is_deleted"):
                continue
            price, _ = amount(offering.get("price"), f"product {product.get('product_id')} offering price")
            sent: dict[str, Any] = {"price": float(price or 0), "quantity": int(offering.get("quantity") or 0),
                                    "is_enabled": bool(offering.get("is_enabled", True))}
            if offering.get("readiness_state_id") is not None:
                sent["readiness_state_id"] = offering["readiness_state_id"]
            if change is not None:
                sent["quantity"] = int(change["quantity"])
                if change.get("price") is not None:
                    sent["price"] = float(Decimal(str(change["price"])))
            offerings.append(sent)
        products.append({"sku": product.get("sku") or "",
                         "property_values": [{k: v.get(k) for k in _PROPERTY_FIELDS if k in v}
                                             for v in product.get("property_values") or []],
                         "offerings": offerings})
    return {"products": products,
            **{key: inventory.get(key) or [] for key in ("price_on_property", "quantity_on_property",
                                                         "sku_on_property")}}


def has_stock(body: dict[str, Any]) -> bool:
    return any(o["quantity"] > 0 and o["is_enabled"] for p in body["products"] for o in p["offerings"])


class EtsyListings(Destination):
    name = "etsy_listings"
    connection_id = etsy.CONNECTION_ID
    client_class = etsy.EtsyApi
    api_name = "etsy_listings"
    objects = {
        "listing_inventory": ObjectSpec(
            required_fields=frozenset({"sku", "listing_id", "quantity"}),
            optional_fields=frozenset({"price", "status"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        ),
        "receipt_shipment": ObjectSpec(
            required_fields=frozenset({"receipt_id", "tracking_code", "carrier_name"}),
            optional_fields=frozenset({"send_bcc"}),
            send_once=True,
            default_mode="add_only",
            allowed_modes=frozenset({"add_only"}),
        ),
    }
    # Two to three calls per listing, one per shipment (two for one in doubt); Etsy's default app allowance is 10 requests per second.
    limits = Limits(max_batch_size=20, default_rps=3.0, default_burst=3.0, max_concurrency=1)

    def send(self, batch: Batch) -> list[RowResult]:
        if self.object == "receipt_shipment":
            return [self._ship(change, change.key in batch.in_doubt) for change in batch.changes]
        by_listing: dict[str, list[Change]] = defaultdict(list)
        for change in batch.changes:
            by_listing[str(change.payload["listing_id"])].append(change)
        results: dict[str, RowResult] = {}
        for listing_id, changes in by_listing.items():
            try:
                self._update_listing(listing_id, changes)
            except FatalApiError as exc:
                results.update({c.key: RowResult(c.key, "rejected", f"Etsy: {exc.message}") for c in changes})
            else:
                results.update({c.key: RowResult(c.key, "accepted") for c in changes})
        return [results[c.key] for c in batch.changes]

    def _update_listing(self, listing_id: str, changes: list[Change]) -> None:
        wanted = {str(c.payload["sku"]): {"quantity": 0 if c.op == "remove" else int(c.payload["quantity"]),
                                          "price": None if c.op == "remove" else c.payload.get("price")}
                  for c in changes}
        inventory = self.client.get_json(f"{APPLICATION}/listings/{listing_id}/inventory") or {}
        body = inventory_request(inventory, wanted)
        if not has_stock(body):
            # Etsy refuses an inventory without quantity on an active listing: the listing goes inactive and
            # keeps its last inventory until stock returns.
            self._set_state(listing_id, "inactive")
            return
        self.client.request("PUT", f"{APPLICATION}/listings/{listing_id}/inventory", json=body)
        if any(c.previous is not None and (int(c.previous.get("quantity") or 0) == 0
                                           or c.previous.get("status") == "withdrawn") for c in changes):
            self._set_state(listing_id, "active")

    def _ship(self, change: Change, in_doubt: bool) -> RowResult:
        p = change.payload
        form = {"tracking_code": str(p["tracking_code"]), "carrier_name": str(p["carrier_name"])}
        if p.get("send_bcc") is not None:
            form["send_bcc"] = "true" if p["send_bcc"] else "false"
        receipt_path = f"{APPLICATION}/shops/{etsy.shop_id(self.context.connection)}/receipts/{p['receipt_id']}"
        try:
            if in_doubt:
                receipt = self.client.get_json(receipt_path) or {}
                if any(str(s.get("tracking_code")) == form["tracking_code"] for s in receipt.get("shipments") or []):
                    return RowResult(change.key, "accepted", sent=False)
            self.client.request("POST", f"{receipt_path}/tracking", data=form)
        except FatalApiError as exc:
            return RowResult(change.key, "rejected", f"Etsy: {exc.message}")
        return RowResult(change.key, "accepted")

    def _set_state(self, listing_id: str, state: str) -> None:
        shop = etsy.shop_id(self.context.connection)
        self.client.request("PATCH", f"{APPLICATION}/shops/{shop}/listings/{listing_id}", data={"state": state})
