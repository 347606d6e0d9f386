"""Amazon SP-API Listings: quantity and price per SKU with ``patchListingsItem``; bulk changes by JSON feed.

Connection ``narrowcast_amazon``: ``password`` = LWA access token (``x-amz-access-token``); extra
``seller_id`` and ``marketplace_id`` (required), ``feed_threshold`` (rows in one batch above which a
``JSON_LISTINGS_FEED`` is cheaper than one PATCH per SKU; default 500), ``poll_interval_seconds``.
Withdrawn rows and rows that left the feed are set to quantity 0 (the offer is kept, so relisting is a
plain quantity update). ``patchListingsItem`` is limited to 5 requests/s, burst 5.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError
from narrowcast.sources.amazon.client import SellingPartnerApi

FEED_LIMIT = 25_000
LISTINGS = "listings/2021-08-01/items"
FEEDS = "feeds/2021-06-30"


class SellingPartnerClient(SellingPartnerApi):
    # Its own name in error messages, so a failure tells the Listings destination from the Orders source.
    api_name = "amazon_sp_api"


class AmazonListings(Destination):
    name = "amazon_listings"
    connection_id = "narrowcast_amazon"
    objects = {
        "listing": ObjectSpec(
            required_fields=frozenset({"sku", "quantity"}),
            optional_fields=frozenset({"price", "currency", "status", "product_type"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    limits = Limits(max_batch_size=FEED_LIMIT, default_rps=5.0, default_burst=5.0, max_concurrency=4)
    client_class = SellingPartnerClient

    def auth_headers(self, connection: Connection) -> dict[str, str]:
        return {**SellingPartnerClient.auth_headers(str(connection.password)), "Content-Type": "application/json"}

    def send(self, batch: Batch) -> list[RowResult]:
        extra = self.context.connection.extra
        threshold = int(extra.get("feed_threshold", 500))
        if len(batch.changes) > threshold:
            return self._feed(batch.changes)
        return [self._patch(c) for c in batch.changes]

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
        created = self.client.post_json(f"{FEEDS}/documents", {"contentType": "application/json; charset=UTF-8"})
        self.client.request("PUT", created["url"], data=json.dumps(document).encode(),
                            headers={"Content-Type": "application/json; charset=UTF-8"})
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
        report = self.client.get_json(result["url"])
        errors: dict[int, str] = {}
        for issue in report.get("issues", []):
            if issue.get("severity") == "ERROR":
                errors.setdefault(int(issue["messageId"]), f"{issue.get('code')}: {issue.get('message')}")
        return [RowResult(c.key, "rejected", f"Amazon feed issue: {errors[i + 1]}") if i + 1 in errors
                else RowResult(c.key, "accepted") for i, c in enumerate(changes)]
