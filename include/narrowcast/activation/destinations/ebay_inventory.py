"""eBay Sell Inventory: absolute price and quantity per offer, withdraw when the feed says so, relist on return.

Connection ``narrowcast_ebay``: ``password`` = user access token (scope ``sell.inventory``). Active rows go
through ``POST /sell/inventory/v1/bulk_update_price_quantity`` (≤ 25 per call, per-item ``statusCode``);
``withdrawn`` rows and rows that left the feed through ``POST /offer/{offerId}/withdraw``. Whether an offer is
live is read from ``GET /offer/{offerId}`` (``status`` and ``listing.listingStatus``), never guessed from an
errorId: a row coming back from ``withdrawn`` is published (``POST /offer/{offerId}/publish``) when its offer is
not live, and a refused withdrawal of an offer that is no longer live counts as done, so a re-send after a
crash is harmless.

An active row at quantity 0 (the feed's ``zero_stock = keep_listed``: the seller's out-of-stock option) is a
plain quantity update in the bulk call: with the option on, eBay keeps the listing alive, hidden from search
(``listingStatus`` OUT_OF_STOCK). With it off eBay ends a fixed-price listing at 0, so a row coming back from
quantity 0 is treated as one coming back from ``withdrawn``: its offer's state is read and it is published when
not live. Nothing is lost whichever way the seller's option is set; with it on, running out costs no call of its
own and coming back one read.
"""

from __future__ import annotations

from typing import Any

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.activation.destinations.price_floor import split_by_floor
from narrowcast.apis import ebay
from narrowcast.apis.ebay import INVENTORY, is_live
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError


class EbayInventory(Destination):
    name = "ebay_inventory"
    connection_id = ebay.CONNECTION_ID
    client_class = ebay.EbayApi
    # Its own name in error messages, so a failure tells the Inventory destination from the orders source.
    api_name = "ebay_sell_inventory"
    objects = {
        "offer": ObjectSpec(
            required_fields=frozenset({"sku", "offerId", "quantity"}),
            optional_fields=frozenset({"price", "currency", "status", "price_floor"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # bulk_update_price_quantity takes at most 25 offers per call.
    limits = Limits(max_batch_size=25, default_rps=5.0, default_burst=5.0, max_concurrency=4)

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json",
                            "Content-Language": str(connection.extra.get("content_language", "en-US"))}}

    def send(self, batch: Batch) -> list[RowResult]:
        sendable, results = split_by_floor(batch.changes)
        update: list[Change] = []
        for change in sendable:
            if change.op == "remove" or change.payload.get("status") == "withdrawn":
                results[change.key] = self._withdraw(change)
                continue
            # A row back from withdrawn sits on an offer this sync unpublished, one back from quantity 0 on a listing
            # eBay may have ended (the seller's out-of-stock option off): relist it first if it is not live.
            if _coming_back(change):
                refused = self._publish_unless_live(change)
                if refused is not None:
                    results[change.key] = refused
                    continue
            update.append(change)
        if update:
            results.update(self._bulk_update(update))
        return [results[c.key] for c in batch.changes]

    def _offer(self, change: Change) -> dict[str, Any]:
        return self.client.get_json(f"{INVENTORY}/offer/{change.payload['offerId']}") or {}

    def _bulk_update(self, changes: list[Change]) -> dict[str, RowResult]:
        requests_ = []
        for change in changes:
            p = change.payload
            offer: dict[str, Any] = {"offerId": str(p["offerId"]), "availableQuantity": int(p["quantity"])}
            if p.get("price") is not None:
                offer["price"] = {"value": f"{float(p['price']):.2f}", "currency": p.get("currency") or "EUR"}
            requests_.append({"sku": str(p["sku"]),
                              "shipToLocationAvailability": {"quantity": int(p["quantity"])},
                              "offers": [offer]})
        answer = self.client.post_json(f"{INVENTORY}/bulk_update_price_quantity", {"requests": requests_})
        by_offer = {str(r.get("offerId")): r for r in (answer or {}).get("responses", [])}
        out: dict[str, RowResult] = {}
        for change in changes:
            item = by_offer.get(str(change.payload["offerId"]))
            if item is None:
                out[change.key] = RowResult(change.key, "rejected", "eBay returned no response for the offer")
            elif item.get("statusCode") == 200:
                out[change.key] = RowResult(change.key, "accepted")
            else:
                messages = "; ".join(f"{e.get('errorId')}: {e.get('message')}" for e in item.get("errors", []))
                out[change.key] = RowResult(change.key, "rejected", f"eBay HTTP {item.get('statusCode')}: {messages}")
        return out

    def _withdraw(self, change: Change) -> RowResult:
        try:
            # withdrawOffer and publishOffer take no request payload.
            self.client.request("POST", f"{INVENTORY}/offer/{change.payload['offerId']}/withdraw")
        except FatalApiError as exc:
            # withdrawOffer answers a generic 25002 for an offer that is already withdrawn: the offer's own
            # state tells whether the withdrawal holds.
            try:
                live = is_live(self._offer(change))
            except FatalApiError:
                live = True
            if not live:
                return RowResult(change.key, "accepted")
            return RowResult(change.key, "rejected", f"eBay withdraw failed: {exc.message}")
        return RowResult(change.key, "accepted")

    def _publish_unless_live(self, change: Change) -> RowResult | None:
        """None when the offer is live (published now or already); a rejection otherwise."""
        try:
            if not is_live(self._offer(change)):
                self.client.request("POST", f"{INVENTORY}/offer/{change.payload['offerId']}/publish")
        except FatalApiError as exc:
            return RowResult(change.key, "rejected", f"eBay publish failed: {exc.message}")
        return None


def _coming_back(change: Change) -> bool:
    """Was the row's listing withdrawn, or at quantity 0 (ended by eBay unless the out-of-stock option is on), and
    is it to be sold again?"""
    previous = change.previous
    if not previous:
        return False
    if previous.get("status") == "withdrawn":
        return True
    return _quantity(previous) == 0 and _quantity(change.payload) > 0


def _quantity(payload: dict[str, Any]) -> int:
    try:
        return int(payload.get("quantity") or 0)
    except (TypeError, ValueError):
        return 0
