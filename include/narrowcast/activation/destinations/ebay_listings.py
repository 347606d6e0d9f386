"""eBay Sell Inventory listing creation: one catalogue row per SKU becomes an inventory item, an offer, a listing.

Connection ``narrowcast_ebay`` (as for stock): extra ``marketplace_id`` (default ``EBAY_DE``),
``merchant_location_key``, ``fulfillment_policy_id``, ``payment_policy_id``, ``return_policy_id`` (the seller's
business policies; eBay refuses to publish without them) and ``content_language``.

A new SKU: ``bulkCreateOrReplaceInventoryItem`` → ``bulkCreateOffer`` → ``bulkPublishOffer``, 25 per call each
(Sell Inventory v1). An offer is unique per SKU, marketplace and format at eBay, so a re-send after a crash never
creates a second one: eBay answers "Offer entity already exists" with that offer's id, which is then published.
Variants (rows with ``parent_sku``) are listed together: their offers are created as above, then the group
(``createOrReplaceInventoryItemGroup``, keyed by ``parent_sku``, with the mart's ``variant_skus`` and
``varies_by``) is published with ``publishOfferByInventoryItemGroup``, one multi-variation listing; a later batch
holding more variants of the group replaces the group and publishes it again, which revises that listing.
The group names every variant of the mart, so the object declares ``parent_sku`` its ``group_field``: the engine
sends a group's rows in one batch. Only a group of more than 25 variants is still split; its first batch is refused
and succeeds next run.
A content change replaces the inventory item (eBay revises the live listing of a published item). A SKU that
left the catalogue has its offers found by ``getOffers?sku=`` and withdrawn (the listing ends; the inventory
item stays, so a return is a plain create again). A row the catalogue mart flags as incomplete is rejected
before any call, with the mart's reason.

Every accepted create answers the offer id (``RowResult.remote_id``, what the stock sync sends as ``offerId``),
also when a re-send finds the offer already there. A content change answers none: eBay's replace names no offer,
and a ``getOffers`` per changed SKU would double the calls of a catalogue change; the registry keeps the id it has.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.apis import ebay
from narrowcast.apis.ebay import INVENTORY
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError

# bulkCreateOrReplaceInventoryItem, bulkCreateOffer and bulkPublishOffer each take "up to 25" items.
BULK_LIMIT = 25
# Product.title: "max length: 80" (Sell Inventory v1).
MAX_TITLE = 80
# The ConditionEnum values the catalogue's plain words map to; anything else is sent as written.
CONDITIONS = {"new": "NEW", "used": "USED_GOOD", "refurbished": "SELLER_REFURBISHED", "like_new": "LIKE_NEW"}
CONTENT_FIELDS = frozenset({"title", "description", "brand", "mpn", "gtin", "condition", "image_urls", "aspects",
                            "category_id", "price", "currency", "quantity", "missing_reason", "parent_sku",
                            "variant_skus", "varies_by"})


class EbayListings(Destination):
    name = "ebay_listings"
    connection_id = ebay.CONNECTION_ID
    client_class = ebay.EbayApi
    api_name = "ebay_sell_inventory"
    objects = {
        "listing": ObjectSpec(
            required_fields=frozenset({"sku", "title", "category_id", "price", "currency"}),
            optional_fields=CONTENT_FIELDS,
            # A new group's request names all its variants, so they must be created in the same batch.
            group_field="parent_sku",
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    limits = Limits(max_batch_size=BULK_LIMIT, default_rps=5.0, default_burst=5.0, max_concurrency=2)

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        # bulkCreateOffer and the inventory item calls require Content-Language.
        return {"headers": {"Content-Type": "application/json",
                            "Content-Language": str(connection.extra.get("content_language", "en-US"))}}

    @property
    def marketplace_id(self) -> str:
        return str(self.context.connection.extra.get("marketplace_id", "EBAY_DE"))

    def send(self, batch: Batch) -> list[RowResult]:
        results: dict[str, RowResult] = {}
        upserts: list[Change] = []
        for change in batch.changes:
            if change.op == "remove":
                results[change.key] = self._withdraw(change)
            elif change.payload.get("missing_reason"):
                results[change.key] = RowResult(change.key, "rejected",
                                                f"catalogue incomplete: {change.payload['missing_reason']}", sent=False)
            else:
                upserts.append(change)
        if upserts:
            results.update(self._upsert(upserts))
        return [results[c.key] for c in batch.changes]

    def _upsert(self, changes: list[Change]) -> dict[str, RowResult]:
        out: dict[str, RowResult] = {}
        items = self._bulk("bulk_create_or_replace_inventory_item",
                           [self._inventory_item(c.payload) for c in changes], "sku")
        stored = []
        for change in changes:
            refused = _refusal(items.get(str(change.payload["sku"])), "inventory item")
            if refused:
                out[change.key] = RowResult(change.key, "rejected", refused)
            elif change.op == "add":
                stored.append(change)
            elif change.payload.get("parent_sku"):
                out.update(self._publish_groups([change], {}))
            else:
                out[change.key] = RowResult(change.key, "accepted")
        if not stored:
            return out
        created = self._bulk("bulk_create_offer", [self._offer(c.payload) for c in stored], "sku")
        offer_ids: dict[str, str] = {}
        for change in stored:
            answer = created.get(str(change.payload["sku"])) or {}
            offer_id = answer.get("offerId") or _existing_offer_id(answer)
            if offer_id:
                offer_ids[change.key] = str(offer_id)
            else:
                out[change.key] = RowResult(change.key, "rejected", _refusal(answer or None, "offer"))
        variants = [c for c in stored if c.key in offer_ids and c.payload.get("parent_sku")]
        singles = {c.key: offer_ids[c.key] for c in stored if c.key in offer_ids and not c.payload.get("parent_sku")}
        if singles:
            published = self._bulk("bulk_publish_offer", [{"offerId": o} for o in singles.values()], "offerId")
            for key, offer_id in singles.items():
                refused = _refusal(published.get(offer_id), "publish")
                out[key] = (RowResult(key, "rejected", refused) if refused
                            else RowResult(key, "accepted", remote_id=offer_id))
        if variants:
            out.update(self._publish_groups(variants, offer_ids))
        return out

    def _publish_groups(self, changes: list[Change], offer_ids: dict[str, str]) -> dict[str, RowResult]:
        """Replace each variant group these rows belong to, then publish the group's offers as one listing
        (only when a row of the group is new: a changed group's listing is revised by the replace)."""
        groups: dict[str, list[Change]] = {}
        for change in changes:
            groups.setdefault(str(change.payload["parent_sku"]), []).append(change)
        out: dict[str, RowResult] = {}
        for group_key, members in groups.items():
            first = members[0].payload
            variant_skus = _list(first.get("variant_skus")) or [str(c.payload["sku"]) for c in members]
            varies_by = _json(first.get("varies_by"))
            body = {"title": str(first["title"])[:MAX_TITLE], "variantSKUs": variant_skus,
                    "imageUrls": _list(first.get("image_urls")),
                    "variesBy": {"aspectsImageVariesBy": [],
                                 "specifications": [{"name": name, "values": values if isinstance(values, list)
                                                     else [str(values)]} for name, values in varies_by.items()]}}
            if first.get("description"):
                body["description"] = str(first["description"])
            try:
                self.client.request("PUT", f"{INVENTORY}/inventory_item_group/{quote(group_key, safe='')}", json=body)
                if any(c.key in offer_ids for c in members):
                    self.client.post_json(f"{INVENTORY}/offer/publish_by_inventory_item_group",
                                          {"inventoryItemGroupKey": group_key, "marketplaceId": self.marketplace_id})
            except FatalApiError as exc:
                out.update({c.key: RowResult(c.key, "rejected", f"eBay variant group {group_key}: {exc.message}")
                            for c in members})
                continue
            out.update({c.key: RowResult(c.key, "accepted", remote_id=offer_ids.get(c.key)) for c in members})
        return out

    def _bulk(self, method: str, requests_: list[dict[str, Any]], by: str) -> dict[str, dict[str, Any]]:
        answer = self.client.post_json(f"{INVENTORY}/{method}", {"requests": requests_}) or {}
        return {str(r.get(by)): r for r in answer.get("responses", [])}

    def _inventory_item(self, p: dict[str, Any]) -> dict[str, Any]:
        product: dict[str, Any] = {"title": str(p["title"])[:MAX_TITLE], "imageUrls": _list(p.get("image_urls"))}
        for source, target in (("description", "description"), ("brand", "brand"), ("mpn", "mpn")):
            if p.get(source):
                product[target] = str(p[source])
        if p.get("gtin"):
            product["ean"] = [str(p["gtin"])]
        aspects = _json(p.get("aspects"))
        if aspects:
            product["aspects"] = {name: value if isinstance(value, list) else [str(value)]
                                  for name, value in aspects.items()}
        condition = str(p.get("condition") or "new")
        locale = str(self.context.connection.extra.get("content_language", "en-US")).replace("-", "_")
        return {"sku": str(p["sku"]), "locale": locale, "product": product, "condition": CONDITIONS.get(condition.lower(), condition),
                "availability": {"shipToLocationAvailability": {"quantity": int(p.get("quantity") or 0)}}}

    def _offer(self, p: dict[str, Any]) -> dict[str, Any]:
        extra = self.context.connection.extra
        offer: dict[str, Any] = {
            "sku": str(p["sku"]), "marketplaceId": self.marketplace_id, "format": "FIXED_PRICE",
            "availableQuantity": int(p.get("quantity") or 0), "categoryId": str(p["category_id"]),
            "pricingSummary": {"price": {"value": f"{float(p['price']):.2f}", "currency": str(p["currency"])}},
            "listingPolicies": {"fulfillmentPolicyId": extra.get("fulfillment_policy_id"),
                                "paymentPolicyId": extra.get("payment_policy_id"),
                                "returnPolicyId": extra.get("return_policy_id")},
            "merchantLocationKey": extra.get("merchant_location_key"),
        }
        if p.get("description"):
            offer["listingDescription"] = str(p["description"])
        return offer

    def _withdraw(self, change: Change) -> RowResult:
        sku = str(change.payload["sku"])
        try:
            offers = self.client.get_json(f"{INVENTORY}/offer", params={"sku": sku}).get("offers", [])
        except FatalApiError as exc:
            if exc.status == 404:  # no offer for the SKU: nothing is listed
                return RowResult(change.key, "accepted")
            return RowResult(change.key, "rejected", f"eBay getOffers failed: {exc.message}")
        for offer in offers:
            if offer.get("marketplaceId") not in (None, self.marketplace_id) or offer.get("status") != "PUBLISHED":
                continue
            try:
                self.client.request("POST", f"{INVENTORY}/offer/{quote(str(offer['offerId']), safe='')}/withdraw")
            except FatalApiError as exc:
                return RowResult(change.key, "rejected", f"eBay withdraw failed: {exc.message}")
        return RowResult(change.key, "accepted")


def _refusal(answer: dict[str, Any] | None, what: str) -> str | None:
    """None when eBay's per-item answer is a success; otherwise eBay's own messages."""
    if answer is None:
        return f"eBay returned no {what} response for the row"
    if answer.get("statusCode") in (200, 201):
        return None
    messages = "; ".join(f"{e.get('errorId')}: {e.get('message')}" for e in answer.get("errors", []))
    return f"eBay {what} HTTP {answer.get('statusCode')}: {messages or 'no detail'}"


def _existing_offer_id(answer: dict[str, Any]) -> str | None:
    """The offer id eBay names when the SKU already has an offer on the marketplace in this format."""
    for error in answer.get("errors", []):
        for parameter in error.get("parameters") or []:
            if parameter.get("name") == "offerId" and parameter.get("value"):
                return str(parameter["value"])
    return None


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _list(value: Any) -> list[str]:
    """Image URLs: a list, or the catalogue's text with URLs separated by ``|``."""
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [part.strip() for part in str(value or "").split("|") if part.strip()]
