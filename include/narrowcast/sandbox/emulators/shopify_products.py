"""Emulator of Shopify's GraphQL product writes: the ``productSet`` mutation and the ``productVariants`` SKU search.

Answers the shop's ``POST /admin/api/{version}/graphql.json`` (:mod:`.shopify_graphql` checks the token and
dispatches) for documents whose root fields are ``productSet`` or ``productVariants``; the query cost and the
cost bucket are :mod:`.shopify_graphql`'s (a mutation 10 points, a connection 2 + page size × node cost,
``THROTTLED`` with ``extensions.cost`` when the bucket cannot pay, ``MAX_COST_EXCEEDED`` above 1,000 points).

``productSet(input:, identifier:, synchronous:)`` (https://shopify.dev/docs/api/admin-graphql/latest/mutations/productSet):
``identifier`` ``{id}`` updates that product, ``{handle}`` updates the product with that handle or creates it
(ProductSetIdentifiers, "Handle of product to upsert"); without one, a new product is created. Omitted fields stay
as they are; a list field that is given (``variants``, ``productOptions``, ``files``, ``tags``) replaces the
list: variants are matched by ``id`` or by their option values and keep their ids and inventory items, the others
are deleted. Refusals are ``userErrors`` (ProductSetUserError: ``field``, ``message``, ``code`` from
ProductSetUserErrorCode): ``PRODUCT_DOES_NOT_EXIST``, ``MISSING_FIELD_REQUIRED`` (a new product without a
title), ``PRODUCT_OPTIONS_INPUT_MISSING`` (variants without ``productOptions``), ``OPTION_VALUES_MISSING``,
``OPTION_VALUE_DOES_NOT_EXIST``, ``HANDLE_NOT_UNIQUE`` and ``INVALID_VARIANT`` (a price that is not a decimal, or
two variants with the same option values), ``DUPLICATED_OPTION_NAME``, ``DUPLICATED_OPTION_VALUE``,
``OPTIONS_OVER_LIMIT`` ("Options over limit": more than three options) and ``VARIANTS_OVER_LIMIT`` ("Number of
product variants exceeds shop limit": 2,048 since the changelog "The product variant limit is now 2048 for all
merchants"); a variant must give a value for every option (``OPTION_VALUES_MISSING``).
Only the synchronous mode is emulated (the default; the asynchronous one answers a ProductSetOperation to poll).

``productVariants(first:, query:)`` answers the variants whose SKU matches the ``sku:`` terms of the search
query (https://shopify.dev/docs/api/usage/search-syntax; terms joined by ``OR``, values quoted or bare), each with
its ``inventoryItem`` and ``product``. The shop's own products come from the world's ``products`` table
(:meth:`seed_product` in tests); every product ``productSet`` creates gets an inventory item that the inventory
emulator, when mounted, knows too, so the stock sync can set its quantity.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.shopify import ShopifyErrors
from narrowcast.sandbox.emulators.shopify_graphql import (
    MAX_QUERY_COST,
    MUTATION_COST,
    CostBucket,
    GraphQLSyntaxError,
    Selection,
    add_graphql_route,
    graphql_error,
    parse,
    requested_cost,
    throttled,
)
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

MAX_PAGE = 250  # "first" above this is refused (https://shopify.dev/docs/api/usage/pagination-graphql)
PRODUCT_STATUSES = frozenset({"ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED"})
# ProductSetUserErrorCode OPTIONS_OVER_LIMIT: a product has at most three options; VARIANTS_OVER_LIMIT: 2,048
# variants a product ("The product variant limit is now 2048 for all merchants", Shopify developer changelog).
MAX_OPTIONS, MAX_VARIANTS = 3, 2048
FIRST_PRODUCT, FIRST_VARIANT, FIRST_ITEM = 8_100_000_001, 44_100_000_001, 46_100_000_001
_SKU_TERM = re.compile(r'sku:(?:"((?:[^"\\]|\\.)*)"|([^\s()]+))')


def _gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def _user_error(field: list[str], message: str, code: str) -> dict[str, Any]:
    return {"__typename": "ProductSetUserError", "field": field, "message": message, "code": code}


def project(value: Any, selection: Selection) -> Any:
    """Only the fields ``selection`` asks for, as GraphQL answers."""
    if value is None or not selection.selections:
        return value
    if isinstance(value, list):
        return [project(v, selection) for v in value]
    return {f.key: project(value.get(f.name), f) for f in selection.fields()}


class ShopifyProductsEmulator(ShopifyErrors, Emulator):
    name = "shopify_products"
    prefix = "shopify"
    emulates = "the productSet mutation and the productVariants SKU search"

    def __init__(self, world_dir: Path | None) -> None:
        self.bucket = CostBucket()
        self.products: dict[int, dict[str, Any]] = {}
        self.calls: dict[str, int] = {}
        super().__init__(world_dir)

    def load(self) -> None:
        self.bucket.reset()
        self.products = {}
        self.calls = {}
        self._next = {"product": FIRST_PRODUCT, "variant": FIRST_VARIANT, "item": FIRST_ITEM}
        for p in read_world_table(self.world_dir, "products", ["product_id", "variant_id", "sku",
                                                                 "inventory_item_id", "title"]):
            if p.get("sku") and p.get("inventory_item_id") is not None:
                self.seed_product(str(p["sku"]), str(p["title"]), product_id=int(p["product_id"]),
                                  variant_id=int(p["variant_id"]), inventory_item_id=int(p["inventory_item_id"]))

    def seed_product(self, sku: str, title: str, *, product_id: int | None = None, variant_id: int | None = None,
                     inventory_item_id: int | None = None, tags: list[str] | None = None,
                     handle: str | None = None) -> dict[str, Any]:
        """A product the shop already has (one default variant with ``sku``)."""
        with self.lock:
            number = product_id or self._take("product")
            product = {"__typename": "Product", "id": _gid("Product", number), "title": title,
                       "handle": handle or re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
                       "status": "ACTIVE", "tags": list(tags or []), "vendor": None, "productType": "",
                       "descriptionHtml": "", "options": [{"name": "Title", "values": ["Default Title"]}],
                       "files": [], "variants": []}
            product["variants"].append(self._variant(product, {"optionValues": [
                {"optionName": "Title", "name": "Default Title"}], "price": "0.00", "inventoryItem": {"sku": sku}},
                variant_id, inventory_item_id))
            self.products[number] = product
            return product

    def _take(self, kind: str) -> int:
        number = self._next[kind]
        self._next[kind] += 1
        return number

    def by_sku(self, sku: str) -> dict[str, Any] | None:
        """The product holding a variant with ``sku`` (tests)."""
        return next((p for p in self.products.values() for v in p["variants"] if v["sku"] == sku), None)

    # ---- routes and dispatch --------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        add_graphql_route(router, self.unauthorized)

    def answers(self, query: str) -> bool:
        try:
            operation = parse(query)[0]
        except GraphQLSyntaxError:
            return False
        served = {"mutation": {"productSet"}}.get(operation.kind, {"productVariants"})
        return any(f.name in served for f in operation.root.fields())

    def answer(self, query: str, variables: dict[str, Any], version: str, request: Request) -> Response:
        operation = parse(query)[0]
        fields = operation.root.fields()
        if operation.kind == "mutation":
            admitted, cost = self.bucket.spend(MUTATION_COST * len(fields))
            if not admitted:
                return throttled(cost)
            data = {}
            for field in fields:
                answer = self._product_set(field, variables, request)
                if isinstance(answer, Response):
                    return answer
                data[field.key] = project(answer, field)
            return JSONResponse({"data": data, "extensions": {"cost": cost}})
        requested = requested_cost(operation.root, variables)
        if requested > MAX_QUERY_COST:
            # https://shopify.dev/docs/api/usage/limits: refused before it runs, whatever the bucket holds.
            return graphql_error(f"Query cost is {requested}, which exceeds the single query max cost limit "
                                 f"({MAX_QUERY_COST}).", "MAX_COST_EXCEEDED", cost=requested, maxCost=MAX_QUERY_COST)
        data, actual = {}, 0
        for field in fields:
            first = field.argument("first", variables)
            if not isinstance(first, int) or first > MAX_PAGE:
                # A connection needs first or last, at most 250 (pagination page above); the message is the one
                # the shop emulator answers, with no code.
                return graphql_error(f"The 'first' argument may not exceed {MAX_PAGE}." if isinstance(first, int)
                                     else "you must provide one of first or last", None)
            nodes = self._variants(str(field.argument("query", variables) or ""))[:first]
            actual += 2 + len(nodes) * 3
            data[field.key] = project({"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}},
                                      field)
        self._count("productVariants")
        admitted, cost = self.bucket.spend(requested, max(1, actual))
        if not admitted:
            return throttled(cost)
        return JSONResponse({"data": data, "extensions": {"cost": cost}})

    def _count(self, operation: str) -> None:
        with self.lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1

    # ---- productVariants ------------------------------------------------------------------------------------
    def _variants(self, search: str) -> list[dict[str, Any]]:
        skus = {(quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted else bare)
                for quoted, bare in _SKU_TERM.findall(search)}
        with self.lock:
            return [{**variant, "product": {k: v for k, v in product.items() if k != "variants"}}
                    for product in self.products.values() for variant in product["variants"]
                    if variant["sku"] in skus]

    # ---- productSet -----------------------------------------------------------------------------------------
    def _product_set(self, field: Selection, variables: dict[str, Any], request: Request) -> Any:
        data = field.argument("input", variables)
        identifier = field.argument("identifier", variables) or {}
        if not isinstance(data, dict) or not isinstance(identifier, dict):
            # GraphQL's variable coercion refuses an ill-typed input before the mutation runs (INVALID_VARIABLE).
            return graphql_error("Variable $input of type ProductSetInput! was provided invalid value",
                                 "INVALID_VARIABLE")
        if field.argument("synchronous", variables, True) is False:
            # Not a Shopify refusal: the asynchronous mode exists, the sandbox does not emulate it.
            return graphql_error("This sandbox only emulates productSet in synchronous mode", None)
        if "status" in data and data["status"] not in PRODUCT_STATUSES:
            # ProductStatus is an enum: an unknown value fails variable coercion (INVALID_VARIABLE).
            return graphql_error(f"Variable $input of type ProductSetInput! was provided invalid value for status "
                                 f"(Expected \"{data['status']}\" to be one of: {', '.join(sorted(PRODUCT_STATUSES))})",
                                 "INVALID_VARIABLE")
        self._count("productSet")
        with self.lock:
            product, errors = self._target(identifier, data)
            if not errors:
                errors = self._problems(product, data)
            if errors:
                return {"product": None, "productSetOperation": None, "userErrors": errors}
            created = product is None
            if created:
                number = self._take("product")
                product = {"__typename": "Product", "id": _gid("Product", number), "status": "ACTIVE", "tags": [],
                           "vendor": None, "productType": "", "descriptionHtml": "", "options": [], "files": [],
                           "variants": [], "handle": data.get("handle") or identifier.get("handle")
                           or re.sub(r"[^a-z0-9]+", "-", str(data["title"]).lower()).strip("-")}
                self.products[number] = product
            self._apply(product, data)
            self.received.append({"product": product["id"], "created": created, "input": copy.deepcopy(data)})
            items = [int(v["inventoryItem"]["id"].rsplit("/", 1)[1]) for v in product["variants"]]
            answer = copy.deepcopy(product)
        inventory = request.app.state.emulators.get("shopify_inventory")
        if inventory is not None:
            inventory.seed_items(items)
        answer["variants"] = {"nodes": answer["variants"]}
        return {"product": answer, "productSetOperation": None, "userErrors": []}

    def _target(self, identifier: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, Any] | None,
                                                                              list[dict[str, Any]]]:
        """The product ``identifier`` names (None: create one), or the userErrors saying why it cannot."""
        if identifier.get("id"):
            number = int(str(identifier["id"]).rsplit("/", 1)[-1]) if str(identifier["id"]).rsplit("/", 1)[-1].isdigit() else -1
            if number not in self.products:
                return None, [_user_error(["identifier", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]
            return self.products[number], []
        handle = identifier.get("handle") or data.get("handle")
        holder = next((p for p in self.products.values() if handle and p["handle"] == handle), None)
        if holder is not None and not identifier.get("handle"):
            return None, [_user_error(["input", "handle"], f"Handle '{handle}' already in use. Please provide a new "
                                      "handle.", "HANDLE_NOT_UNIQUE")]
        return holder, []

    @staticmethod
    def _problems(product: dict[str, Any] | None, data: dict[str, Any]) -> list[dict[str, Any]]:
        errors = []
        if product is None and not str(data.get("title") or "").strip():
            errors.append(_user_error(["input", "title"], "Title can't be blank", "MISSING_FIELD_REQUIRED"))
        variants = data.get("variants")
        options = data.get("productOptions")
        if variants and options is None:
            errors.append(_user_error(["input", "productOptions"], "Product options input is required when "
                                      "updating variants.", "PRODUCT_OPTIONS_INPUT_MISSING"))
            return errors
        declared = {(o.get("name"), v.get("name")) for o in options or [] for v in o.get("values") or []}
        names = [o.get("name") for o in options or []]
        if len(names) > MAX_OPTIONS:
            errors.append(_user_error(["input", "productOptions"], "Options over limit.", "OPTIONS_OVER_LIMIT"))
        if len(set(names)) != len(names):
            errors.append(_user_error(["input", "productOptions"], "Duplicated option name.",
                                      "DUPLICATED_OPTION_NAME"))
        for o in options or []:
            given = [v.get("name") for v in o.get("values") or []]
            if len(set(given)) != len(given):
                errors.append(_user_error(["input", "productOptions"], "Duplicated option value.",
                                          "DUPLICATED_OPTION_VALUE"))
        if len(variants or []) > MAX_VARIANTS:
            errors.append(_user_error(["input", "variants"], "Number of product variants exceeds shop limit.",
                                      "VARIANTS_OVER_LIMIT"))
        combinations: set[tuple[tuple[str, str], ...]] = set()
        for i, variant in enumerate(variants or []):
            values = variant.get("optionValues") or []
            combination = tuple(sorted((str(v.get("optionName")), str(v.get("name"))) for v in values))
            if not values or {v.get("optionName") for v in values} != set(names):
                errors.append(_user_error(["input", "variants", str(i), "optionValues"],
                                          "Option values are required for each variant.", "OPTION_VALUES_MISSING"))
            elif any((v.get("optionName"), v.get("name")) not in declared for v in values):
                errors.append(_user_error(["input", "variants", str(i), "optionValues"],
                                          "Option value does not exist.", "OPTION_VALUE_DOES_NOT_EXIST"))
            elif combination in combinations:
                errors.append(_user_error(["input", "variants", str(i), "optionValues"],
                                          "Product variant is not valid: another variant has the same option "
                                          "values.", "INVALID_VARIANT"))
            combinations.add(combination)
            try:
                Decimal(str(variant.get("price", "0")))
            except InvalidOperation:
                errors.append(_user_error(["input", "variants", str(i), "price"], "Price must be a decimal.",
                                          "INVALID_VARIANT"))
        return errors

    def _apply(self, product: dict[str, Any], data: dict[str, Any]) -> None:
        for name in ("title", "descriptionHtml", "vendor", "productType", "status", "handle"):
            if name in data:
                product[name] = data[name]
        if "tags" in data:
            product["tags"] = list(data["tags"] or [])
        if "productOptions" in data:
            product["options"] = [{"name": o["name"], "values": [v["name"] for v in o.get("values") or []]}
                                  for o in data["productOptions"] or []]
        if "files" in data:
            kept = {f["originalSource"]: f for f in product["files"]}
            product["files"] = [kept.get(f.get("originalSource")) or {
                "originalSource": f.get("originalSource"), "contentType": f.get("contentType"), "alt": f.get("alt"),
                "id": _gid("MediaImage", self._take("item"))} for f in data["files"] or []]
        if "variants" in data:
            by_id = {v["id"]: v for v in product["variants"]}
            by_options = {_options_key(v["selectedOptions"]): v for v in product["variants"]}
            kept = []
            for given in data["variants"] or []:
                key = tuple(sorted((o["optionName"], o["name"]) for o in given.get("optionValues") or []))
                earlier = by_id.get(given.get("id")) or by_options.get(key)
                kept.append(self._variant(product, given, *(_numbers(earlier) if earlier else (None, None))))
            product["variants"] = kept

    def _variant(self, product: dict[str, Any], given: dict[str, Any], variant_id: int | None,
                 item_id: int | None) -> dict[str, Any]:
        item = given.get("inventoryItem") or {}
        sku = item.get("sku") or given.get("sku") or ""
        return {"__typename": "ProductVariant", "id": _gid("ProductVariant", variant_id or self._take("variant")),
                "sku": sku, "price": str(Decimal(str(given.get("price", "0"))).quantize(Decimal("0.01"))),
                "selectedOptions": [{"name": o["optionName"], "value": o["name"]}
                                    for o in given.get("optionValues") or []],
                "inventoryItem": {"__typename": "InventoryItem", "id": _gid("InventoryItem",
                                                                            item_id or self._take("item")),
                                  "sku": sku, "tracked": bool(item.get("tracked", True))}}


def _options_key(selected: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((o["name"], o["value"]) for o in selected))


def _numbers(variant: dict[str, Any]) -> tuple[int, int]:
    return int(variant["id"].rsplit("/", 1)[1]), int(variant["inventoryItem"]["id"].rsplit("/", 1)[1])


EMULATOR = ShopifyProductsEmulator
