"""Emulator of Amazon SP-API Listings Items (put/patch/delete), Product Type Definitions and JSON_LISTINGS_FEED.

Listing creation: ``putListingsItem`` (PUT, ``productType`` + ``requirements`` + ``attributes``) validates the
attributes against the product type's schema as Amazon does and answers ``INVALID`` with issues naming each
attribute (code 90220 for a missing required one); ``deleteListingsItem`` removes a listing.
``getDefinitionsProductType`` (Product Type Definitions 2020-09-01) answers the documented envelope
(``productType``, ``productTypeVersion``, ``requirements``, ``requirementsEnforced``, ``schema.link.resource``
+ ``checksum``, ``propertyGroups``) for the sandbox's product types; the link serves a small JSON Schema written
here after the shape Amazon documents for its product type schemas (attributes as arrays of objects carrying
``value``, ``marketplace_id``, ``language_tag``), not a copy of a real one.

PATCH: token bucket per seller at patchListingsItem's usage plan (5 requests/s, burst 10, Listings Items
2021-08-01 reference) → 429 ``QuotaExceeded``; an unknown SKU is a 404 ``NotFound``, a patch path other than a
top-level ``/attributes/<name>`` a 400 ``InvalidInput``; otherwise ``ACCEPTED`` or ``INVALID`` + issues (negative
quantity, price ≤ 0, missing price). Feeds: createFeedDocument → PUT upload to a pre-signed URL →
createFeed (≤ 25,000 messages) → getFeed (IN_PROGRESS, then DONE) → a GZIP result document with per-message
issues. The pre-signed URLs answer like S3: a request with an unsigned ``x-amz-*`` header is refused. Listings
(quantity, price, status) are held for :meth:`snapshot`.

Error codes follow the SP-API error response (``{"errors": [{code, message, details}]}``) with the codes of the
Listings Items and Feeds references: InvalidInput 400, Unauthorized 403, NotFound 404, QuotaExceeded 429,
InternalFailure 500.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.amazon import AmazonErrors, amazon_authorized
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

FEED_LIMIT = 25_000
PRODUCT_TYPE_VERSION = "UHARDCODEDSANDBOX1"


def _text(max_length: int) -> dict[str, Any]:
    """An attribute holding one text value per marketplace and language, as product type schemas declare them."""
    return {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["value"],
        "properties": {"value": {"type": "string", "minLength": 1, "maxLength": max_length},
                       "language_tag": {"type": "string"}, "marketplace_id": {"type": "string"}}}}


# The sandbox's product type schemas: the required attributes of a real LISTING schema for a simple product
# type (Product Type Definitions use-case guide) in its documented shape; SHIRT adds a required size.
_BASE_PROPERTIES: dict[str, Any] = {
    "item_name": _text(200),
    "brand": _text(100),
    "product_description": _text(2000),
    "condition_type": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["value"],
        "properties": {"value": {"enum": ["new_new", "used_like_new", "used_good", "refurbished_refurbished"]}}}},
    "externally_assigned_product_identifier": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["type", "value"],
        "properties": {"type": {"enum": ["ean", "upc", "gtin", "isbn"]},
                       "value": {"type": "string", "pattern": "^[0-9]{8,14}$"}}}},
    "list_price": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["currency", "value"],
        "properties": {"currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                       "value": {"type": "number", "exclusiveMinimum": 0}}}},
    "main_product_image_locator": {"type": "array", "items": {
        "type": "object", "required": ["media_location"],
        "properties": {"media_location": {"type": "string", "format": "uri"}}}},
}
_BASE_REQUIRED = ["item_name", "brand", "externally_assigned_product_identifier", "list_price", "condition_type"]
PRODUCT_TYPE_SCHEMAS: dict[str, dict[str, Any]] = {
    "PRODUCT": {"$schema": "https://json-schema.org/draft/2019-09/schema", "type": "object",
                "properties": _BASE_PROPERTIES, "required": _BASE_REQUIRED},
    "SHIRT": {"$schema": "https://json-schema.org/draft/2019-09/schema", "type": "object",
              "properties": {**_BASE_PROPERTIES, "size": _text(50), "color": _text(50)},
              "required": [*_BASE_REQUIRED, "size"]},
}
# patchListingsItem's usage plan in the Listings Items 2021-08-01 reference.
PATCH_RATE, PATCH_BURST = 5.0, 10.0


def sp_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message, "details": ""}]}, status_code=status,
                        headers=headers)


class _Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class AmazonListingsEmulator(AmazonErrors, Emulator):
    name = "amazon_listings"
    prefix = "amazon"

    def __init__(self, world_dir: Path | None) -> None:
        self._ids = itertools.count(1)
        self.listings: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, Any] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.compressed: set[str] = set()
        # Issues without messageId a test adds to every processing report (they concern the whole feed).
        self.feed_level_issues: list[dict[str, Any]] = []
        self.buckets: dict[str, _Bucket] = {}
        self.calls: dict[str, int] = {}
        self.puts: dict[str, dict[str, Any]] = {}
        self.patch_rate, self.patch_burst = PATCH_RATE, PATCH_BURST
        super().__init__(world_dir)

    def load(self) -> None:
        rows = read_world_table(self.world_dir, "listings", ["sku", "marketplace", "listing_id"])
        self.seed_listings([str(r["listing_id"]) for r in rows if r["marketplace"] == "amazon"])

    def seed_listings(self, skus: list[str]) -> None:
        with self.lock:
            for sku in skus:
                self.listings[sku] = {"quantity": 0, "price": None, "currency": None, "status": "INACTIVE"}

    def reset(self) -> None:
        with self.lock:
            self.listings.clear()
            self.documents.clear()
            self.compressed.clear()
            self.feed_level_issues = []
            self.feeds.clear()
            self.puts.clear()
            self.buckets.clear()
            self.calls.clear()
            super().reset()

    def snapshot(self) -> dict[str, Any]:
        return {"listings": {sku: dict(v) for sku, v in self.listings.items()}, "calls": dict(self.calls)}

    def _count(self, method: str) -> None:
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def routes(self, router: APIRouter) -> None:
        self._creation_routes(router)

        @router.patch("/listings/2021-08-01/items/{seller_id}/{sku:path}")
        async def patch(seller_id: str, sku: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            bucket = self.buckets.setdefault(seller_id, _Bucket(self.patch_rate, self.patch_burst))
            if not bucket.take():
                # x-amzn-RateLimit-Limit: "the rate limit applied to the request" (Parse SP-API Responses).
                return sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.",
                                headers={"x-amzn-RateLimit-Limit": f"{self.patch_rate}"})
            self._count("patchListingsItem")
            if not request.query_params.get("marketplaceIds"):
                return sp_error(400, "InvalidInput", "marketplaceIds is required.")
            body = await request.json()
            if sku not in self.listings:
                return sp_error(404, "NotFound", "The resource specified does not exist.")
            patches = body.get("patches") or []
            bad_path = next((p.get("path") for p in patches if not _top_level_attribute(p)), None)
            if bad_path is not None:
                return sp_error(400, "InvalidInput", f"Only top-level /attributes/<name> can be patched, got {bad_path!r}.")
            issues = self._apply(sku, patches)
            status = "INVALID" if issues else "ACCEPTED"
            return JSONResponse({"sku": sku, "status": status, "submissionId": f"sub{next(self._ids)}",
                                 "issues": issues})

        @router.post("/feeds/2021-06-30/documents")
        def create_document(request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            self._count("createFeedDocument")
            doc_id = f"amzn1.tortuga.sandbox.{next(self._ids)}"
            with self.lock:
                self.documents[doc_id] = None
            base = str(request.base_url).rstrip("/")
            return JSONResponse({"feedDocumentId": doc_id, "url": f"{base}/amazon/_uploads/{doc_id}"}, status_code=201)

        @router.put("/_uploads/{doc_id}")
        async def upload(doc_id: str, request: Request) -> Response:
            self._count("upload")
            if (refused := _s3_refusal(request)) is not None:
                return refused
            if doc_id not in self.documents:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            with self.lock:
                self.documents[doc_id] = json.loads(await request.body())
            return Response(status_code=200)

        @router.get("/_uploads/{doc_id}")
        def download(doc_id: str, request: Request) -> Response:
            self._count("download")
            if (refused := _s3_refusal(request)) is not None:
                return refused
            if self.documents.get(doc_id) is None:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            content = json.dumps(self.documents[doc_id]).encode()
            if doc_id in self.compressed:
                return Response(gzip.compress(content), media_type="application/octet-stream")
            return Response(content, media_type="application/json")

        @router.post("/feeds/2021-06-30/feeds")
        async def create_feed(request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            self._count("createFeed")
            body = await request.json()
            if body.get("feedType") != "JSON_LISTINGS_FEED":
                return sp_error(400, "InvalidInput", "Only JSON_LISTINGS_FEED is supported by the sandbox.")
            document = self.documents.get(str(body.get("inputFeedDocumentId")))
            if not isinstance(document, dict):
                return sp_error(400, "InvalidInput", "inputFeedDocumentId does not reference an uploaded document.")
            messages = document.get("messages") or []
            if len(messages) > FEED_LIMIT:
                return sp_error(400, "InvalidInput", f"A JSON_LISTINGS_FEED holds at most {FEED_LIMIT} messages.")
            issues = [dict(issue) for issue in self.feed_level_issues]
            for message in messages:
                for issue in self._apply(str(message.get("sku")), message.get("patches") or []):
                    issues.append({"messageId": message.get("messageId"), **issue})
            feed_id = str(next(self._ids))
            result_id = f"amzn1.tortuga.sandbox.{next(self._ids)}"
            with self.lock:
                self.compressed.add(result_id)
                self.documents[result_id] = {
                    "header": {"sellerId": document.get("header", {}).get("sellerId"), "version": "2.0",
                               "feedId": feed_id},
                    "issues": issues,
                    "summary": {"errors": len(issues), "messagesProcessed": len(messages),
                                "messagesAccepted": 0 if self.feed_level_issues else
                                len(messages) - len({i["messageId"] for i in issues})},
                }
                self.feeds[feed_id] = {"polls": 0, "result": result_id}
                self.received.append({"feedId": feed_id, "messages": len(messages)})
            return JSONResponse({"feedId": feed_id}, status_code=202)

        @router.get("/feeds/2021-06-30/feeds/{feed_id}")
        def get_feed(feed_id: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            self._count("getFeed")
            with self.lock:
                feed = self.feeds.get(feed_id)
                if feed is None:
                    return sp_error(404, "NotFound", f"Feed {feed_id} not found.")
                feed["polls"] += 1
                done = feed["polls"] > 1
            answer: dict[str, Any] = {"feedId": feed_id, "feedType": "JSON_LISTINGS_FEED",
                                      "processingStatus": "DONE" if done else "IN_PROGRESS"}
            if done:
                answer["resultFeedDocumentId"] = feed["result"]
            return JSONResponse(answer)

        @router.get("/feeds/2021-06-30/documents/{doc_id}")
        def get_document(doc_id: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            self._count("getFeedDocument")
            if doc_id not in self.documents:
                return sp_error(404, "NotFound", f"Document {doc_id} not found.")
            base = str(request.base_url).rstrip("/")
            answer = {"feedDocumentId": doc_id, "url": f"{base}/amazon/_uploads/{doc_id}"}
            if doc_id in self.compressed:
                # Feeds 2021-06-30 FeedDocument.compressionAlgorithm: the content must be unzipped after download.
                answer["compressionAlgorithm"] = "GZIP"
            return JSONResponse(answer)

    def _creation_routes(self, router: APIRouter) -> None:
        @router.put("/listings/2021-08-01/items/{seller_id}/{sku:path}")
        async def put(seller_id: str, sku: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            # putListingsItem has the same usage plan as patchListingsItem (5/s, burst 10; Listings Items 2021-08-01).
            bucket = self.buckets.setdefault(f"put:{seller_id}", _Bucket(self.patch_rate, self.patch_burst))
            if not bucket.take():
                return sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.",
                                headers={"x-amzn-RateLimit-Limit": f"{self.patch_rate}"})
            self._count("putListingsItem")
            if not request.query_params.get("marketplaceIds"):
                return sp_error(400, "InvalidInput", "marketplaceIds is required.")
            body = await request.json()
            product_type = str(body.get("productType") or "")
            if product_type not in PRODUCT_TYPE_SCHEMAS:
                return sp_error(400, "InvalidInput", f"productType {product_type!r} is not valid.")
            attributes = body.get("attributes") or {}
            issues = [{"code": "90220" if error.validator == "required" else "90244",
                       "message": error.message, "severity": "ERROR",
                       "attributeNames": [str(error.path[0]) if error.path else
                                          str(error.message).split("'")[1]]}
                      for error in jsonschema.Draft201909Validator(PRODUCT_TYPE_SCHEMAS[product_type])
                      .iter_errors(attributes)]
            submission = f"sub{next(self._ids)}"
            if issues:
                return JSONResponse({"sku": sku, "status": "INVALID", "submissionId": submission, "issues": issues})
            with self.lock:
                self.puts[sku] = {"productType": product_type, "attributes": attributes}
                held = self.listings.setdefault(sku, {"quantity": 0, "price": None, "currency": None,
                                                      "status": "INACTIVE"})
                price = attributes["list_price"][0]
                held["price"], held["currency"] = f"{float(price['value']):.2f}", price["currency"]
            return JSONResponse({"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []})

        @router.delete("/listings/2021-08-01/items/{seller_id}/{sku:path}")
        def delete(seller_id: str, sku: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            self._count("deleteListingsItem")
            with self.lock:
                if self.listings.pop(sku, None) is None:
                    return sp_error(404, "NotFound", "The resource specified does not exist.")
                self.puts.pop(sku, None)
            return JSONResponse({"sku": sku, "status": "ACCEPTED", "submissionId": f"sub{next(self._ids)}",
                                 "issues": []})

        @router.get("/definitions/2020-09-01/productTypes/{product_type}")
        def definition(product_type: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            self._count("getDefinitionsProductType")
            marketplaces = request.query_params.get("marketplaceIds")
            if not marketplaces:
                return sp_error(400, "InvalidInput", "marketplaceIds is required.")
            if product_type not in PRODUCT_TYPE_SCHEMAS:
                return sp_error(404, "NotFound", f"Product type {product_type} not found.")
            base = str(request.base_url).rstrip("/")
            schema_text = json.dumps(PRODUCT_TYPE_SCHEMAS[product_type], sort_keys=True).encode()
            return JSONResponse({
                "metaSchema": {"link": {"resource": f"{base}/amazon/_schemas/meta-schema", "verb": "GET"},
                               "checksum": "sandbox"},
                "schema": {"link": {"resource": f"{base}/amazon/_schemas/{product_type}", "verb": "GET"},
                           "checksum": hashlib.md5(schema_text).hexdigest()},
                "requirements": request.query_params.get("requirements", "LISTING"),
                "requirementsEnforced": request.query_params.get("requirementsEnforced", "ENFORCED"),
                "propertyGroups": {"offer": {"title": "Offer", "propertyNames": ["list_price", "condition_type"]},
                                   "product_identity": {"title": "Product Identity", "propertyNames": [
                                       "item_name", "brand", "externally_assigned_product_identifier"]}},
                "locale": request.query_params.get("locale", "DEFAULT"),
                "marketplaceIds": marketplaces.split(","),
                "productType": product_type,
                "displayName": product_type.title(),
                "productTypeVersion": {"version": PRODUCT_TYPE_VERSION, "latest": True, "releaseCandidate": False},
            })

        @router.get("/_schemas/{product_type}")
        def schema_document(product_type: str, request: Request) -> Response:
            # Served from a pre-signed S3 link: no SP-API token is asked for.
            self._count("schemaDownload")
            if (refused := _s3_refusal(request)) is not None:
                return refused
            if product_type not in PRODUCT_TYPE_SCHEMAS:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return JSONResponse(PRODUCT_TYPE_SCHEMAS[product_type])

    def _apply(self, sku: str, patches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validate then apply one listing's patches; returns ERROR issues (nothing applied if any)."""
        def issue(code: str, message: str, attribute: str) -> dict[str, Any]:
            return {"code": code, "message": message, "severity": "ERROR", "attributeNames": [attribute]}

        with self.lock:
            listing = self.listings.get(sku)
            if listing is None:
                # A feed message for a SKU the seller does not hold: a per-message NotFound-style issue.
                return [issue("90220", f"SKU {sku} is required to exist but was not found.", "sku")]
            updates: dict[str, Any] = {}
            content: dict[str, dict[str, Any]] = {}
            for patch in patches:
                if not _top_level_attribute(patch):
                    return [issue("90244", f"We can't accept the path {patch.get('path')!r}.", "patches")]
                attribute = str(patch["path"]).strip("/").split("/")[1]
                value = (patch.get("value") or [{}])[0]
                # Listing issue codes as Amazon reports them: 90220 a required value is missing, 90244 a value
                # is not accepted.
                if attribute == "fulfillment_availability":
                    quantity = value.get("quantity")
                    if quantity is None:
                        return [issue("90220", "'quantity' is required but missing.", attribute)]
                    if not isinstance(quantity, int) or quantity < 0:
                        return [issue("90244", "We can't accept the quantity you entered.", attribute)]
                    updates["quantity"] = quantity
                elif attribute == "purchasable_offer":
                    try:
                        price = float(value["our_price"][0]["schedule"][0]["value_with_tax"])
                    except (KeyError, IndexError, TypeError, ValueError):
                        return [issue("90220", "'our_price' is required but missing.", attribute)]
                    if price <= 0:
                        return [issue("90244", "We can't accept the price you entered.", attribute)]
                    updates["price"], updates["currency"] = f"{price:.2f}", value.get("currency")
                else:
                    content[attribute] = patch
            listing.update(updates)
            # Any other attribute is the listing's content (patchListingsItem replaces or deletes it as a whole).
            attributes = self.puts.get(sku, {}).get("attributes")
            for attribute, patch in content.items():
                if attributes is None:
                    break
                if patch.get("op") == "delete":
                    attributes.pop(attribute, None)
                else:
                    attributes[attribute] = patch.get("value")
            listing["status"] = "ACTIVE" if listing["quantity"] > 0 else "INACTIVE"
        return []


def _top_level_attribute(patch: dict[str, Any]) -> bool:
    parts = str(patch.get("path", "")).strip("/").split("/")
    return len(parts) == 2 and parts[0] == "attributes" and patch.get("op") in ("add", "replace", "merge", "delete")


def _s3_error(status: int, code: str, message: str, **extra: str) -> Response:
    """S3's REST error response (Amazon S3 API reference, "Error responses"): an XML ``Error`` element."""
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in {"Code": code, "Message": message, **extra}.items())
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{fields}</Error>', status_code=status,
                    media_type="application/xml")


def _s3_refusal(request: Request) -> Response | None:
    """A pre-signed URL signs its headers: S3 refuses a request carrying an ``x-amz-*`` header it did not sign
    (403 AccessDenied, "There were headers present in the request which were not signed")."""
    unsigned = sorted(h for h in request.headers if h.lower().startswith("x-amz-"))
    if unsigned:
        return _s3_error(403, "AccessDenied", "There were headers present in the request which were not signed",
                         HeadersNotSigned=", ".join(unsigned))
    return None


EMULATOR = AmazonListingsEmulator
