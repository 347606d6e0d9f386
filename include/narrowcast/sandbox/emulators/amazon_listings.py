"""Emulator of Amazon SP-API Listings Items (``patchListingsItem``) and the ``JSON_LISTINGS_FEED`` feed flow.

PATCH: token bucket per seller at 5 requests/s, burst 5 → 429 + ``x-amzn-RateLimit-Limit``; only top-level
``/attributes/<name>`` paths; ``ACCEPTED`` or ``INVALID`` + issues (unknown SKU, negative quantity, price ≤ 0).
Feeds: createFeedDocument → PUT upload → createFeed (≤ 25,000 messages) → getFeed (IN_PROGRESS, then DONE)
→ result document with per-message issues. Listings (quantity, price, status) are held for :meth:`snapshot`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.amazon import amazon_authorized
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

FEED_LIMIT = 25_000
PATCH_RATE, PATCH_BURST = 5.0, 5.0


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


class AmazonListingsEmulator(Emulator):
    name = "amazon_listings"
    prefix = "amazon"

    def __init__(self, world_dir: Path | None) -> None:
        self._ids = itertools.count(1)
        self.listings: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, Any] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.buckets: dict[str, _Bucket] = {}
        self.calls: dict[str, int] = {}
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
            self.feeds.clear()
            self.buckets.clear()
            self.calls.clear()
            super().reset()

    def snapshot(self) -> dict[str, Any]:
        return {"listings": {sku: dict(v) for sku, v in self.listings.items()}, "calls": dict(self.calls)}

    def rate_limited(self, retry_after: float) -> Response:
        return sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.",
                        headers={"x-amzn-RateLimit-Limit": f"{PATCH_RATE}", "Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return sp_error(503, "ServiceUnavailable", "Service temporarily unavailable.")

    def unauthorized(self) -> Response:
        return sp_error(403, "Unauthorized", "Access to requested resource is denied.")

    def _count(self, method: str) -> None:
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def routes(self, router: APIRouter) -> None:
        @router.patch("/listings/2021-08-01/items/{seller_id}/{sku:path}")
        async def patch(seller_id: str, sku: str, request: Request) -> Response:
            if not amazon_authorized(request):
                return self.unauthorized()
            bucket = self.buckets.setdefault(seller_id, _Bucket(self.patch_rate, self.patch_burst))
            if not bucket.take():
                return sp_error(429, "QuotaExceeded", "The request rate is greater than what is allowed for the "
                                "application.", headers={"x-amzn-RateLimit-Limit": f"{self.patch_rate}"})
            self._count("patchListingsItem")
            if not request.query_params.get("marketplaceIds"):
                return sp_error(400, "InvalidInput", "marketplaceIds is required.")
            body = await request.json()
            issues = self._apply(sku, body.get("patches") or [])
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
            if doc_id not in self.documents:
                return Response("NoSuchKey", status_code=404)
            with self.lock:
                self.documents[doc_id] = json.loads(await request.body())
            return Response(status_code=200)

        @router.get("/_uploads/{doc_id}")
        def download(doc_id: str) -> Response:
            self._count("download")
            if self.documents.get(doc_id) is None:
                return Response("NoSuchKey", status_code=404)
            return JSONResponse(self.documents[doc_id])

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
            issues = []
            for message in messages:
                for issue in self._apply(str(message.get("sku")), message.get("patches") or []):
                    issues.append({"messageId": message.get("messageId"), **issue})
            feed_id = str(next(self._ids))
            result_id = f"amzn1.tortuga.sandbox.{next(self._ids)}"
            with self.lock:
                self.documents[result_id] = {
                    "header": {"sellerId": document.get("header", {}).get("sellerId"), "version": "2.0",
                               "feedId": feed_id},
                    "issues": issues,
                    "summary": {"errors": len(issues), "messagesProcessed": len(messages),
                                "messagesAccepted": len(messages) - len({i["messageId"] for i in issues})},
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
            return JSONResponse({"feedDocumentId": doc_id, "url": f"{base}/amazon/_uploads/{doc_id}"})

    def _apply(self, sku: str, patches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validate then apply one listing's patches; returns ERROR issues (nothing applied if any)."""
        def issue(code: str, message: str, attribute: str) -> dict[str, Any]:
            return {"code": code, "message": message, "severity": "ERROR", "attributeNames": [attribute]}

        with self.lock:
            listing = self.listings.get(sku)
            if listing is None:
                return [issue("4000001", f"SKU {sku} is not a listing of this seller.", "sku")]
            updates: dict[str, Any] = {}
            for patch in patches:
                path = str(patch.get("path", ""))
                parts = path.strip("/").split("/")
                if len(parts) != 2 or parts[0] != "attributes" or patch.get("op") not in ("add", "replace", "merge", "delete"):
                    return [issue("4000002", f"Only top-level /attributes/<name> can be patched, got {path!r}.", path)]
                value = (patch.get("value") or [{}])[0]
                if parts[1] == "fulfillment_availability":
                    quantity = value.get("quantity")
                    if not isinstance(quantity, int) or quantity < 0:
                        return [issue("90220", "quantity must be a non-negative integer.", parts[1])]
                    updates["quantity"] = quantity
                elif parts[1] == "purchasable_offer":
                    try:
                        price = float(value["our_price"][0]["schedule"][0]["value_with_tax"])
                    except (KeyError, IndexError, TypeError, ValueError):
                        return [issue("90220", "our_price schedule value_with_tax is required.", parts[1])]
                    if price <= 0:
                        return [issue("90244", "Price must be greater than 0.", parts[1])]
                    updates["price"], updates["currency"] = f"{price:.2f}", value.get("currency")
            listing.update(updates)
            listing["status"] = "ACTIVE" if listing["quantity"] > 0 else "INACTIVE"
        return []


EMULATOR = AmazonListingsEmulator
