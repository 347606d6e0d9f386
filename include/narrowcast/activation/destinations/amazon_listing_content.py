"""Amazon listing creation from the catalogue: product type attributes, validated before they are sent.

Connection ``narrowcast_amazon`` (as for stock): extra ``seller_id``, ``marketplace_id``, ``language_tag``
(default ``en_US``). A new SKU is created with ``putListingsItem`` (requirements ``LISTING``), a content change
is sent as ``patchListingsItem`` replacing the attributes that differ, a SKU that left the catalogue is removed
with ``deleteListingsItem`` (Listings Items 2021-08-01). Listings Items addresses a listing by seller and SKU, so
every accepted create or update answers the SKU as the listing's id (``RowResult.remote_id``).

Before anything is sent, the attributes are validated against the JSON Schema that Product Type Definitions
(``getDefinitionsProductType``, 2020-09-01) links in ``schema.link.resource`` for the row's product type: a
missing or malformed attribute is a rejection naming its path (``$.attributes.brand``) and the schema's message,
and the listing is never sent. The definition is asked for once per product type and run; the schema document
is downloaded only when its ``checksum`` is new to this process.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import quote

import jsonschema

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
    SendContext,
)
from narrowcast.apis import amazon
from narrowcast.apis.amazon import DEFINITIONS, LISTINGS
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError

# The condition words of the catalogue, as condition_type values of the product type schemas.
CONDITIONS = {"new": "new_new", "used": "used_good", "like_new": "used_like_new", "refurbished": "refurbished_refurbished"}
# Schema documents by checksum: the same product type version is never downloaded twice by one process.
_SCHEMAS: dict[str, dict[str, Any]] = {}
_SCHEMAS_LOCK = threading.Lock()


class AmazonListingContent(Destination):
    name = "amazon_listing_content"
    connection_id = amazon.CONNECTION_ID
    client_class = amazon.SellingPartnerApi
    api_name = "amazon_sp_api"
    objects = {
        "listing": ObjectSpec(
            required_fields=frozenset({"sku", "product_type", "title"}),
            optional_fields=frozenset({"description", "brand", "gtin", "mpn", "condition", "image_urls", "aspects",
                                       "price", "currency", "quantity", "missing_reason"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # One PUT or PATCH per listing, at their usage plan (5 per second).
    limits = Limits(max_batch_size=100, default_rps=amazon.USAGE_PLANS["putListingsItem"].rate,
                    default_burst=float(amazon.USAGE_PLANS["putListingsItem"].burst), max_concurrency=1)

    def __init__(self, context: SendContext) -> None:
        super().__init__(context)
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json"}}

    @property
    def seller_id(self) -> str:
        return str(self.context.connection.require("seller_id"))

    @property
    def marketplace_id(self) -> str:
        return str(self.context.connection.require("marketplace_id"))

    def send(self, batch: Batch) -> list[RowResult]:
        return [self._send(change) for change in batch.changes]

    def _send(self, change: Change) -> RowResult:
        sku = str(change.payload["sku"])
        path = f"{LISTINGS}/{quote(self.seller_id, safe='')}/{quote(sku, safe='')}"
        params = {"marketplaceIds": self.marketplace_id, "includedData": "issues"}
        if change.op == "remove":
            try:
                self.client.request("DELETE", path, params={"marketplaceIds": self.marketplace_id})
            except FatalApiError as exc:
                if exc.status != 404:  # already gone counts as removed
                    return RowResult(change.key, "rejected", f"Amazon refused the delete: {exc.message}")
            return RowResult(change.key, "accepted")
        product_type = change.payload.get("product_type")
        if not product_type:
            reason = change.payload.get("missing_reason") or "no Amazon productType mapped for the category"
            return RowResult(change.key, "rejected", f"catalogue incomplete: {reason}", sent=False)
        attributes = self.attributes(change.payload)
        problems = self.validate(str(product_type), attributes)
        if problems:
            return RowResult(change.key, "rejected", "refused to send, product type schema: " + "; ".join(problems),
                             sent=False)
        try:
            if change.op == "add":
                body: dict[str, Any] = {"productType": product_type, "requirements": "LISTING",
                                        "attributes": attributes}
                answer = self.client.request("PUT", path, params=params, json=body).json()
            else:
                before = self.attributes(change.previous or {})
                patches = [{"op": "replace", "path": f"/attributes/{name}", "value": value}
                           for name, value in attributes.items() if before.get(name) != value]
                patches += [{"op": "delete", "path": f"/attributes/{name}"} for name in before if name not in attributes]
                if not patches:
                    return RowResult(change.key, "accepted", sent=False, remote_id=sku)
                answer = self.client.request("PATCH", path, params=params,
                                             json={"productType": product_type, "patches": patches}).json()
        except FatalApiError as exc:
            if exc.status in (400, 404):
                return RowResult(change.key, "rejected", f"Amazon refused the listing: {exc.message}")
            raise
        if answer.get("status") == "ACCEPTED":
            return RowResult(change.key, "accepted", remote_id=sku)
        issues = [f"{i.get('code')} {','.join(i.get('attributeNames') or [])}: {i.get('message')}"
                  for i in answer.get("issues", []) if i.get("severity") == "ERROR"]
        return RowResult(change.key, "rejected", f"Amazon {answer.get('status')}: {'; '.join(issues) or 'no detail'}")

    def attributes(self, p: Any) -> dict[str, Any]:
        """The product type attributes of one catalogue row, in the Listings Items attribute shape."""
        if not p:
            return {}
        marketplace = self.marketplace_id
        language = str(self.context.connection.extra.get("language_tag", "en_US"))

        def text(value: Any) -> list[dict[str, Any]]:
            return [{"value": str(value), "language_tag": language, "marketplace_id": marketplace}]

        out: dict[str, Any] = {}
        for field, attribute in (("title", "item_name"), ("brand", "brand"), ("description", "product_description")):
            if p.get(field):
                out[attribute] = text(p[field])
        if p.get("mpn"):
            out["part_number"] = [{"value": str(p["mpn"]), "marketplace_id": marketplace}]
        if p.get("gtin"):
            out["externally_assigned_product_identifier"] = [
                {"type": "ean", "value": str(p["gtin"]), "marketplace_id": marketplace}]
        if p.get("price") is not None and p.get("currency"):
            out["list_price"] = [{"currency": str(p["currency"]), "value": float(p["price"]),
                                  "marketplace_id": marketplace}]
        if p.get("condition"):
            condition = str(p["condition"]).lower()
            out["condition_type"] = [{"value": CONDITIONS.get(condition, condition), "marketplace_id": marketplace}]
        images = [part.strip() for part in str(p.get("image_urls") or "").split("|") if part.strip()]
        if images:
            out["main_product_image_locator"] = [{"media_location": images[0], "marketplace_id": marketplace}]
        aspects = p.get("aspects")
        for name, value in (json.loads(aspects) if isinstance(aspects, str) and aspects else aspects or {}).items():
            out[str(name)] = text(value)
        return out

    def validate(self, product_type: str, attributes: dict[str, Any]) -> list[str]:
        """Each violation of the product type's schema as ``$.attributes<path>: message``; empty when valid."""
        validator = self._validator(product_type)
        problems = []
        for error in sorted(validator.iter_errors(attributes), key=lambda e: e.json_path):
            where = error.json_path.replace("$", "$.attributes", 1)
            if error.validator == "required":
                # jsonschema reports each missing property as its own error, naming it only in the message.
                missing = next((name for name in error.validator_value
                                if name not in error.instance and f"{name!r}" in error.message), None)
                where = f"{where}.{missing}" if missing else where
            problems.append(f"{where}: {error.message}")
        return problems

    def _validator(self, product_type: str) -> jsonschema.protocols.Validator:
        if product_type not in self._validators:
            definition = self.client.get_json(f"{DEFINITIONS}/{quote(product_type, safe='')}", params={
                "marketplaceIds": self.marketplace_id, "requirements": "LISTING",
                "requirementsEnforced": "ENFORCED", "locale": "DEFAULT"})
            link = definition["schema"]["link"]["resource"]
            checksum = str(definition["schema"].get("checksum") or link)
            with _SCHEMAS_LOCK:
                schema = _SCHEMAS.get(checksum)
            if schema is None:
                # The link is a pre-signed S3 URL: fetched without the SP-API headers.
                schema = self.client.download_document({"url": link})
                with _SCHEMAS_LOCK:
                    _SCHEMAS[checksum] = schema
            # Product type schemas declare draft 2019-09 with Amazon's own keywords, which validation ignores.
            self._validators[product_type] = jsonschema.Draft201909Validator(schema)
        return self._validators[product_type]
