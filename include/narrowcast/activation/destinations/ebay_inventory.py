"""eBay Sell Inventory: absolute price and quantity per offer, withdraw when the feed says so, relist on return.

Connection ``narrowcast_ebay``: ``password`` = user access token (scope ``sell.inventory``). Active rows go
through ``POST /sell/inventory/v1/bulk_update_price_quantity`` (≤ 25 per call, per-item ``statusCode``);
``withdrawn`` rows and rows that left the feed through ``POST /offer/{offerId}/withdraw``; a row that comes
back (previously withdrawn, or eBay answers that the offer is unpublished) is published with
``POST /offer/{offerId}/publish`` before its quantity is set. Withdrawing an already-withdrawn offer counts
as done, so a re-send after a crash is harmless.
"""

from __future__ import annotations

from typing import Any

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError
from narrowcast.sources.ebay.client import EbayApi

BULK_LIMIT = 25
NOT_PUBLISHED = 25_020  # errorId this project's eBay emulator (and connector) use for "offer is not published"


class EbayClient(EbayApi):
    # Its own name in error messages, so a failure tells the Inventory destination from the orders source.
    api_name = "ebay_sell_inventory"


class EbayInventory(Destination):
    name = "ebay_inventory"
    connection_id = "narrowcast_ebay"
    objects = {
        "offer": ObjectSpec(
            required_fields=frozenset({"sku", "offerId", "quantity"}),
            optional_fields=frozenset({"price", "currency", "status"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    limits = Limits(max_batch_size=BULK_LIMIT, default_rps=5.0, default_burst=5.0, max_concurrency=4)
    client_class = EbayClient

    def auth_headers(self, connection: Connection) -> dict[str, str]:
        return {**EbayClient.auth_headers(str(connection.password)), "Content-Type": "application/json",
                "Content-Language": str(connection.extra.get("content_language", "en-US"))}

    def send(self, batch: Batch) -> list[RowResult]:
        results: dict[str, RowResult] = {}
        update: list[Change] = []
        for change in batch.changes:
            if change.op == "remove" or change.payload.get("status") == "withdrawn":
                results[change.key] = self._withdraw(change)
            elif change.previous and change.previous.get("status") == "withdrawn":
                published = self._publish(change)
                if published is not None:
                    results[change.key] = published
                else:
                    update.append(change)
            else:
                update.append(change)
        if update:
            answered = self._bulk_update(update)
            # An offer eBay reports unpublished has come back into stock: publish it, then set it again.
            relist = [c for c in update if answered[c.key] == NOT_PUBLISHED]
            for change in relist:
                published = self._publish(change)
                answered[change.key] = published if published is not None else None
            retry = [c for c in relist if answered[c.key] is None]
            if retry:
                answered.update(self._bulk_update(retry))
            for change in update:
                value = answered[change.key]
                results[change.key] = value if isinstance(value, RowResult) else RowResult(
                    change.key, "rejected", f"eBay: offer {change.payload['offerId']} is still unpublished")
        return [results[c.key] for c in batch.changes]

    def _bulk_update(self, changes: list[Change]) -> dict[str, Any]:
        requests_ = []
        for change in changes:
            p = change.payload
            offer: dict[str, Any] = {"offerId": str(p["offerId"]), "availableQuantity": int(p["quantity"])}
            if p.get("price") is not None:
                offer["price"] = {"value": f"{float(p['price']):.2f}", "currency": p.get("currency") or "EUR"}
            requests_.append({"sku": str(p["sku"]),
                              "shipToLocationAvailability": {"quantity": int(p["quantity"])},
                              "offers": [offer]})
        answer = self.client.post_json("sell/inventory/v1/bulk_update_price_quantity", {"requests": requests_})
        by_offer = {str(r.get("offerId")): r for r in (answer or {}).get("responses", [])}
        out: dict[str, Any] = {}
        for change in changes:
            item = by_offer.get(str(change.payload["offerId"]))
            if item is None:
                out[change.key] = RowResult(change.key, "rejected", "eBay returned no response for the offer")
            elif item.get("statusCode") == 200:
                out[change.key] = RowResult(change.key, "accepted")
            elif any(e.get("errorId") == NOT_PUBLISHED for e in item.get("errors", [])):
                out[change.key] = NOT_PUBLISHED
            else:
                messages = "; ".join(f"{e.get('errorId')}: {e.get('message')}" for e in item.get("errors", []))
                out[change.key] = RowResult(change.key, "rejected", f"eBay HTTP {item.get('statusCode')}: {messages}")
        return out

    def _withdraw(self, change: Change) -> RowResult:
        try:
            self.client.post_json(f"sell/inventory/v1/offer/{change.payload['offerId']}/withdraw", {})
        except FatalApiError as exc:
            if _has_error(exc, NOT_PUBLISHED):
                return RowResult(change.key, "accepted")
            return RowResult(change.key, "rejected", f"eBay withdraw failed: {exc.message}")
        return RowResult(change.key, "accepted")

    def _publish(self, change: Change) -> RowResult | None:
        """None when published (the caller then sets quantity/price); a rejection otherwise."""
        try:
            self.client.post_json(f"sell/inventory/v1/offer/{change.payload['offerId']}/publish", {})
        except FatalApiError as exc:
            return RowResult(change.key, "rejected", f"eBay publish failed: {exc.message}")
        return None


def _has_error(exc: FatalApiError, error_id: int) -> bool:
    body = exc.body if isinstance(exc.body, dict) else {}
    return any(e.get("errorId") == error_id for e in body.get("errors", []))
