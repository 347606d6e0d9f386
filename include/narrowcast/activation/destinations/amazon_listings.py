"""Amazon SP-API Listings: quantity and price per SKU with ``patchListingsItem``; bulk changes by JSON feed.

Connection ``narrowcast_amazon``: ``password`` = LWA access token (``x-amz-access-token``); extra
``seller_id`` and ``marketplace_id`` (required), ``feed_threshold`` (rows in one batch above which a
``JSON_LISTINGS_FEED`` is sent instead of one PATCH per SKU; default 1,500, Amazon's advice), ``poll_interval_seconds``.
Withdrawn rows and rows that left the feed are set to quantity 0 (the offer is kept, so relisting is a
plain quantity update). Each SP-API operation is paced by its own usage plan (``narrowcast.apis.amazon``).

The sync's ``rate_limit.concurrency`` is the number of PATCHes in flight at once, across all of a run's batches: a
PATCH answers in a few hundred milliseconds, so with one in flight a seller gets well under the 5/s the usage plan
grants (n PATCHes take n × the answer time instead of n / 5 s); the token bucket keeps the rate.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
    SendContext,
)
from narrowcast.activation.destinations.price_floor import split_by_floor
from narrowcast.apis import amazon
from narrowcast.apis.amazon import FEEDS, LISTINGS
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError

# The content type createFeedDocument is told and the upload must then carry (the pre-signed URL is bound to it).
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
# Rows in one batch above which one JSON_LISTINGS_FEED is sent instead of one PATCH per SKU (extra feed_threshold).
# n PATCHes take about (n - burst) / 5 s (patchListingsItem's usage plan). A feed's calls fit in the bursts of
# createFeedDocument, createFeed and getFeed, but its fixed cost is Amazon's queue: feeds are processed in order and
# cannot be prioritised (Feeds API FAQ), JSON_LISTINGS_FEED takes five submissions per five minutes per region
# (changelog "Feed size and rate limit changes for the JSON_LISTINGS_FEED", May 2025), and Amazon's best practices ask
# for one feed of a type every 20 minutes and no small feeds (Feeds API Best Practices). Amazon's developer support
# recommends the feed from 1,500 item updates and the Listings Items API below that (selling-partner-api-models
# issues 543 and 4097), i.e. once the PATCHes would take five minutes or more. Amazon publishes no queue time, and
# the sandbox does not model one (its feed is DONE at the second getFeed), so the sandbox must not set the threshold.
DEFAULT_FEED_THRESHOLD = 1500


class _BatchStopped(Exception):
    """A PATCH not sent because another PATCH of its batch failed first."""


class AmazonListings(Destination):
    name = "amazon_listings"
    connection_id = amazon.CONNECTION_ID
    client_class = amazon.SellingPartnerApi
    # Its own name in error messages, so a failure tells the Listings destination from the Orders source.
    api_name = "amazon_sp_api"
    objects = {
        "listing": ObjectSpec(
            required_fields=frozenset({"sku", "quantity"}),
            optional_fields=frozenset({"price", "currency", "status", "product_type", "price_floor"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # A JSON feed takes up to 25,000 messages; the default rate is patchListingsItem's usage plan.
    limits = Limits(max_batch_size=25_000, default_rps=amazon.USAGE_PLANS["patchListingsItem"].rate,
                    default_burst=float(amazon.USAGE_PLANS["patchListingsItem"].burst), max_concurrency=4)

    def __init__(self, context: SendContext) -> None:
        super().__init__(context)
        # Bounds PATCHes in flight across the engine's batch workers too (they share this instance).
        self._in_flight = threading.BoundedSemaphore(max(1, context.concurrency))

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json"}}

    def send(self, batch: Batch) -> list[RowResult]:
        extra = self.context.connection.extra
        threshold = int(extra.get("feed_threshold", DEFAULT_FEED_THRESHOLD))
        sendable, results = split_by_floor(batch.changes)
        if len(sendable) > threshold:
            results.update((result.key, result) for result in self._feed(sendable))
        elif self.context.concurrency > 1 and len(sendable) > 1:
            failed = threading.Event()

            def patch(change: Change) -> RowResult:
                # A PATCH that failed stops the batch: no worker starts another once it did (a worker picks its
                # next PATCH as soon as its last one ends, before the failure reaches this thread).
                if failed.is_set():
                    raise _BatchStopped
                try:
                    return self._patch(change)
                except BaseException:
                    failed.set()
                    raise

            with ThreadPoolExecutor(max_workers=self.context.concurrency, thread_name_prefix="amazon-patch") as pool:
                futures = [pool.submit(patch, c) for c in sendable]
                try:
                    results.update((c.key, future.result()) for c, future in zip(sendable, futures, strict=True))
                except BaseException:
                    # The batch fails: the PATCHes not started are not sent (the ones in flight finish; the next
                    # run sends the batch again, a PATCH of the same values being harmless).
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        else:
            results.update((c.key, self._patch(c)) for c in sendable)
        return [results[c.key] for c in batch.changes]

    @property
    def seller_id(self) -> str:
        return str(self.context.connection.require("seller_id"))

    @property
    def marketplace_id(self) -> str:
        return str(self.context.connection.require("marketplace_id"))

    def _patches(self, change: Change) -> list[dict[str, Any]]:
        p = change.payload
        withdrawn = change.op == "remove" or p.get("status") == "withdrawn"
        patches: list[dict[str, Any]] = [{
            "op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0 if withdrawn else int(p["quantity"])}],
        }]
        if p.get("price") is not None and change.op != "remove":
            patches.append({
                "op": "replace", "path": "/attributes/purchasable_offer",
                "value": [{"marketplace_id": self.marketplace_id, "currency": p.get("currency") or "EUR",
                           "audience": "ALL", "our_price": [{"schedule": [{"value_with_tax": float(p["price"])}]}]}],
            })
        return patches

    def _patch(self, change: Change) -> RowResult:
        sku = str(change.payload["sku"])
        body = {"productType": change.payload.get("product_type") or "PRODUCT", "patches": self._patches(change)}
        try:
            with self._in_flight:
                answer = self.client.request(
                    "PATCH", f"{LISTINGS}/{self.seller_id}/{quote(sku, safe='')}",
                    params={"marketplaceIds": self.marketplace_id, "includedData": "issues"}, json=body,
                ).json()
        except FatalApiError as exc:
            if exc.status in (400, 404):
                return RowResult(change.key, "rejected", f"Amazon refused the patch: {exc.message}")
            raise
        if answer.get("status") == "ACCEPTED":
            return RowResult(change.key, "accepted")
        issues = [f"{i.get('code')}: {i.get('message')}" for i in answer.get("issues", []) if i.get("severity") == "ERROR"]
        return RowResult(change.key, "rejected", f"Amazon {answer.get('status')}: {'; '.join(issues) or 'no detail'}")

    def _feed(self, changes: list[Change]) -> list[RowResult]:
        messages = [{"messageId": i + 1, "sku": str(c.payload["sku"]), "operationType": "PATCH",
                     "productType": c.payload.get("product_type") or "PRODUCT", "patches": self._patches(c)}
                    for i, c in enumerate(changes)]
        document = {"header": {"sellerId": self.seller_id, "version": "2.0", "issueLocale": "en_US"},
                    "messages": messages}
        created = self.client.post_json(f"{FEEDS}/documents", {"contentType": FEED_CONTENT_TYPE})
        self.client.upload_document(created["url"], json.dumps(document).encode(), FEED_CONTENT_TYPE)
        feed = self.client.post_json(f"{FEEDS}/feeds", {"feedType": "JSON_LISTINGS_FEED",
                                                        "marketplaceIds": [self.marketplace_id],
                                                        "inputFeedDocumentId": created["feedDocumentId"]})
        interval = float(self.context.connection.extra.get("poll_interval_seconds", 5.0))
        while True:
            status = self.client.get_json(f"{FEEDS}/feeds/{feed['feedId']}")
            if status.get("processingStatus") in ("DONE", "CANCELLED", "FATAL"):
                break
            self.context.sleep(interval)
        if status["processingStatus"] != "DONE":
            return [RowResult(c.key, "rejected", f"Amazon feed {feed['feedId']} ended {status['processingStatus']}")
                    for c in changes]
        result = self.client.get_json(f"{FEEDS}/documents/{status['resultFeedDocumentId']}")
        report = self.client.download_document(result)
        errors: dict[int, str] = {}
        feed_errors: list[str] = []
        for issue in report.get("issues", []):
            if issue.get("severity") != "ERROR":
                continue
            text = f"{issue.get('code')}: {issue.get('message')}"
            # The processing report leaves messageId out of an issue about the feed as a whole (its header or
            # envelope): it applies to every message.
            if issue.get("messageId") is None:
                feed_errors.append(text)
            else:
                errors.setdefault(int(issue["messageId"]), text)
        if feed_errors:
            reason = f"Amazon feed {feed['feedId']} error: {'; '.join(feed_errors)}"
            return [RowResult(c.key, "rejected", reason) for c in changes]
        return [RowResult(c.key, "rejected", f"Amazon feed issue: {errors[i + 1]}") if i + 1 in errors
                else RowResult(c.key, "accepted") for i, c in enumerate(changes)]
