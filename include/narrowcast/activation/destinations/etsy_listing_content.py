"""Etsy listing creation: one catalogue row per SKU becomes a draft listing, gets its images and inventory, goes live.

Connection ``narrowcast_etsy`` (``narrowcast.apis.etsy``; scopes ``listings_r listings_w``) with the shop's
listing settings as extras: ``shipping_profile_id`` (createDraftListing requires it for a physical listing),
``who_made``, ``when_made`` (default ``someone_else`` / ``made_to_order``), optional ``return_policy_id`` and
``readiness_state_id`` (the processing profile each offering names). The Etsy taxonomy id is the catalogue
mart's ``marketplace_category`` (seed ``listing_category_map``).

A new SKU: createDraftListing → updateListingInventory (one product with the SKU, price and quantity) →
uploadListingImage (multipart: the reference takes the file, not a URL, so each image the merchant hosts is
downloaded first; at most 10) → updateListing ``state=active`` when there is stock, since Etsy publishes a draft
only with an image, a shipping profile and quantity. A content change updates title, description and taxonomy
(updateListing); a SKU that left the catalogue has its listing set ``state=inactive``, and one that comes back has
it updated and active again. A row the mart flags as incomplete is rejected with the mart's reason before any
call.

Variants (rows with ``parent_sku``; the object's ``group_field``, so the engine sends a product's rows in one
batch) become one listing with a product per variant in its inventory: each product carries its SKU, the
variant's values of the aspects the product varies by (the mart's ``varies_by``, each value from the variant's
``aspects``) as ``property_values`` of Etsy's custom variation properties (ids 513 and 514, named after the
aspect), and one offering with the variant's price and quantity. ``price_on_property``, ``quantity_on_property``
and ``sku_on_property`` name every variation property, so each variant keeps its own price, stock and SKU
(updateListingInventory: an inventory whose prices, quantities or SKUs differ along a property not named there
is refused). Etsy takes at most two variation properties (the "Third Variation Tutorial": three only with
``max_variations_supported=3``, and never a third custom one), so a product varying by more is rejected with
that reason. The draft is tagged with the parent SKU, so a crash before its inventory is set is found again.
A later batch holding some variants of a listed product reads the listing's inventory and sends it back with
those variants' products added or replaced; a removed variant's product is dropped, and the listing goes
inactive when none is left. Every variant row answers the listing id, which the stock sync addresses.

Etsy keeps no idempotency key, so the SKU is the key: before any write the shop's listings are read once per
run (getListingsByShop for the draft, active and inactive states, 100 at a time; every listing carries its
inventory's ``skus`` and its ``tags``). A draft is created with the SKU as a tag (when the SKU is a valid tag:
at most 20 letters, digits, spaces, ``-`` or ``'``) and gets its inventory, the SKU, right after, so a crash
at any point leaves a listing the next run finds and finishes (images missing, still a draft) instead of
creating a second one. Every accepted row answers the listing id.

Rate limits ("Rate Limits"): the client paces itself by ``x-limit-per-second``; the day's allowance
(``x-remaining-today``) is checked before each row, and rows that would run past it are skipped unsent, to be
sent on the next run.
"""

from __future__ import annotations

import re
from typing import Any

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
    SendContext,
)
from narrowcast.activation.destinations.etsy import inventory_request
from narrowcast.activation.destinations.listing_images import image_urls
from narrowcast.activation.destinations.listing_variations import variation_aspects
from narrowcast.apis import etsy
from narrowcast.apis.etsy import APPLICATION, MAX_LIMIT
from narrowcast.http import ApiError, FatalApiError, HttpClient

# createDraftListing: title "max length 140"; uploadListingImage: "up to 10 images".
MAX_TITLE = 140
MAX_IMAGES = 10
# createDraftListing tags: letters, numbers, whitespace, -, ', ™, ©, ® ("tags" field); 20 characters each.
_TAG = re.compile(r"(?:[^\W_]|[\s\-'™©®]){1,20}")
# Listing states a SKU can already be listed in; sold_out and expired listings are not revived by a create.
LOOKUP_STATES = ("draft", "active", "inactive")
# The most requests one row can take (create, image read, 10 uploads, inventory, state): below this many left
# today, a row is held back for the next run rather than left half-built.
CALLS_PER_ROW = 14
# The property ids of a seller's own variations (getListingInventory answers them for custom variations); Etsy
# takes two variation properties per listing unless the request opts into a third, which cannot be custom
# ("Third Variation Tutorial").
CUSTOM_PROPERTY_IDS = (513, 514)
MAX_VARIATIONS = 2
CONTENT_FIELDS = frozenset({"title", "description", "image_urls", "price", "quantity", "currency", "missing_reason",
                            "taxonomy_id", "tags", "brand", "gtin", "mpn", "condition", "aspects", "parent_sku",
                            "variant_skus", "varies_by"})


class EtsyListingContent(Destination):
    name = "etsy_listing_content"
    connection_id = etsy.CONNECTION_ID
    client_class = etsy.EtsyApi
    api_name = "etsy_listings"
    objects = {
        "listing": ObjectSpec(
            required_fields=frozenset({"sku", "title", "taxonomy_id", "price"}),
            optional_fields=CONTENT_FIELDS,
            # A product's variants share one listing and its one inventory, so they are sent together.
            group_field="parent_sku",
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # Up to 14 calls for a new listing; Etsy's default app allowance is 10 requests per second.
    limits = Limits(max_batch_size=20, default_rps=3.0, default_burst=3.0, max_concurrency=1)

    def __init__(self, context: SendContext) -> None:
        super().__init__(context)
        self._listed: dict[str, dict[str, Any]] | None = None
        self._drafts_by_tag: dict[str, dict[str, Any]] = {}

    @property
    def shop(self) -> str:
        return etsy.shop_id(self.context.connection)

    def send(self, batch: Batch) -> list[RowResult]:
        results: dict[str, RowResult] = {}
        variants: dict[str, list[Change]] = {}
        for change in batch.changes:
            if change.op != "remove" and change.payload.get("missing_reason"):
                results[change.key] = RowResult(change.key, "rejected",
                                                f"catalogue incomplete: {change.payload['missing_reason']}", sent=False)
            elif change.payload.get("parent_sku"):
                variants.setdefault(str(change.payload["parent_sku"]), []).append(change)
            elif self._day_used_up():
                results[change.key] = self._held_back(change)
            else:
                try:
                    results[change.key] = self._apply(change)
                except FatalApiError as exc:
                    results[change.key] = RowResult(change.key, "rejected", f"Etsy: {exc.message}")
        for parent, members in variants.items():
            if self._day_used_up():
                results.update({c.key: self._held_back(c) for c in members})
                continue
            try:
                results.update(self._apply_variants(parent, members))
            except FatalApiError as exc:
                results.update({c.key: RowResult(c.key, "rejected", f"Etsy, product {parent}: {exc.message}")
                                for c in members})
        return [results[c.key] for c in batch.changes]

    def _held_back(self, change: Change) -> RowResult:
        # Held back, not refused: nothing is wrong with the row, and the next run plans it again.
        return RowResult(change.key, "skipped", "Etsy's daily request allowance is used up "
                         f"({self.client.remaining_today} left); sent again on the next run", sent=False)

    def _day_used_up(self) -> bool:
        remaining = self.client.remaining_today
        return remaining is not None and remaining < CALLS_PER_ROW

    def _apply(self, change: Change) -> RowResult:
        sku = str(change.payload["sku"])
        listed = self.find(sku)
        if change.op == "remove":
            if listed is None or listed["state"] == "inactive":
                return RowResult(change.key, "accepted", sent=False, remote_id=_id(listed))
            self._update(listed["listing_id"], {"state": "inactive"})
            listed["state"] = "inactive"
            return RowResult(change.key, "accepted", remote_id=_id(listed))
        p = change.payload
        if listed is None:
            listed = self._create_draft(p)
            self.listed()[sku] = listed
            self._set_inventory(str(listed["listing_id"]), p)
        else:
            self._update(listed["listing_id"], self._content(p))
        listing_id = str(listed["listing_id"])
        in_stock = int(p.get("quantity") or 0) > 0
        if listed["state"] == "draft":
            # A new listing, or one a crash left half-built: finish what Etsy does not have yet.
            if not listed.get("new"):
                self._set_inventory(listing_id, p)
            self._upload_images(listing_id, image_urls(p.get("image_urls")), new=bool(listed.get("new")))
            if in_stock:
                self._update(listing_id, {"state": "active"})
                listed["state"] = "active"
        elif listed["state"] == "inactive" and change.op == "add" and in_stock:
            # A SKU back in the catalogue: its ended listing is reactivated rather than listed twice.
            self._update(listing_id, {"state": "active"})
            listed["state"] = "active"
        return RowResult(change.key, "accepted", remote_id=listing_id)

    def _apply_variants(self, parent: str, changes: list[Change]) -> dict[str, RowResult]:
        """One product's variant rows: its listing created or its inventory merged (see the module docstring)."""
        upserts = [c for c in changes if c.op != "remove"]
        try:
            products = {str(c.payload["sku"]): self._variant_product(c.payload) for c in upserts}
        except ValueError as exc:
            return {c.key: RowResult(c.key, "rejected", f"product {parent}: {exc}", sent=False) for c in changes}
        siblings = [str(c.payload["sku"]) for c in changes] + [
            sku for c in changes for sku in str(c.payload.get("variant_skus") or "").split("|") if sku]
        listed = self._find_product(parent, siblings)
        if listed is None:
            if not upserts:
                return {c.key: RowResult(c.key, "accepted", sent=False) for c in changes}
            lead = upserts[0].payload
            total = sum(int(c.payload.get("quantity") or 0) for c in upserts)
            listed = self._create_draft({**lead, "sku": parent, "quantity": total,
                                         "price": min(float(c.payload["price"]) for c in upserts)})
            inventory: dict[str, Any] = {}
        else:
            if upserts:
                self._update(listed["listing_id"], self._content(upserts[0].payload))
            inventory = self.client.get_json(f"{APPLICATION}/listings/{listed['listing_id']}/inventory") or {}
        listing_id = str(listed["listing_id"])
        for change in changes:
            self.listed()[str(change.payload["sku"])] = listed
        dropped = {str(c.payload["sku"]) for c in changes}
        kept = [p for p in inventory_request(inventory, {})["products"] if p["sku"] and p["sku"] not in dropped]
        body_products = kept + list(products.values())
        answered = {c.key: RowResult(c.key, "accepted", remote_id=listing_id) for c in changes}
        if not body_products:
            # Every variant left the catalogue: the listing ends, as a single SKU's does.
            if listed["state"] != "inactive":
                self._update(listing_id, {"state": "inactive"})
                listed["state"] = "inactive"
            return answered
        properties = sorted({v["property_id"] for p in body_products for v in p["property_values"]})
        body = {"products": body_products, "price_on_property": properties, "quantity_on_property": properties,
                "sku_on_property": properties}
        self.client.request("PUT", f"{APPLICATION}/listings/{listing_id}/inventory", json=body)
        in_stock = any(o["quantity"] > 0 for p in body_products for o in p["offerings"])
        if listed["state"] == "draft" and upserts:
            self._upload_images(listing_id, image_urls(upserts[0].payload.get("image_urls")),
                                new=bool(listed.get("new")))
        if listed["state"] in ("draft", "inactive") and in_stock and (listed["state"] == "draft" or
                                                                      any(c.op == "add" for c in upserts)):
            self._update(listing_id, {"state": "active"})
            listed["state"] = "active"
        return answered

    def _find_product(self, parent: str, skus: list[str]) -> dict[str, Any] | None:
        """The listing of a product: the one holding any of its variant SKUs (those of this batch first, then the
        rest of ``variant_skus``), else its draft by the parent's tag."""
        listed = self.listed()
        return next((listed[s] for s in skus if s in listed), None) or self._drafts_by_tag.get(parent.lower())

    def _variant_product(self, p: Any) -> dict[str, Any]:
        """A variant row as an updateListingInventory product: its SKU, its property values, one offering."""
        varies_by, aspects = variation_aspects(
            p, marketplace="Etsy", limit=MAX_VARIATIONS,
            limit_text=f"Etsy takes at most {MAX_VARIATIONS} variation properties")
        values = []
        for property_id, name in zip(CUSTOM_PROPERTY_IDS, sorted(varies_by), strict=False):
            value = aspects.get(name)
            if value in (None, ""):
                raise ValueError(f"variant {p['sku']} has no {name} value")
            values.append({"property_id": property_id, "property_name": name, "values": [str(value)]})
        offering: dict[str, Any] = {"price": float(p["price"]), "quantity": int(p.get("quantity") or 0),
                                    "is_enabled": True}
        readiness = self.context.connection.extra.get("readiness_state_id")
        if readiness:
            offering["readiness_state_id"] = int(readiness)
        return {"sku": str(p["sku"]), "property_values": values, "offerings": [offering]}

    # ---- reads ----------------------------------------------------------------------------------------------
    def listed(self) -> dict[str, dict[str, Any]]:
        """SKU → listing (``listing_id``, ``state``) for every draft, active and inactive listing of the shop,
        read once per run. A listing is found by the SKUs of its inventory; a draft without any (a crash came
        between createDraftListing and updateListingInventory) by its SKU tag, compared without case since
        Etsy may store tags in lower case."""
        if self._listed is None:
            by_sku: dict[str, dict[str, Any]] = {}
            by_tag: dict[str, dict[str, Any]] = {}
            for state in LOOKUP_STATES:
                offset = 0
                while True:
                    page = self.client.get_json(f"{APPLICATION}/shops/{self.shop}/listings",
                                                params={"state": state, "limit": MAX_LIMIT, "offset": offset}) or {}
                    results = page.get("results") or []
                    for listing in results:
                        found = {"listing_id": listing["listing_id"], "state": listing.get("state", state)}
                        for sku in listing.get("skus") or []:
                            by_sku.setdefault(str(sku), found)
                        if not listing.get("skus") and found["state"] == "draft":
                            for tag in listing.get("tags") or []:
                                by_tag.setdefault(str(tag).lower(), found)
                    offset += len(results)
                    if not results or offset >= int(page.get("count") or 0):
                        break
            self._listed, self._drafts_by_tag = by_sku, by_tag
        return self._listed

    def find(self, sku: str) -> dict[str, Any] | None:
        return self.listed().get(sku) or self._drafts_by_tag.get(sku.lower())

    # ---- writes ---------------------------------------------------------------------------------------------
    def _create_draft(self, p: dict[str, Any]) -> dict[str, Any]:
        extra = self.context.connection.extra
        form = {"quantity": str(max(1, int(p.get("quantity") or 0))), "price": f"{float(p['price']):.2f}",
                "who_made": str(extra.get("who_made") or "someone_else"),
                "when_made": str(extra.get("when_made") or "made_to_order"), "is_supply": "false",
                "type": "physical", "shipping_profile_id": str(self.context.connection.require("shipping_profile_id")),
                **self._content(p)}
        if extra.get("return_policy_id"):
            form["return_policy_id"] = str(extra["return_policy_id"])
        sku = str(p["sku"])
        if _TAG.fullmatch(sku):
            form["tags"] = sku
        created = self.client.request("POST", f"{APPLICATION}/shops/{self.shop}/listings", data=form).json()
        return {"listing_id": created["listing_id"], "state": created.get("state", "draft"), "new": True}

    @staticmethod
    def _content(p: dict[str, Any]) -> dict[str, str]:
        # createDraftListing requires a description; the mart flags an empty one before it gets here.
        return {"title": str(p["title"])[:MAX_TITLE], "description": str(p.get("description") or ""),
                "taxonomy_id": str(p["taxonomy_id"])}

    def _update(self, listing_id: Any, form: dict[str, str]) -> None:
        self.client.request("PATCH", f"{APPLICATION}/shops/{self.shop}/listings/{listing_id}", data=form)

    def _upload_images(self, listing_id: str, urls: list[str], *, new: bool) -> None:
        path = f"{APPLICATION}/shops/{self.shop}/listings/{listing_id}/images"
        # Only a draft a crash left behind can hold images already; one created in this run has none to count.
        have = 0 if new else int((self.client.get_json(path) or {}).get("count") or 0)
        for rank, url in enumerate(urls[:MAX_IMAGES], start=1):
            if rank <= have:  # uploaded before a crash
                continue
            image = self._download(url)
            body, headers = etsy.image_form(url.rsplit("/", 1)[-1] or f"{rank}.jpg", image, rank=str(rank))
            self.client.request("POST", path, data=body, headers=headers)

    def _download(self, url: str) -> bytes:
        """The image the merchant hosts; no Etsy credential goes to that host."""
        host = HttpClient(url, api_name="catalogue image host", timeout=self.client.timeout, retry=self.client.retry,
                          sleep=self.context.sleep)
        try:
            return host.request("GET", url).content
        except ApiError as exc:
            raise FatalApiError(self.api_name, "GET", url, exc.status, f"image {url} could not be read: "
                                f"{exc.message}") from exc

    def _set_inventory(self, listing_id: str, p: dict[str, Any]) -> None:
        offering: dict[str, Any] = {"price": float(p["price"]), "quantity": int(p.get("quantity") or 0),
                                    "is_enabled": True}
        readiness = self.context.connection.extra.get("readiness_state_id")
        if readiness:
            offering["readiness_state_id"] = int(readiness)
        body = {"products": [{"sku": str(p["sku"]), "property_values": [], "offerings": [offering]}],
                "price_on_property": [], "quantity_on_property": [], "sku_on_property": []}
        self.client.request("PUT", f"{APPLICATION}/listings/{listing_id}/inventory", json=body)


def _id(listed: dict[str, Any] | None) -> str | None:
    return str(listed["listing_id"]) if listed else None

