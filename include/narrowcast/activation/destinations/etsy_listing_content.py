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
call; a variant row (``parent_sku``) is skipped, as a listing per size would have to be merged into one variation
listing later.

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
from narrowcast.activation.destinations.listing_images import image_urls
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
        results = []
        for change in batch.changes:
            if change.op != "remove" and change.payload.get("missing_reason"):
                results.append(RowResult(change.key, "rejected",
                                         f"catalogue incomplete: {change.payload['missing_reason']}", sent=False))
                continue
            if change.op != "remove" and change.payload.get("parent_sku"):
                # One listing per variant would have to be merged into a variation listing later; until variation
                # listings are built, such rows wait, visibly, rather than list each size on its own.
                results.append(RowResult(change.key, "skipped", "a variant of a product (parent_sku "
                                         f"{change.payload['parent_sku']}): variation listings are not created on "
                                         "Etsy yet", sent=False))
                continue
            if self._day_used_up():
                # Held back, not refused: nothing is wrong with the row, and the next run plans it again.
                results.append(RowResult(change.key, "skipped", "Etsy's daily request allowance is used up "
                                         f"({self.client.remaining_today} left); sent again on the next run",
                                         sent=False))
                continue
            try:
                results.append(self._apply(change))
            except FatalApiError as exc:
                results.append(RowResult(change.key, "rejected", f"Etsy: {exc.message}"))
        return results

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

