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
throttling is the Shopify client's (cost bucket from ``extensions.cost``).

Variants (rows with ``parent_sku``; the object's ``group_field``, so a product's rows travel in one batch) become
one product with variants: ``productOptions`` are the aspects the mart's ``varies_by`` names (at most 3 options,
2,048 variants a product: productSet's OPTIONS_OVER_LIMIT / VARIANTS_OVER_LIMIT, and the 2048-variant changelog),
each variant gives its value of every option from its ``aspects``, its price and its SKU. productSet replaces the
variant list whole, so the search asks for every SKU of the product (``variant_skus``) and a variant not in this
batch is sent back as the shop has it (id, option values, price): a later batch adding, changing or removing one
variant leaves the others as they are. The product's handle comes from the parent SKU; a product with no variant
left is ARCHIVED. Every variant row answers its own inventory item id, so ``stock_shop`` sets each variant's stock.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from typing import Any

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.activation.destinations.listing_images import image_urls
from narrowcast.activation.destinations.listing_variations import variation_aspects
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
# The same search for a batch with variants, which sends back the variants it does not change as the shop has them.
# Each node costs one more point for its option list, so the page is halved to stay under the 1,000-point query
# maximum (https://shopify.dev/docs/api/usage/limits).
FIND_VARIANTS_WITH_OPTIONS = FIND_VARIANTS.replace("nodes { id sku ", "nodes { id sku price selectedOptions { name value } ")
VARIANT_PAGE = PAGE // 2
PRODUCT_SET = """mutation catalogueProduct($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { id handle status variants(first: 250) { nodes { id sku inventoryItem { id } } } }
    userErrors { field message code }
  }
}"""
CONTENT_FIELDS = frozenset({"title", "description", "brand", "image_urls", "product_type", "price",
                            "missing_reason", "currency", "quantity", "parent_sku", "variant_skus", "varies_by",
                            "aspects"})
# "Options over limit" (ProductSetUserErrorCode OPTIONS_OVER_LIMIT): a product has at most three options.
MAX_OPTIONS = 3


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
            # A product's variants are one productSet, so they are sent together.
            group_field="parent_sku",
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
        variants: dict[str, list[Change]] = {}
        for change in batch.changes:
            if change.op != "remove" and change.payload.get("missing_reason"):
                results[change.key] = RowResult(change.key, "rejected",
                                                f"catalogue incomplete: {change.payload['missing_reason']}", sent=False)
            elif change.payload.get("parent_sku"):
                variants.setdefault(str(change.payload["parent_sku"]), []).append(change)
            else:
                pending.append(change)
        if pending or variants:
            siblings = [sku for members in variants.values() for c in members
                        for sku in str(c.payload.get("variant_skus") or "").split("|") if sku]
            found = self._find(sorted({*(str(c.payload["sku"]) for c in batch.changes), *siblings}),
                               with_options=bool(variants))
            for change in pending:
                results[change.key] = self._apply(change, found.get(str(change.payload["sku"])))
            for parent, members in variants.items():
                results.update(self._apply_variants(parent, members, found))
        return [results[c.key] for c in batch.changes]

    def _apply_variants(self, parent: str, changes: list[Change],
                        found: dict[str, dict[str, Any]]) -> dict[str, RowResult]:
        """One product's variant rows as one productSet of the whole product (see the module docstring)."""
        out: dict[str, RowResult] = {}
        mine = []
        for change in changes:
            variant = found.get(str(change.payload["sku"]))
            if variant is not None and not _ours(variant):
                out[change.key] = RowResult(change.key, "skipped", f"the shop already sells SKU "
                                            f"{change.payload['sku']} on its own product {variant['product']['id']}: "
                                            "left as it is", sent=False)
            else:
                mine.append(change)
        if not mine:
            return out
        skus = {str(c.payload["sku"]) for c in mine}
        names = {sku for c in mine for sku in str(c.payload.get("variant_skus") or "").split("|") if sku} | skus
        existing = [found[s] for s in sorted(names) if s in found and _ours(found[s])]
        product = existing[0]["product"] if existing else None
        upserts = [c for c in mine if c.op != "remove"]
        removed = {str(c.payload["sku"]) for c in mine if c.op == "remove"}
        kept = [v for v in existing if v["sku"] not in skus and v["sku"] not in removed
                and v["product"]["id"] == (product or {}).get("id")]
        if not upserts and not kept:
            if product is None:
                return {**out, **{c.key: RowResult(c.key, "accepted") for c in mine}}
            answered = self._product_set(mine[0], {"status": "ARCHIVED"}, {"id": product["id"]})
            return {**out, **{c.key: answered._replace(key=c.key, remote_id=None) for c in mine}}
        try:
            data = self._variant_input(parent, upserts, kept, product, found)
        except ValueError as exc:
            return {**out, **{c.key: RowResult(c.key, "rejected", f"product {parent}: {exc}", sent=False)
                              for c in mine}}
        identifier = {"id": product["id"]} if product else {"handle": handle_for(parent)}
        try:
            answer = self.client.graphql(PRODUCT_SET, {"input": data, "identifier": identifier})["productSet"]
        except FatalApiError as exc:
            return {**out, **{c.key: RowResult(c.key, "rejected", f"Shopify: {exc.message}") for c in mine}}
        if answer.get("userErrors"):
            reason = f"Shopify productSet: {user_error_messages(answer['userErrors'])}"
            return {**out, **{c.key: RowResult(c.key, "rejected", reason) for c in mine}}
        items = {str(n.get("sku")): gid_number((n.get("inventoryItem") or {}).get("id"))
                 for n in ((answer.get("product") or {}).get("variants") or {}).get("nodes") or []}
        for change in mine:
            sku = str(change.payload["sku"])
            if change.op == "remove":
                out[change.key] = RowResult(change.key, "accepted")
            elif items.get(sku) is None:
                out[change.key] = RowResult(change.key, "rejected", f"Shopify productSet answered no variant {sku}")
            else:
                out[change.key] = RowResult(change.key, "accepted", remote_id=str(items[sku]))
        return out

    def _variant_input(self, parent: str, upserts: list[Change], kept: list[dict[str, Any]],
                       product: dict[str, Any] | None, found: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """productSet's input for a product with options: every variant it keeps, each with all its option values."""
        lead = (upserts[0].payload if upserts else {})
        given_variants: list[dict[str, Any]] = []
        values: dict[str, list[str]] = {}
        for change in upserts:
            p = change.payload
            varies_by, aspects = variation_aspects(
                p, marketplace="the shop", limit=MAX_OPTIONS,
                limit_text=f"a Shopify product has at most {MAX_OPTIONS} options")
            option_values = []
            for name in sorted(varies_by):
                value = aspects.get(name)
                if value in (None, ""):
                    raise ValueError(f"variant {p['sku']} has no {name} value")
                option_values.append({"optionName": name, "name": str(value)})
            variant = {"optionValues": option_values, "price": f"{float(p['price']):.2f}",
                       "inventoryItem": {"sku": str(p["sku"]), "tracked": True}}
            earlier = found.get(str(p["sku"]))
            if earlier is not None and _ours(earlier):
                variant["id"] = earlier["id"]
            given_variants.append(variant)
        for variant in kept:
            given_variants.append({"id": variant["id"], "price": str(variant.get("price") or "0.00"),
                                   "optionValues": [{"optionName": o["name"], "name": o["value"]}
                                                    for o in variant.get("selectedOptions") or []],
                                   "inventoryItem": {"sku": variant["sku"], "tracked": True}})
        for variant in given_variants:
            for value in variant["optionValues"]:
                listed = values.setdefault(value["optionName"], [])
                if value["name"] not in listed:
                    listed.append(value["name"])
        if len(values) > MAX_OPTIONS:
            raise ValueError(f"its variants name {len(values)} options; a Shopify product has at most {MAX_OPTIONS}")
        tags = sorted({*((product or {}).get("tags") or []), OWN_TAG})
        data: dict[str, Any] = {"status": "ACTIVE", "tags": tags, "variants": given_variants,
                                "productOptions": [{"name": name, "values": [{"name": v} for v in sorted(listed)]}
                                                   for name, listed in sorted(values.items())]}
        if lead:
            data.update({"title": str(lead["title"]), "descriptionHtml": _html(lead.get("description"))})
            if lead.get("brand"):
                data["vendor"] = str(lead["brand"])
            if lead.get("product_type"):
                data["productType"] = str(lead["product_type"])
            previous = upserts[0].previous or {}
            if product is None or previous.get("image_urls") != lead.get("image_urls"):
                data["files"] = [{"originalSource": url, "contentType": "IMAGE", "alt": str(lead["title"])[:512]}
                                 for url in image_urls(lead.get("image_urls"))]
        if product is None:
            data["handle"] = handle_for(parent)
        return data

    def _find(self, skus: list[str], *, with_options: bool = False) -> dict[str, dict[str, Any]]:
        """SKU → the variant the shop holds for it (one of Narrowcast's own products first)."""
        data = self.client.graphql(FIND_VARIANTS_WITH_OPTIONS if with_options else FIND_VARIANTS,
                                   {"query": search_terms("sku", skus), "first": VARIANT_PAGE if with_options else PAGE})
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
