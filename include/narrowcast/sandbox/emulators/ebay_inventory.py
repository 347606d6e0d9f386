"""Emulator of the eBay Sell Inventory API's price/quantity, getOffer and offer publish/withdraw methods.

Holds offers (offerId → sku, status PUBLISHED/UNPUBLISHED, price, quantity, revisions today), seeded from the
world's ``listings.parquet`` (marketplace ``ebay``) or by :meth:`seed_offers`. ``bulk_update_price_quantity``
takes ≤ 25 requests and answers per item (unknown offer, SKU mismatch, > 250 revisions per day, negative
quantity); an unpublished offer takes the new price and quantity without being published, as eBay does.
``getOffer`` reports ``status`` and ``listing.listingStatus``; withdraw refuses an offer that is not published.

Every errorId is one the Sell Inventory v1 contract (sell_inventory_v1_oas3) lists for the operation: 25001
"A system error has occurred" (all operations), 25002 "Any User error" (all operations), 25713 "This Offer is
not available" (getOffer, publishOffer, withdrawOffer, bulkUpdatePriceQuantity); and eBay's common 1001
(invalid access token) and 2001 (too many requests).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.ebay import ebay_authorized
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

# bulkUpdatePriceQuantity: "up to 25 offers"; a listing "can be revised up to 250 times per calendar day".
BULK_LIMIT = 25
MAX_REVISIONS_PER_DAY = 250
SYSTEM_ERROR, USER_ERROR, OFFER_NOT_AVAILABLE = 25001, 25002, 25713


def ebay_error(error_id: int, message: str, category: str = "REQUEST") -> dict[str, Any]:
    return {"errorId": error_id, "domain": "API_INVENTORY", "subdomain": "Selling", "category": category,
            "message": message, "longMessage": message}


def ebay_response(status: int, *errors: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": list(errors)}, status_code=status, headers=headers)


class EbayInventoryEmulator(Emulator):
    name = "ebay_inventory"
    prefix = "ebay"

    def __init__(self, world_dir: Path | None) -> None:
        self._listing_ids = itertools.count(110_000_000_000)
        self.offers: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, int] = {}
        super().__init__(world_dir)

    def load(self) -> None:
        rows = read_world_table(self.world_dir, "listings", ["sku", "marketplace", "listing_id"])
        self.seed_offers([(str(r["listing_id"]), str(r["sku"])) for r in rows if r["marketplace"] == "ebay"])

    def seed_offers(self, offers: list[tuple[str, str]], *, published: bool = True) -> None:
        """Create offers (offerId, sku) as eBay would hold them after the merchant listed them."""
        with self.lock:
            for offer_id, sku in offers:
                self.offers[offer_id] = {"sku": sku, "status": "PUBLISHED" if published else "UNPUBLISHED",
                                         "quantity": 0, "price": None, "currency": None, "revisions": 0}

    def reset(self) -> None:
        with self.lock:
            self.offers.clear()
            self.calls.clear()
            super().reset()

    def snapshot(self) -> dict[str, Any]:
        return {"offers": {oid: dict(o) for oid, o in self.offers.items()}, "calls": dict(self.calls)}

    def rate_limited(self, retry_after: float) -> Response:
        return ebay_response(429, ebay_error(2001, "Too many requests. The request limit has been reached.",
                                             "REQUEST"), headers={"Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return ebay_response(500, ebay_error(SYSTEM_ERROR, "A system error has occurred.", "APPLICATION"))

    def unauthorized(self) -> Response:
        return ebay_response(401, ebay_error(1001, "Invalid access token. Check the value of the Authorization "
                                                   "HTTP request header."))

    def _count(self, method: str) -> None:
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def routes(self, router: APIRouter) -> None:
        @router.post("/sell/inventory/v1/bulk_update_price_quantity")
        async def bulk(request: Request) -> Response:
            if not ebay_authorized(request):
                return self.unauthorized()
            self._count("bulk_update_price_quantity")
            items = (await request.json()).get("requests") or []
            if len(items) > BULK_LIMIT or sum(len(i.get("offers") or []) for i in items) > BULK_LIMIT:
                return ebay_response(400, ebay_error(USER_ERROR, f"At most {BULK_LIMIT} items per request."))
            responses = []
            with self.lock:
                for item in items:
                    ship = (item.get("shipToLocationAvailability") or {}).get("quantity")
                    for offer in item.get("offers") or []:
                        responses.append(self._update(item.get("sku"), offer, ship))
            self.received.append({"method": "bulk_update_price_quantity", "items": len(items)})
            status = 200 if all(r["statusCode"] == 200 for r in responses) else 207
            return JSONResponse({"responses": responses}, status_code=status)

        @router.get("/sell/inventory/v1/offer/{offer_id}")
        def get_offer(offer_id: str, request: Request) -> Response:
            if not ebay_authorized(request):
                return self.unauthorized()
            self._count("getOffer")
            with self.lock:
                held = self.offers.get(offer_id)
                if held is None:
                    return ebay_response(404, ebay_error(OFFER_NOT_AVAILABLE, "This Offer is not available."))
                offer: dict[str, Any] = {"offerId": offer_id, "sku": held["sku"], "status": held["status"],
                                         "availableQuantity": held["quantity"]}
                if held["status"] == "PUBLISHED":
                    offer["listing"] = {"listingId": held.get("listing_id"), "listingStatus": "ACTIVE"}
            return JSONResponse(offer)

        @router.post("/sell/inventory/v1/offer/{offer_id}/withdraw")
        def withdraw(offer_id: str, request: Request) -> Response:
            return self._flip(offer_id, request, publish=False)

        @router.post("/sell/inventory/v1/offer/{offer_id}/publish")
        def publish(offer_id: str, request: Request) -> Response:
            return self._flip(offer_id, request, publish=True)

    def _update(self, sku: Any, offer: dict[str, Any], ship_quantity: Any) -> dict[str, Any]:
        offer_id = str(offer.get("offerId"))
        out: dict[str, Any] = {"offerId": offer_id, "sku": sku, "statusCode": 200}
        held = self.offers.get(offer_id)
        quantity, price = offer.get("availableQuantity"), offer.get("price")
        error = None
        if held is None:
            out["statusCode"], error = 404, ebay_error(OFFER_NOT_AVAILABLE, "This Offer is not available.")
        elif held["sku"] != sku:
            out["statusCode"], error = 400, ebay_error(USER_ERROR, f"SKU {sku} does not match the offer's SKU.")
        elif quantity is None and price is None:
            out["statusCode"], error = 400, ebay_error(USER_ERROR, "availableQuantity or price is required.")
        elif quantity is not None and (not isinstance(quantity, int) or quantity < 0):
            out["statusCode"], error = 400, ebay_error(USER_ERROR, "availableQuantity must be a non-negative integer.")
        elif price is not None and float(price.get("value", 0)) <= 0:
            out["statusCode"], error = 400, ebay_error(USER_ERROR, "price.value must be greater than 0.")
        elif held["revisions"] >= MAX_REVISIONS_PER_DAY and held["status"] == "PUBLISHED":
            out["statusCode"], error = 400, ebay_error(USER_ERROR, "The listing was revised 250 times today.",
                                                       "BUSINESS")
        if error:
            out["errors"] = [error]
            return out
        assert held is not None
        if quantity is not None:
            listed = quantity if ship_quantity is None else min(quantity, int(ship_quantity))
            held["quantity"] = listed
        if price is not None:
            held["price"], held["currency"] = str(price["value"]), price.get("currency")
        held["revisions"] += 1
        return out

    def _flip(self, offer_id: str, request: Request, *, publish: bool) -> Response:
        if not ebay_authorized(request):
            return self.unauthorized()
        self._count("publish" if publish else "withdraw")
        with self.lock:
            held = self.offers.get(offer_id)
            if held is None:
                return ebay_response(404, ebay_error(OFFER_NOT_AVAILABLE, "This Offer is not available."))
            if not publish and held["status"] != "PUBLISHED":
                return ebay_response(400, ebay_error(USER_ERROR, "The offer is not published."))
            held["status"] = "PUBLISHED" if publish else "UNPUBLISHED"
            self.received.append({"method": "publish" if publish else "withdraw", "offerId": offer_id})
        return JSONResponse({"listingId": str(next(self._listing_ids)), "warnings": []})


EMULATOR = EbayInventoryEmulator
