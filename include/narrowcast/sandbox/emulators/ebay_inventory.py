"""Emulator of the eBay Sell Inventory API: listing creation, price/quantity, getOffer(s), publish/withdraw.

Holds offers (offerId → sku, status PUBLISHED/UNPUBLISHED, price, quantity, revisions today), seeded from the
world's ``listings.parquet`` (marketplace ``ebay``) or by :meth:`seed_offers`. ``bulk_update_price_quantity``
takes ≤ 25 requests and answers per item (unknown offer, SKU mismatch, > 250 revisions per day, negative
quantity); an unpublished offer takes the new price and quantity without being published, as eBay does.
``getOffer`` reports ``status`` and ``listing.listingStatus``; withdraw refuses an offer that is not published.

A published listing whose quantity goes to 0 follows the seller's out-of-stock option (:attr:`out_of_stock_control`,
on for the sandbox's seller; eBay's Trading user guide, "Out-of-Stock Control" and "Quantity": set by the
OutOfStockControlPreference of SetUserPreferences, it applies to all of the seller's listings): on, the listing
stays alive, hidden from search, ``listingStatus`` OUT_OF_STOCK, and is ACTIVE again once its quantity is above 0;
off, "a fixed-price listing ends when the last item has been sold" (ENDED; only publishing lists it again). An
offer published at quantity 0 is an out-of-stock listing (sell_inventory_v1_oas3, ``shipToLocationAvailability.
quantity``: "out of stock listings will result if this field is omitted or set to 0").

Listing creation (Sell Inventory v1: bulkCreateOrReplaceInventoryItem, bulkCreateOffer, bulkPublishOffer, each
"up to 25" per call; getOffers by ``sku``): inventory items are held by SKU (a replace of a published item
revises its listing, as eBay does); an offer is unique per SKU, marketplace and format, so a second
bulkCreateOffer for the same SKU answers 25002 "Offer entity already exists" with the existing ``offerId`` in
the error's ``parameters``; publishing checks what eBay needs before it lists (title, description, an image,
condition, category, price, merchant location and the three business policies) and answers 25002 naming
the missing field. Variants: createOrReplaceInventoryItemGroup (PUT, 204; every variant SKU must be an
inventory item) and publishOfferByInventoryItemGroup (one listing for the group's offers on a marketplace, each
checked as above).

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
        self.inventory_items: dict[str, dict[str, Any]] = {}
        self.item_groups: dict[str, dict[str, Any]] = {}
        self._offer_ids = itertools.count(900_000_000)
        self.calls: dict[str, int] = {}
        # The seller's out-of-stock option (My eBay selling preferences / SetUserPreferences).
        self.out_of_stock_control = True
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
            self.inventory_items.clear()
            self.item_groups.clear()
            self.calls.clear()
            self.out_of_stock_control = True
            super().reset()

    def snapshot(self) -> dict[str, Any]:
        return {"offers": {oid: dict(o) for oid, o in self.offers.items()}, "calls": dict(self.calls),
                "inventory_items": {sku: dict(i) for sku, i in self.inventory_items.items()}}

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
        self._listing_routes(router)

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
                    offer["listing"] = {"listingId": held.get("listing_id"),
                                        "listingStatus": held.get("listing_status", "ACTIVE")}
            return JSONResponse(offer)

        @router.post("/sell/inventory/v1/offer/{offer_id}/withdraw")
        def withdraw(offer_id: str, request: Request) -> Response:
            return self._flip(offer_id, request, publish=False)

        @router.post("/sell/inventory/v1/offer/{offer_id}/publish")
        def publish(offer_id: str, request: Request) -> Response:
            return self._flip(offer_id, request, publish=True)

    def _listing_routes(self, router: APIRouter) -> None:
        async def bulk_requests(request: Request, method: str) -> list[dict[str, Any]] | Response:
            if not ebay_authorized(request):
                return self.unauthorized()
            self._count(method)
            items = (await request.json()).get("requests") or []
            if len(items) > BULK_LIMIT:
                return ebay_response(400, ebay_error(USER_ERROR, f"At most {BULK_LIMIT} items per request."))
            self.received.append({"method": method, "items": len(items)})
            return items

        def answer(responses: list[dict[str, Any]]) -> Response:
            # The bulk methods answer 200 when every item succeeded, 207 Multi-Status otherwise.
            ok = all(r["statusCode"] in (200, 201) for r in responses)
            return JSONResponse({"responses": responses}, status_code=200 if ok else 207)

        @router.post("/sell/inventory/v1/bulk_create_or_replace_inventory_item")
        async def bulk_items(request: Request) -> Response:
            items = await bulk_requests(request, "bulkCreateOrReplaceInventoryItem")
            if isinstance(items, Response):
                return items
            with self.lock:
                return answer([self._put_item(item) for item in items])

        @router.post("/sell/inventory/v1/bulk_create_offer")
        async def bulk_offers(request: Request) -> Response:
            items = await bulk_requests(request, "bulkCreateOffer")
            if isinstance(items, Response):
                return items
            with self.lock:
                return answer([self._create_offer(item) for item in items])

        @router.post("/sell/inventory/v1/bulk_publish_offer")
        async def bulk_publish(request: Request) -> Response:
            items = await bulk_requests(request, "bulkPublishOffer")
            if isinstance(items, Response):
                return items
            with self.lock:
                return answer([self._publish_new(str(item.get("offerId"))) for item in items])

        @router.put("/sell/inventory/v1/inventory_item_group/{group_key}")
        async def put_group(group_key: str, request: Request) -> Response:
            if not ebay_authorized(request):
                return self.unauthorized()
            self._count("createOrReplaceInventoryItemGroup")
            body = await request.json()
            variants = [str(s) for s in body.get("variantSKUs") or []]
            with self.lock:
                unknown = [s for s in variants if s not in self.inventory_items]
                if not variants or unknown:
                    return ebay_response(400, ebay_error(
                        USER_ERROR, f"variantSKUs must name existing inventory items; unknown: {unknown or 'none given'}."))
                if not ((body.get("variesBy") or {}).get("specifications")):
                    return ebay_response(400, ebay_error(USER_ERROR, "variesBy.specifications is required."))
                self.item_groups[group_key] = {"variantSKUs": variants, "title": body.get("title"),
                                               "variesBy": body.get("variesBy")}
            return Response(status_code=204)

        @router.post("/sell/inventory/v1/offer/publish_by_inventory_item_group")
        async def publish_group(request: Request) -> Response:
            if not ebay_authorized(request):
                return self.unauthorized()
            self._count("publishOfferByInventoryItemGroup")
            body = await request.json()
            with self.lock:
                group = self.item_groups.get(str(body.get("inventoryItemGroupKey")))
                if group is None:
                    return ebay_response(400, ebay_error(USER_ERROR, "The inventory item group does not exist."))
                offers = [oid for oid, o in self.offers.items() if o["sku"] in group["variantSKUs"]
                          and o.get("marketplaceId") == body.get("marketplaceId")]
                if not offers:
                    return ebay_response(400, ebay_error(USER_ERROR, "No offers exist for the group's variants."))
                errors = [e for oid in offers for e in self._publish_check(oid)]
                if errors:
                    return ebay_response(400, *errors)
                listing_id = group.get("listing_id") or str(next(self._listing_ids))
                group["listing_id"] = listing_id
                for oid in offers:
                    self._list(self.offers[oid])
                    self.offers[oid]["listing_id"] = listing_id
            return JSONResponse({"listingId": listing_id, "warnings": []})

        @router.get("/sell/inventory/v1/offer")
        def get_offers(request: Request, sku: str = "") -> Response:
            # getOffers: the sku query parameter is required; an unknown SKU is 25713 (its documented errors).
            if not ebay_authorized(request):
                return self.unauthorized()
            self._count("getOffers")
            with self.lock:
                found = [{"offerId": oid, "sku": o["sku"], "status": o["status"],
                          "marketplaceId": o.get("marketplaceId"), "format": o.get("format")}
                         for oid, o in self.offers.items() if o["sku"] == sku]
            if not found:
                return ebay_response(404, ebay_error(OFFER_NOT_AVAILABLE, "This Offer is not available."))
            return JSONResponse({"offers": found, "total": len(found), "size": len(found)})

    def _put_item(self, item: dict[str, Any]) -> dict[str, Any]:
        sku = item.get("sku")
        out: dict[str, Any] = {"sku": sku, "locale": item.get("locale"), "statusCode": 200}
        if not sku or len(str(sku)) > 50:
            # InventoryItemWithSkuLocale.sku: "max length: 50".
            out["statusCode"], out["errors"] = 400, [ebay_error(USER_ERROR, "A valid sku (≤ 50 characters) is required.")]
            return out
        product = item.get("product") or {}
        if len(str(product.get("title") or "")) > 80:
            # Product.title: "max length: 80".
            out["statusCode"], out["errors"] = 400, [ebay_error(USER_ERROR, "product.title is longer than 80 characters.")]
            return out
        revising = str(sku) in self.inventory_items
        self.inventory_items[str(sku)] = {"product": product, "condition": item.get("condition"),
                                          "quantity": ((item.get("availability") or {})
                                                       .get("shipToLocationAvailability") or {}).get("quantity", 0),
                                          "revisions": self.inventory_items.get(str(sku), {}).get("revisions", -1) + 1}
        out["statusCode"] = 200 if revising else 201
        return out

    def _create_offer(self, item: dict[str, Any]) -> dict[str, Any]:
        sku = str(item.get("sku"))
        out: dict[str, Any] = {"sku": sku, "marketplaceId": item.get("marketplaceId"), "format": item.get("format"),
                               "statusCode": 200}
        if not item.get("marketplaceId") or not item.get("format"):
            # bulkCreateOffer: sku, marketplaceId and format are always required.
            out["statusCode"], out["errors"] = 400, [ebay_error(USER_ERROR, "sku, marketplaceId and format are required.")]
            return out
        if sku not in self.inventory_items:
            out["statusCode"], out["errors"] = 400, [ebay_error(USER_ERROR, f"No inventory item exists for SKU {sku}.")]
            return out
        existing = next((oid for oid, o in self.offers.items() if o["sku"] == sku
                         and o.get("marketplaceId") == item.get("marketplaceId") and o.get("format") == item.get("format")),
                        None)
        if existing is not None:
            error = ebay_error(USER_ERROR, "Offer entity already exists.")
            error["parameters"] = [{"name": "offerId", "value": existing}]
            out["statusCode"], out["errors"] = 400, [error]
            return out
        offer_id = str(next(self._offer_ids))
        price = (item.get("pricingSummary") or {}).get("price") or {}
        self.offers[offer_id] = {
            "sku": sku, "status": "UNPUBLISHED", "quantity": int(item.get("availableQuantity") or 0),
            "price": price.get("value"), "currency": price.get("currency"), "revisions": 0,
            "marketplaceId": item.get("marketplaceId"), "format": item.get("format"),
            "categoryId": item.get("categoryId"), "merchantLocationKey": item.get("merchantLocationKey"),
            "listingPolicies": item.get("listingPolicies") or {}}
        out["offerId"] = offer_id
        return out

    def _publish_new(self, offer_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"offerId": offer_id, "statusCode": 200}
        if offer_id not in self.offers:
            out["statusCode"], out["errors"] = 404, [ebay_error(OFFER_NOT_AVAILABLE, "This Offer is not available.")]
            return out
        errors = self._publish_check(offer_id)
        if errors:
            out["statusCode"], out["errors"] = 400, errors
            return out
        held = self.offers[offer_id]
        self._list(held)
        held["listing_id"] = out["listingId"] = str(next(self._listing_ids))
        return out

    @staticmethod
    def _list(held: dict[str, Any]) -> None:
        """Publish: a live listing, out of stock when the offer's quantity is 0."""
        held["status"] = "PUBLISHED"
        held["listing_status"] = "ACTIVE" if held.get("quantity") else "OUT_OF_STOCK"

    def _publish_check(self, offer_id: str) -> list[dict[str, Any]]:
        """The errors publishing this offer meets: a value eBay needs before it lists, per missing field."""
        held = self.offers[offer_id]
        item = self.inventory_items.get(held["sku"], {})
        product = item.get("product") or {}
        policies = held.get("listingPolicies") or {}
        needed = {"product.title": product.get("title"), "product.description": product.get("description"),
                  "product.imageUrls": product.get("imageUrls"), "condition": item.get("condition"),
                  "categoryId": held.get("categoryId"), "pricingSummary.price": held.get("price"),
                  "merchantLocationKey": held.get("merchantLocationKey"),
                  "listingPolicies.fulfillmentPolicyId": policies.get("fulfillmentPolicyId"),
                  "listingPolicies.paymentPolicyId": policies.get("paymentPolicyId"),
                  "listingPolicies.returnPolicyId": policies.get("returnPolicyId")}
        return [ebay_error(USER_ERROR, f"A value is required for {name}.") for name, value in needed.items()
                if not value]

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
            if held["status"] == "PUBLISHED" and held.get("listing_status", "ACTIVE") != "ENDED":
                if listed > 0:
                    held["listing_status"] = "ACTIVE"
                else:
                    held["listing_status"] = "OUT_OF_STOCK" if self.out_of_stock_control else "ENDED"
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
            if not publish and (held["status"] != "PUBLISHED" or held.get("listing_status") == "ENDED"):
                return ebay_response(400, ebay_error(USER_ERROR, "The offer is not published."))
            if publish:
                self._list(held)
            else:
                held["status"] = "UNPUBLISHED"
            self.received.append({"method": "publish" if publish else "withdraw", "offerId": offer_id})
        return JSONResponse({"listingId": str(next(self._listing_ids)), "warnings": []})


EMULATOR = EbayInventoryEmulator
