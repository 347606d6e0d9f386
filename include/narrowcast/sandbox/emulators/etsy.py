"""Etsy Open API v3 emulator: the token endpoint, shop receipts, listing inventory and listing state.

Routes under ``/etsy`` (the API host): ``POST /v3/public/oauth/token`` (refresh-token grant, "Authentication":
form ``grant_type``, ``client_id``, ``refresh_token``; answers ``{access_token, token_type, expires_in,
refresh_token}``, the access token prefixed with the numeric user id and a dot), ``GET
/v3/application/shops/{shop_id}/receipts`` (getShopReceipts: ``min_last_modified``/``max_last_modified``,
``limit`` 1..100 default 25, ``offset``, ``sort_on``/``sort_order``; answers ``{count, results}``), ``GET``/``PUT
/v3/application/listings/{listing_id}/inventory`` (getListingInventory/updateListingInventory), ``PATCH
/v3/application/shops/{shop_id}/listings/{listing_id}`` (updateListing, form ``state`` and content fields) and ``POST
/v3/application/shops/{shop_id}/receipts/{receipt_id}/tracking`` (createReceiptShipment, which adds a
ShopReceiptShipment to the receipt's ``shipments``) with ``GET /v3/application/shops/{shop_id}/receipts/{receipt_id}``
(getShopReceipt) to read them back. Receipts and
listings are seeded by tests (:meth:`seed_receipts`, :meth:`seed_listing`).

Payment account: ``GET /v3/application/shops/{shop_id}/payment-account/ledger-entries``
(getShopPaymentAccountLedgerEntries: ``min_created`` and ``max_created`` required, unix seconds from 946684800,
both ends included; ``limit`` 1..100 default 25, ``offset``; answers ``{count, results}`` of
PaymentAccountLedgerEntry) and ``GET /v3/application/shops/{shop_id}/payment-account/ledger-entries/payments``
(getPaymentAccountLedgerEntryPayments: ``ledger_entry_ids`` required, an array; answers ``{count, results}`` of
Payment), both scope ``transactions_r`` (Etsy Open API v3 reference, "Ledger Entry" and "Payment"). Ledger entries
and the payment each payment entry refers to are seeded by tests (:meth:`seed_ledger_entries`).

Listing creation: ``POST /v3/application/shops/{shop_id}/listings`` (createDraftListing, form fields; a
``draft`` listing), ``GET /v3/application/shops/{shop_id}/listings`` (getListingsByShop: ``state``, ``limit``
1..100, ``offset``; each listing's ``skus``) and ``GET``/``POST
/v3/application/shops/{shop_id}/listings/{listing_id}/images`` (getListingImages; uploadListingImage, multipart
``image`` file, at most 10 per listing). A draft goes active only with an image, a shipping profile and
quantity, as updateListing's ``state`` field documents.

Every answer carries the rate-limit headers of Etsy's "Rate Limits" page (``x-limit-per-second``,
``x-remaining-this-second``, ``x-limit-per-day``, ``x-remaining-today``); past the per-second allowance it
answers 429 with ``retry-after`` (seconds). Errors are ``{"error": "..."}`` ("Request Standards"); a key header
without the shared secret is refused with 403 as Etsy does since the 2025 key change.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN
from narrowcast.sandbox.framework import Emulator
from narrowcast.sandbox.tokens import accepts, bearer

USER_ID = 48151623
DEFAULT_LIMIT, MAX_LIMIT = 25, 100
LISTING_STATES = ("active", "inactive", "draft", "expired", "sold_out")
# createDraftListing's required fields ("createDraftListing" reference); shipping_profile_id only for physical.
DRAFT_REQUIRED = ("quantity", "title", "description", "price", "who_made", "when_made", "taxonomy_id")
WHO_MADE = ("i_did", "someone_else", "collective")
# when_made is an enum of eras whose bounds Etsy moves forward over the years (made_to_order, "2020_2025",
# "2010_2019", "1990s", "before_2006", ...): the emulator checks the shapes, not one year's list.
WHEN_MADE = re.compile(r"made_to_order|[0-9]{4}_[0-9]{4}|[0-9]{3}0s|before_[0-9]{4}")
# uploadListingImage: "a listing ... can include up to 10 images" (createDraftListing image_ids).
MAX_IMAGES = 10
# getShopPaymentAccountLedgerEntries: min_created/max_created "minimum: 946684800" (the reference's bound).
MIN_CREATED_BOUND = 946_684_800
FIRST_LISTING_ID = 1_400_000_001
# "Third Variation Tutorial": a listing's inventory uses at most two variation properties, three when the request
# sets the query parameter max_variations_supported=3; the third cannot be a custom variation (ids 513, 514).
MAX_VARIATIONS, MAX_VARIATIONS_OPTED_IN = 2, 3
CUSTOM_PROPERTY_IDS = (513, 514)
ON_PROPERTY_FIELDS = ("price_on_property", "quantity_on_property", "sku_on_property")


def etsy_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def variation_problem(body: dict[str, Any], *, opted_in: bool) -> str | None:
    """Why updateListingInventory refuses these products' variations, or None.

    The reference: every product's ``property_values`` name a listing property (``property_id`` minimum 1) with its
    ``values``; the ``*_on_property`` fields are "unique listing property ID integers" of the properties that change
    price, quantity or SKU, and "the update will fail if the supplied values for product sku and offering quantity
    and price are incompatible with the supplied values of the 'on_property_*' fields". Products are told apart by
    their property values, so two with the same values, or products that do not vary by the same properties,
    describe no inventory Etsy can show.
    """
    products = body["products"]
    combinations: list[tuple[tuple[int, tuple[str, ...]], ...]] = []
    properties: set[int] | None = None
    for product in products:
        values = product.get("property_values") or []
        pairs = []
        for value in values:
            pid = value.get("property_id")
            if not isinstance(pid, int) or pid < 1 or not value.get("values"):
                return "property_values need a property_id (at least 1) and values"
            pairs.append((pid, tuple(str(v) for v in value["values"])))
        ids = {pid for pid, _ in pairs}
        if len(ids) != len(pairs):
            return f"Product {product.get('sku')} names a property twice"
        if properties is None:
            properties = ids
        elif ids != properties:
            return "All products must vary by the same properties"
        combinations.append(tuple(sorted(pairs)))
    properties = properties or set()
    limit = MAX_VARIATIONS_OPTED_IN if opted_in else MAX_VARIATIONS
    if len(properties) > limit:
        return f"A listing can have at most {limit} variation properties, got {len(properties)}"
    if len(properties) == MAX_VARIATIONS_OPTED_IN and set(CUSTOM_PROPERTY_IDS) <= properties:
        return "The third variation cannot be a custom variation"
    if len(set(combinations)) != len(combinations):
        return "Two products have the same property values"
    for field in ON_PROPERTY_FIELDS:
        named = body.get(field) or []
        if len(set(named)) != len(named) or not set(named) <= properties:
            return f"{field} must name distinct properties of the products"
    for field, read in (("price_on_property", lambda p: p["offerings"][0]["price"]),
                        ("quantity_on_property", lambda p: int(p["offerings"][0]["quantity"])),
                        ("sku_on_property", lambda p: p.get("sku") or "")):
        named = set(body.get(field) or [])
        seen: dict[tuple[Any, ...], Any] = {}
        for product, combination in zip(products, combinations, strict=True):
            key = tuple(pair for pair in combination if pair[0] in named)
            if seen.setdefault(key, read(product)) != read(product):
                return (f"Products differ in {field.split('_')[0]} along a property {field} does not name; "
                        "the values are incompatible with the on_property fields")
    return None


class EtsyEmulator(Emulator):
    name = "etsy"
    prefix = "etsy"

    def load(self) -> None:
        self.receipts: dict[str, dict[str, Any]] = {}
        self.listings: dict[str, dict[str, Any]] = {}
        self.shipments: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        # Per-second and per-day allowances ("Rate Limits"); tests lower them to provoke a 429.
        self.per_second, self.per_day = 10_000, 100_000
        self.retry_after_seconds = 1
        # Requests refused because other clients of the same app key used up this second (the limits are per
        # app, "Rate Limits"), whatever this client's own pace.
        self.taken_by_others = 0
        self._second, self._used_this_second, self._used_today = 0, 0, 0
        self.next_listing_id = FIRST_LISTING_ID
        self.ledger_entries: list[dict[str, Any]] = []
        self.payments: dict[str, dict[str, Any]] = {}

    # ---- seeding (tests) ----------------------------------------------------------------------------
    def seed_receipts(self, receipts: list[dict[str, Any]]) -> None:
        for receipt in receipts:
            self.receipts[str(receipt["receipt_id"])] = copy.deepcopy(receipt)

    def seed_ledger_entries(self, entries: list[dict[str, Any]],
                            payments: dict[str, dict[str, Any]] | None = None) -> None:
        """Ledger entries (PaymentAccountLedgerEntry) and, by ledger entry id, the Payment each one belongs to."""
        self.ledger_entries.extend(copy.deepcopy(entries))
        self.payments.update(copy.deepcopy(payments or {}))

    def seed_listing(self, listing_id: str, products: list[dict[str, Any]], state: str = "active",
                     quantity_on_property: list[int] | None = None, price_on_property: list[int] | None = None,
                     sku_on_property: list[int] | None = None) -> None:
        """A listing whose inventory answers ``products`` (getListingInventory's shape)."""
        self.listings[str(listing_id)] = {
            "state": state, "revisions": 0, "fields": {}, "images": [],
            "inventory": {"products": copy.deepcopy(products), "price_on_property": price_on_property or [],
                          "quantity_on_property": quantity_on_property or [],
                          "sku_on_property": sku_on_property or []},
        }

    # ---- plumbing -----------------------------------------------------------------------------------
    def _limits(self) -> tuple[dict[str, str], bool]:
        with self.lock:
            now = int(time.monotonic())
            if now != self._second:
                self._second, self._used_this_second = now, 0
            allowed = self._used_this_second < self.per_second and self._used_today < self.per_day
            if self.taken_by_others > 0:
                self.taken_by_others -= 1
                allowed = False
            if allowed:
                self._used_this_second += 1
                self._used_today += 1
            headers = {"x-limit-per-second": str(self.per_second),
                       "x-remaining-this-second": str(max(0, self.per_second - self._used_this_second)),
                       "x-limit-per-day": str(self.per_day),
                       "x-remaining-today": str(max(0, self.per_day - self._used_today))}
        return headers, allowed

    def _guard(self, request: Request, operation: str) -> tuple[dict[str, str], Response | None]:
        api_key = request.headers.get("x-api-key", "")
        # "Request Standards": x-api-key on every request; since 2025 keystring:shared secret, else 403.
        if api_key != f"{LOCAL_CLIENT_ID}:{LOCAL_CLIENT_SECRET}":
            return {}, etsy_error(403, "Shared secret is required in x-api-key header." if api_key == LOCAL_CLIENT_ID
                                  else "Invalid API key")
        token = bearer(request) or ""
        # "Authentication": an expired or unknown access token is refused with 401 invalid_token.
        if not accepts(request, "etsy", token):
            return {}, etsy_error(401, "invalid_token")
        headers, allowed = self._limits()
        if not allowed:
            # "Rate Limits": 429 once the second's or the day's allowance is used, retry-after in seconds.
            return headers, etsy_error(429, "You have exceeded your quota of requests",
                                       {**headers, "retry-after": str(self.retry_after_seconds)})
        with self.lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
        return headers, None

    def rate_limited(self, retry_after: float) -> Response:
        return etsy_error(429, "You have exceeded your quota of requests", {"retry-after": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return etsy_error(500, "Internal Server Error")

    def unauthorized(self) -> Response:
        return etsy_error(401, "invalid_token")

    # ---- routes -------------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/v3/public/oauth/token", self.token, methods=["POST"])
        router.add_api_route("/v3/application/shops/{shop_id}/receipts", self.get_receipts, methods=["GET"])
        router.add_api_route("/v3/application/listings/{listing_id}/inventory", self.get_inventory,
                             methods=["GET"])
        router.add_api_route("/v3/application/listings/{listing_id}/inventory", self.put_inventory,
                             methods=["PUT"])
        router.add_api_route("/v3/application/shops/{shop_id}/listings/{listing_id}", self.update_listing,
                             methods=["PATCH"])
        router.add_api_route("/v3/application/shops/{shop_id}/receipts/{receipt_id}/tracking",
                             self.create_shipment, methods=["POST"])
        router.add_api_route("/v3/application/shops/{shop_id}/listings", self.create_draft_listing,
                             methods=["POST"])
        router.add_api_route("/v3/application/shops/{shop_id}/listings", self.get_listings_by_shop,
                             methods=["GET"])
        router.add_api_route("/v3/application/shops/{shop_id}/listings/{listing_id}/images",
                             self.get_listing_images, methods=["GET"])
        router.add_api_route("/v3/application/shops/{shop_id}/listings/{listing_id}/images",
                             self.upload_listing_image, methods=["POST"])
        router.add_api_route("/v3/application/shops/{shop_id}/receipts/{receipt_id}", self.get_receipt,
                             methods=["GET"])
        router.add_api_route("/v3/application/shops/{shop_id}/payment-account/ledger-entries/payments",
                             self.get_ledger_entry_payments, methods=["GET"])
        router.add_api_route("/v3/application/shops/{shop_id}/payment-account/ledger-entries",
                             self.get_ledger_entries, methods=["GET"])

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("client_id") != LOCAL_CLIENT_ID:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        tokens = request.app.state.access_tokens
        if form.get("refresh_token") != LOCAL_REFRESH_TOKEN or tokens.policy.revoked:
            return JSONResponse({"error": "invalid_grant", "error_description": "refresh token expired or revoked"},
                                status_code=400)
        token, lifetime = tokens.issue("etsy", f"{USER_ID}.")
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": lifetime,
                             "refresh_token": LOCAL_REFRESH_TOKEN})

    def get_receipts(self, shop_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "getShopReceipts")
        if refused is not None:
            return refused
        query = request.query_params
        try:
            low = int(query["min_last_modified"]) if "min_last_modified" in query else None
            high = int(query["max_last_modified"]) if "max_last_modified" in query else None
            limit, offset = int(query.get("limit", DEFAULT_LIMIT)), int(query.get("offset", 0))
        except ValueError:
            return etsy_error(400, "Expected integer query parameters", headers)
        # getShopReceipts reference: limit 1..100 (default 25), offset >= 0; a bad value is a 400.
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            return etsy_error(400, f"limit must be between 1 and {MAX_LIMIT}, offset at least 0", headers)
        sort_key = {"created": "create_timestamp", "updated": "update_timestamp",
                    "receipt_id": "receipt_id"}.get(query.get("sort_on", "created"))
        if sort_key is None:
            return etsy_error(400, "sort_on must be one of created, updated, receipt_id", headers)
        with self.lock:
            matching = [r for r in self.receipts.values()
                        if (low is None or r["update_timestamp"] >= low)
                        and (high is None or r["update_timestamp"] <= high)]
        matching.sort(key=lambda r: (r[sort_key], r["receipt_id"]), reverse=query.get("sort_order") == "desc")
        return JSONResponse({"count": len(matching), "results": matching[offset:offset + limit]}, headers=headers)

    def get_ledger_entries(self, shop_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "getShopPaymentAccountLedgerEntries")
        if refused is not None:
            return refused
        query = request.query_params
        # min_created and max_created are required query parameters (getShopPaymentAccountLedgerEntries).
        if "min_created" not in query or "max_created" not in query:
            return etsy_error(400, "min_created and max_created are required", headers)
        try:
            low, high = int(query["min_created"]), int(query["max_created"])
            limit, offset = int(query.get("limit", DEFAULT_LIMIT)), int(query.get("offset", 0))
        except ValueError:
            return etsy_error(400, "Expected integer query parameters", headers)
        if low < MIN_CREATED_BOUND or high < MIN_CREATED_BOUND:
            return etsy_error(400, f"min_created and max_created must be at least {MIN_CREATED_BOUND}", headers)
        # limit 1..100 (default 25), offset >= 0, as for every paged list of the reference.
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            return etsy_error(400, f"limit must be between 1 and {MAX_LIMIT}, offset at least 0", headers)
        with self.lock:
            matching = [e for e in self.ledger_entries if low <= e["create_date"] <= high]
        # "The higher the sequence, the more recent the entry" (PaymentAccountLedgerEntry.sequence_number).
        matching.sort(key=lambda e: (e["sequence_number"], e["entry_id"]))
        return JSONResponse({"count": len(matching), "results": matching[offset:offset + limit]}, headers=headers)

    def get_ledger_entry_payments(self, shop_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "getPaymentAccountLedgerEntryPayments")
        if refused is not None:
            return refused
        # ledger_entry_ids: a required array of positive integers; the form style repeats the name, a
        # comma-separated value is read as well.
        raw = [part for value in request.query_params.getlist("ledger_entry_ids") for part in value.split(",")]
        if not raw or not all(part.strip().isdigit() and int(part) >= 1 for part in raw):
            return etsy_error(400, "ledger_entry_ids must be a list of positive integers", headers)
        with self.lock:
            found = {}
            for entry_id in raw:
                payment = self.payments.get(entry_id.strip())
                if payment is not None:
                    found[payment["payment_id"]] = payment
        return JSONResponse({"count": len(found), "results": list(found.values())}, headers=headers)

    def get_inventory(self, listing_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "getListingInventory")
        if refused is not None:
            return refused
        listing = self.listings.get(listing_id)
        if listing is None:
            return etsy_error(404, f"Listing {listing_id} not found", headers)
        return JSONResponse(listing["inventory"], headers=headers)

    async def put_inventory(self, listing_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "updateListingInventory")
        if refused is not None:
            return refused
        listing = self.listings.get(listing_id)
        if listing is None:
            return etsy_error(404, f"Listing {listing_id} not found", headers)
        body = await request.json()
        products = body.get("products")
        if not isinstance(products, list) or not products:
            return etsy_error(400, "products is required", headers)
        stored = []
        for product in products:
            offerings = product.get("offerings") or []
            if not offerings or any(not isinstance(o.get("price"), int | float) or int(o.get("quantity", -1)) < 0
                                    for o in offerings):
                return etsy_error(400, "Each product needs offerings with a numeric price and a quantity", headers)
        problem = variation_problem(body, opted_in=request.query_params.get("max_variations_supported") == "3")
        if problem:
            return etsy_error(400, problem, headers)
        for number, product in enumerate(products, start=1):
            offerings = product["offerings"]
            stored.append({
                "product_id": number, "sku": product.get("sku", ""), "is_deleted": False,
                "property_values": [{"value_ids": [], "scale_id": None, **v}
                                    for v in product.get("property_values") or []],
                "offerings": [{"offering_id": number * 100 + i, "quantity": int(o["quantity"]),
                               "is_enabled": bool(o.get("is_enabled", True)), "is_deleted": False,
                               "price": {"amount": round(float(o["price"]) * 100), "divisor": 100,
                                         "currency_code": "EUR"}}
                              for i, o in enumerate(offerings)],
            })
        with self.lock:
            listing["inventory"] = {"products": stored,
                                    **{k: body.get(k) or [] for k in ("price_on_property", "quantity_on_property",
                                                                      "sku_on_property")}}
            listing["revisions"] += 1
            self.received.append({"listing_id": listing_id, "inventory": body})
        return JSONResponse(listing["inventory"], headers=headers)

    async def update_listing(self, shop_id: str, listing_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "updateListing")
        if refused is not None:
            return refused
        listing = self.listings.get(listing_id)
        if listing is None:
            return etsy_error(404, f"Listing {listing_id} not found", headers)
        form = dict(await request.form())
        state = form.pop("state", None)
        if state is not None and state not in ("active", "inactive"):
            # updateListing: "When updating a listing, this value can be either active or inactive".
            return etsy_error(400, "state must be active or inactive", headers)
        content = {k: v for k, v in form.items() if k in ("title", "description", "taxonomy_id",
                                                           "shipping_profile_id", "return_policy_id", "tags")}
        if state is None and not content:
            # updateListing answers 400 for a request it cannot use ("There was a problem with the request data").
            return etsy_error(400, "Nothing to update", headers)
        # updateListing: Etsy does not activate a listing whose inventory has no quantity (400).
        if state == "active" and not any(o["quantity"] > 0 for p in listing["inventory"]["products"]
                                         for o in p["offerings"]):
            return etsy_error(400, "A listing without quantity cannot be activated", headers)
        if state == "active" and listing["state"] == "draft":
            # updateListing, state: "Setting a draft listing to active will also publish the listing on etsy.com
            # and requires that the listing have an image set"; a physical listing needs its shipping profile.
            if not listing["images"]:
                return etsy_error(400, "A listing must have at least one image to be activated", headers)
            if not listing["fields"].get("shipping_profile_id"):
                return etsy_error(400, "A physical listing needs a shipping_profile_id to be activated", headers)
        with self.lock:
            listing["fields"].update(content)
            if state is not None:
                listing["state"] = state
            if content:
                listing["revisions"] += 1
        return JSONResponse(self._listing(listing_id, listing), headers=headers)

    async def create_shipment(self, shop_id: str, receipt_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "createReceiptShipment")
        if refused is not None:
            return refused
        receipt = self.receipts.get(receipt_id)
        if receipt is None:
            return etsy_error(404, f"Receipt {receipt_id} not found", headers)
        form = await request.form()
        # createReceiptShipment: tracking_code and carrier_name are both needed (400 otherwise).
        if not form.get("tracking_code") or not form.get("carrier_name"):
            return etsy_error(400, "tracking_code and carrier_name are required", headers)
        with self.lock:
            self.shipments.append({"receipt_id": receipt_id, "tracking_code": form["tracking_code"],
                                   "carrier_name": form["carrier_name"]})
            # ShopReceiptShipment: Etsy records every call as a new shipment of the receipt, duplicates included.
            receipt.setdefault("shipments", []).append({
                "receipt_shipping_id": len(self.shipments), "shipment_notification_timestamp": int(time.time()),
                "carrier_name": form["carrier_name"], "tracking_code": form["tracking_code"]})
            receipt["is_shipped"] = True
        return JSONResponse(receipt, headers=headers)

    def get_receipt(self, shop_id: str, receipt_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "getShopReceipt")
        if refused is not None:
            return refused
        receipt = self.receipts.get(receipt_id)
        if receipt is None:
            # getShopReceipt: an unknown receipt is a 404 with the error envelope ("Request Standards").
            return etsy_error(404, f"Receipt {receipt_id} not found", headers)
        with self.lock:
            return JSONResponse({"shipments": [], **copy.deepcopy(receipt)}, headers=headers)


    # ---- listing creation (createDraftListing, getListingsByShop, listing images) ----------------------------
    def _listing(self, listing_id: str, listing: dict[str, Any]) -> dict[str, Any]:
        """A ShopListing as Etsy answers it: its fields, state and the SKUs of its inventory."""
        products = [p for p in listing["inventory"]["products"] if not p.get("is_deleted")]
        quantity = sum(o["quantity"] for p in products for o in p["offerings"] if o.get("is_enabled", True))
        tags = listing["fields"].get("tags")
        return {**listing["fields"], "listing_id": int(listing_id), "shop_id": listing.get("shop_id"),
                "state": listing["state"], "quantity": quantity,
                # tags arrive as a comma-separated form value and are answered as a list (ShopListing.tags)
                "tags": [t.strip() for t in str(tags).split(",") if t.strip()] if tags else [],
                "skus": [p["sku"] for p in products if p.get("sku")]}

    async def create_draft_listing(self, shop_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "createDraftListing")
        if refused is not None:
            return refused
        form = dict(await request.form())
        # createDraftListing: the required fields, shipping_profile_id "Required when listing type is physical",
        # the who_made/when_made enums and a positive price; a bad request is 400 with the error message.
        missing = [f for f in DRAFT_REQUIRED if not str(form.get(f) or "").strip()]
        if form.get("type", "physical") == "physical" and not form.get("shipping_profile_id"):
            missing.append("shipping_profile_id")
        if missing:
            return etsy_error(400, f"Missing required parameters: {', '.join(missing)}", headers)
        if form["who_made"] not in WHO_MADE or not WHEN_MADE.fullmatch(form["when_made"]):
            return etsy_error(400, "who_made or when_made is not one of the allowed values", headers)
        try:
            price, quantity, taxonomy = float(form["price"]), int(form["quantity"]), int(form["taxonomy_id"])
        except ValueError:
            # createDraftListing: price is a float, quantity and taxonomy_id integers; anything else is a 400.
            return etsy_error(400, "price, quantity and taxonomy_id must be numbers", headers)
        # createDraftListing: "The positive non-zero price", "The positive non-zero number of products", a taxonomy
        # id of at least 1.
        if price <= 0 or quantity < 1 or taxonomy < 1:
            return etsy_error(400, "price, quantity and taxonomy_id must be positive", headers)
        with self.lock:
            listing_id = str(self.next_listing_id)
            self.next_listing_id += 1
            fields = {k: v for k, v in form.items() if k not in ("quantity", "price")}
            fields["price"] = {"amount": round(price * 100), "divisor": 100, "currency_code": "EUR"}
            # A new listing has one product carrying the listing's quantity and price, without a SKU until
            # updateListingInventory sets one.
            self.listings[listing_id] = {
                "state": "draft", "revisions": 0, "fields": fields, "images": [], "shop_id": int(shop_id),
                "inventory": {"products": [{"product_id": 1, "sku": "", "is_deleted": False, "property_values": [],
                                            "offerings": [{"offering_id": 100, "quantity": quantity,
                                                           "is_enabled": True, "is_deleted": False,
                                                           "price": fields["price"]}]}],
                              "price_on_property": [], "quantity_on_property": [], "sku_on_property": []}}
            self.received.append({"created_listing": listing_id, "title": form["title"]})
            answer = self._listing(listing_id, self.listings[listing_id])
        return JSONResponse(answer, status_code=201, headers=headers)

    def get_listings_by_shop(self, shop_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "getListingsByShop")
        if refused is not None:
            return refused
        query = request.query_params
        state = query.get("state", "active")
        try:
            limit, offset = int(query.get("limit", DEFAULT_LIMIT)), int(query.get("offset", 0))
        except ValueError:
            return etsy_error(400, "Expected integer query parameters", headers)
        # getListingsByShop: state one of the listing states (default active), limit 1..100, offset >= 0.
        if state not in LISTING_STATES or not 1 <= limit <= MAX_LIMIT or offset < 0:
            return etsy_error(400, f"state must be one of {', '.join(LISTING_STATES)}; limit 1..{MAX_LIMIT}",
                              headers)
        with self.lock:
            matching = [self._listing(i, entry) for i, entry in sorted(self.listings.items())
                        if entry["state"] == state]
        return JSONResponse({"count": len(matching), "results": matching[offset:offset + limit]}, headers=headers)

    def get_listing_images(self, shop_id: str, listing_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "getListingImages")
        if refused is not None:
            return refused
        listing = self.listings.get(listing_id)
        if listing is None:
            return etsy_error(404, f"Listing {listing_id} not found", headers)
        return JSONResponse({"count": len(listing["images"]), "results": listing["images"]}, headers=headers)

    async def upload_listing_image(self, shop_id: str, listing_id: str, request: Request) -> Response:
        headers, refused = self._guard(request, "uploadListingImage")
        if refused is not None:
            return refused
        listing = self.listings.get(listing_id)
        if listing is None:
            return etsy_error(404, f"Listing {listing_id} not found", headers)
        form = await request.form()
        image = form.get("image")
        # uploadListingImage takes the file itself (multipart "image") or a listing_image_id to re-attach; the
        # reference has no URL parameter, so an image the seller hosts is downloaded and uploaded.
        if image is None or isinstance(image, str):
            return etsy_error(400, "image must be uploaded as a multipart file", headers)
        data = await image.read()
        # uploadListingImage: an image that is not one (here: an empty file) is a 400 with the error message.
        if not data:
            return etsy_error(400, "The uploaded image is empty", headers)
        with self.lock:
            if len(listing["images"]) >= MAX_IMAGES:
                return etsy_error(400, f"A listing can have at most {MAX_IMAGES} images", headers)
            rank = int(form.get("rank") or len(listing["images"]) + 1)
            record = {"listing_id": int(listing_id), "listing_image_id": int(listing_id) * 100 + len(listing["images"]),
                      "rank": rank, "full_height": None, "full_width": None, "alt_text": form.get("alt_text"),
                      "url_fullxfull": f"https://i.etsystatic.com/{listing_id}/{rank}.jpg", "bytes": len(data)}
            listing["images"].append(record)
        return JSONResponse(record, headers=headers)


EMULATOR = EtsyEmulator
