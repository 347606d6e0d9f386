"""The merchant's own shop: products created from the catalogue file with GraphQL ``productSet``.

Connection ``narrowcast_shopify`` (as for inventory; scopes ``read_products write_products``). Rows come from
``marketplace_listing_content`` for marketplace ``shop`` and ``content_source = 'catalogue_file'``: SKUs a
catalogue file names. The shop's own catalogue is never touched: each batch first searches its SKUs
(``productVariants(query: "sku:... OR sku:...")``) and a SKU the shop already sells on a product Narrowcast did
not create (it carries no ``narrowcast-catalogue`` tag) is skipped with that reason, every run, unsent.

A new SKU: one ``productSet`` (synchronous, the default: the answer holds the product) with the title,
``descriptionHtml``, vendor, product type (seed ``listing_category_map``), status ``ACTIVE``, the tag, a single
default variant (``productOptions`` Title/Default Title, as productSet requires options with variants) carrying
the SKU on its inventory item and the price, and the images as ``files`` by URL (Shopify fetches them). Shopify
has no idempotency key for productSet, so the product is upserted by a handle derived from the SKU
(``identifier: {handle}``, ProductSetIdentifiers): a re-run after a crash updates the product the first run made,
even before search sees it. A content change sends the same input to the product found by SKU (its variant by
id, so the inventory item stays; images only when they changed). A SKU that left the catalogue file has its
product set ``ARCHIVED``: it leaves the storefront, its orders and history stay, and a return makes it ACTIVE
again. Every accepted row answers the variant's inventory item id, which ``stock_shop`` addresses as
``inventory_item_id``. ``userErrors`` (``field``, ``message``, ``code``) reject the row with Shopify's words;
throttling is the Shopify client's (cost bucket from ``extensions.cost``). A variant row (``parent_sku``) is
skipped unsent: one product per size would have to be merged into a product with options later.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from typing import Any

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.activation.destinations.listing_images import image_urls
from narrowcast.apis import shopify
from narrowcast.apis.shopify import gid_number, search_terms, user_error_messages
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError

# Products this sync made carry this tag; only they are ever changed or archived.
OWN_TAG = "narrowcast-catalogue"
# Search and page size: a connection returns at most 250 nodes (https://shopify.dev/docs/api/usage/pagination-graphql).
PAGE = 250
DEFAULT_OPTION = {"name": "Title", "values": [{"name": "Default Title"}]}
DEFAULT_VALUE = [{"optionName": "Title", "name": "Default Title"}]
FIND_VARIANTS = """query catalogueVariants($query: String!, $first: Int!) {
  productVariants(first: $first, query: $query) {
    nodes { id sku inventoryItem { id } product { id handle status tags } }
  }
}"""
PRODUCT_SET = """mutation catalogueProduct($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { id handle status variants(first: 1) { nodes { id sku inventoryItem { id } } } }
    userErrors { field message code }
  }
}"""
CONTENT_FIELDS = frozenset({"title", "description", "brand", "image_urls", "product_type", "price",
                            "missing_reason", "currency", "quantity", "parent_sku"})


def handle_for(sku: str) -> str:
    """The product handle a SKU is upserted by: readable, and unique even where two SKUs slug alike."""
    slug = re.sub(r"[^a-z0-9]+", "-", sku.lower()).strip("-")
    if slug != sku.lower():
        slug = f"{slug}-{hashlib.sha256(sku.encode()).hexdigest()[:8]}"
    return f"narrowcast-{slug}"


class ShopifyProducts(Destination):
    name = "shopify_products"
    connection_id = shopify.CONNECTION_ID
    client_class = shopify.ShopifyApi
    api_name = "shopify_admin"
    objects = {
        "product": ObjectSpec(
            required_fields=frozenset({"sku", "title", "price"}),
            optional_fields=CONTENT_FIELDS,
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # One search per batch (its cost grows with the page) and one 10-point productSet per row; 5 requests/s is
    # what the lowest published restore rate (50 points/s) sustains, the client waits on the reported bucket.
    limits = Limits(max_batch_size=PAGE, default_rps=5.0, default_burst=5.0, max_concurrency=2)

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json"}}

    def send(self, batch: Batch) -> list[RowResult]:
        results: dict[str, RowResult] = {}
        pending = []
        for change in batch.changes:
            if change.op != "remove" and change.payload.get("missing_reason"):
                results[change.key] = RowResult(change.key, "rejected",
                                                f"catalogue incomplete: {change.payload['missing_reason']}", sent=False)
            elif change.op != "remove" and change.payload.get("parent_sku"):
                # A product per variant would have to be merged into one product with options later; until
                # multi-variant products are built, such rows wait, visibly.
                results[change.key] = RowResult(change.key, "skipped", "a variant of a product (parent_sku "
                                                f"{change.payload['parent_sku']}): products with several variants are "
                                                "not created yet", sent=False)
            else:
                pending.append(change)
        if pending:
            found = self._find([str(c.payload["sku"]) for c in pending])
            for change in pending:
                results[change.key] = self._apply(change, found.get(str(change.payload["sku"])))
        return [results[c.key] for c in batch.changes]

    def _find(self, skus: list[str]) -> dict[str, dict[str, Any]]:
        """SKU → the variant the shop holds for it (one of Narrowcast's own products first)."""
        data = self.client.graphql(FIND_VARIANTS, {"query": search_terms("sku", skus), "first": PAGE})
        found: dict[str, dict[str, Any]] = {}
        wanted = set(skus)
        for node in (data.get("productVariants") or {}).get("nodes") or []:
            sku = str(node.get("sku") or "")
            if sku in wanted and (sku not in found or _ours(node)):
                found[sku] = node
        return found

    def _apply(self, change: Change, variant: dict[str, Any] | None) -> RowResult:
        sku = str(change.payload["sku"])
        if variant is not None and not _ours(variant):
            return RowResult(change.key, "skipped", f"the shop already sells SKU {sku} on its own product "
                             f"{variant['product']['id']}: left as it is", sent=False)
        if change.op == "remove":
            if variant is None:
                return RowResult(change.key, "accepted")  # nothing of ours to archive
            return self._product_set(change, {"status": "ARCHIVED"}, {"id": variant["product"]["id"]})
        identifier = {"id": variant["product"]["id"]} if variant else {"handle": handle_for(sku)}
        return self._product_set(change, self._input(change, variant), identifier)

    def _input(self, change: Change, variant: dict[str, Any] | None) -> dict[str, Any]:
        p = change.payload
        sku = str(p["sku"])
        given: dict[str, Any] = {"optionValues": DEFAULT_VALUE, "price": f"{float(p['price']):.2f}",
                                 "inventoryItem": {"sku": sku, "tracked": True}}
        tags = [OWN_TAG]
        if variant is not None:
            given["id"] = variant["id"]
            # tags is a list field and replaced whole: the merchant's own tags on the product stay
            tags = sorted({*(variant["product"].get("tags") or []), OWN_TAG})
        data: dict[str, Any] = {
            "title": str(p["title"]), "descriptionHtml": _html(p.get("description")),
            "status": "ACTIVE", "tags": tags, "productOptions": [DEFAULT_OPTION], "variants": [given],
        }
        if p.get("brand"):
            data["vendor"] = str(p["brand"])
        if p.get("product_type"):
            data["productType"] = str(p["product_type"])
        if variant is None:
            data["handle"] = handle_for(sku)
        previous = change.previous or {}
        if change.op == "add" or previous.get("image_urls") != p.get("image_urls"):
            # files is a list field: what is given replaces the product's files, so it goes only when it changed.
            data["files"] = [{"originalSource": url, "contentType": "IMAGE", "alt": str(p["title"])[:512]}
                             for url in image_urls(p.get("image_urls"))]
        return data

    def _product_set(self, change: Change, data: dict[str, Any], identifier: Mapping[str, Any]) -> RowResult:
        try:
            answer = self.client.graphql(PRODUCT_SET, {"input": data, "identifier": dict(identifier)})["productSet"]
        except FatalApiError as exc:
            return RowResult(change.key, "rejected", f"Shopify: {exc.message}")
        if answer.get("userErrors"):
            return RowResult(change.key, "rejected", f"Shopify productSet: {user_error_messages(answer['userErrors'])}")
        nodes = ((answer.get("product") or {}).get("variants") or {}).get("nodes") or []
        item = gid_number((nodes[0].get("inventoryItem") or {}).get("id")) if nodes else None
        if item is None:
            return RowResult(change.key, "rejected", "Shopify productSet answered no variant inventory item")
        return RowResult(change.key, "accepted", remote_id=str(item))


def _ours(variant: Mapping[str, Any]) -> bool:
    return OWN_TAG in ((variant.get("product") or {}).get("tags") or [])


def _html(text: Any) -> str:
    """Plain catalogue text as the HTML productSet's descriptionHtml takes: escaped, one paragraph per blank line."""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", str(text or "")) if part.strip()]
    return "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in paragraphs)
