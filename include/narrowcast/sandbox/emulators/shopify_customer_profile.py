"""Emulator of Shopify's customer metafields and tags: ``metafieldsSet``, ``metafieldsDelete``, ``tagsAdd``,
``tagsRemove`` and the ``nodes(ids:)`` read of customers' ``tags`` and ``metafields(namespace:)``.

Answers the shop's ``POST /admin/api/{version}/graphql.json`` (:mod:`.shopify_graphql` checks the token and
dispatches) for documents whose root fields are those mutations (aliased, several per document, applied in order)
or a ``nodes`` read with ``... on Customer``. Customers come from the world's customers table (and
:meth:`seed_customer`), with the tag ``test`` on test customers as the shop source's emulator gives them.

Documented limits and errors:
* metafieldsSet (https://shopify.dev/docs/api/admin-graphql/latest/mutations/metafieldsSet): "a maximum of 25
  metafields to be set at a time" (more → top-level ``MAX_INPUT_SIZE_EXCEEDED``, as for every input array,
  https://shopify.dev/docs/api/usage/limits); "atomic, meaning no changes are persisted if an error is
  encountered"; userErrors carry ``field``, ``code`` (MetafieldsSetUserErrorCode) and ``elementIndex``. Key 2-64 and
  namespace 3-255 characters of letters, digits, hyphen, underscore (MetafieldsSetInput) → ``TOO_SHORT`` /
  ``TOO_LONG`` / ``INVALID``; an unsupported type → ``INVALID_TYPE``; a value its type cannot hold →
  ``INVALID_VALUE``; an owner the shop does not have → ``INVALID`` (the enum's "The input value is invalid";
  the message is the emulator's); a ``compareDigest`` that no longer matches → ``STALE_OBJECT``.
* metafieldsDelete (…/mutations/metafieldsDelete): a metafield that does not exist "still succeeds but returns
  null for that identifier"; at most 250 identifiers (input array limit).
* tagsAdd / tagsRemove (…/mutations/tagsAdd, …/tagsRemove): ``id`` of a customer, ``tags`` a list; an unknown
  id answers a ``userErrors`` entry (UserError: ``field``, ``message``; no code) and changes nothing.
Each mutation root field costs 10 points and a read 1 + per customer (1 + 2 + ``first``) points from a
:class:`CostBucket`; a document the bucket cannot pay for answers ``THROTTLED`` with ``extensions.cost``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.shopify_graphql import (
    MAX_QUERY_COST,
    MUTATION_COST,
    CostBucket,
    GraphQLSyntaxError,
    Selection,
    add_graphql_route,
    graphql_error,
    parse,
    throttled,
)
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

MUTATIONS = frozenset({"metafieldsSet", "metafieldsDelete", "tagsAdd", "tagsRemove"})
MAX_METAFIELDS_SET = 25
MAX_INPUT_ARRAY = 250
_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
# A few of the supported metafield types (https://shopify.dev/docs/apps/build/custom-data/metafields/list-of-data-types);
# the emulator checks the values of the text types and accepts the others as given.
TYPES = frozenset({"single_line_text_field", "multi_line_text_field", "list.single_line_text_field", "json",
                   "number_integer", "number_decimal", "boolean", "date", "date_time", "url"})


def _gid(number: Any) -> str:
    return f"gid://shopify/Customer/{int(number)}"


def digest(value: str) -> str:
    """The metafield's ``compareDigest``: a hash of its value (Shopify's is opaque too)."""
    return hashlib.sha256(value.encode()).hexdigest()


class ShopifyCustomerProfileEmulator(Emulator):
    name = "shopify_customer_profile"
    prefix = "shopify"
    emulates = "customer metafields (metafieldsSet, metafieldsDelete), tags (tagsAdd, tagsRemove) and their nodes read"

    def __init__(self, world_dir: Path | None) -> None:
        self.bucket = CostBucket()
        self.customers: dict[str, dict[str, Any]] = {}
        self.mutations = 0  # admitted mutation root fields
        super().__init__(world_dir)

    def load(self) -> None:
        self.customers.clear()
        self.mutations = 0
        self.bucket.reset()
        for row in read_world_table(self.world_dir, "customers"):
            self.seed_customer(row["customer_id"], ["test"] if row.get("is_test") else [])

    def seed_customer(self, customer_id: int | str, tags: list[str] | None = None) -> str:
        """Make a customer exist in the shop (with the merchant's own ``tags``); its GID."""
        with self.lock:
            gid = _gid(customer_id)
            self.customers[gid] = {"tags": list(tags or []), "metafields": {}}
            return gid

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"customers": {gid: {"tags": sorted(c["tags"]),
                                        "metafields": {f"{ns}.{key}": m for (ns, key), m in sorted(c["metafields"].items())}}
                                  for gid, c in self.customers.items() if c["tags"] or c["metafields"]},
                    "mutations": self.mutations}

    # ---- routes --------------------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        add_graphql_route(router, self.unauthorized)

    def answers(self, query: str) -> bool:
        try:
            operation = parse(query)[0]
        except GraphQLSyntaxError:
            return False
        fields = operation.root.fields()
        if operation.kind == "mutation":
            return bool(fields) and all(f.name in MUTATIONS for f in fields)
        return any(f.name == "nodes" and any(s.on == "Customer" for s in f.selections) for f in fields)

    def answer(self, query: str, variables: dict[str, Any], version: str, request: Request) -> Response:
        operation = parse(query)[0]
        fields = operation.root.fields()
        if operation.kind == "mutation":
            for selection in fields:
                refusal = self._input_size(selection, variables)
                if refusal:
                    return graphql_error(refusal, "MAX_INPUT_SIZE_EXCEEDED")
            admitted, cost = self.bucket.spend(MUTATION_COST * len(fields))
            if not admitted:
                return throttled(cost)
            with self.lock:
                data = {f.key: self._mutate(f, variables) for f in fields}
                self.mutations += len(fields)
            return JSONResponse({"data": data, "extensions": {"cost": cost}})
        nodes = next(f for f in fields if f.name == "nodes")
        ids = nodes.argument("ids", variables) or []
        if len(ids) > MAX_INPUT_ARRAY:
            return graphql_error(f"The input array size of {len(ids)} is greater than the maximum allowed of "
                                 f"{MAX_INPUT_ARRAY}.", "MAX_INPUT_SIZE_EXCEEDED")
        first = _metafields_page(nodes, variables)
        requested = 1 + len(ids) * (3 + first)
        if requested > MAX_QUERY_COST:
            return graphql_error(f"Query cost is {requested}, which exceeds the single query max cost limit "
                                 f"({MAX_QUERY_COST}).", "MAX_COST_EXCEEDED", cost=requested, maxCost=MAX_QUERY_COST)
        admitted, cost = self.bucket.spend(requested)
        if not admitted:
            return throttled(cost)
        namespace = _metafields_namespace(nodes, variables)
        with self.lock:
            found = [self._customer_node(i, namespace, first) for i in ids]
        return JSONResponse({"data": {nodes.key: found}, "extensions": {"cost": cost}})

    # ---- reads ---------------------------------------------------------------------------------------------
    def _customer_node(self, gid: Any, namespace: str | None, first: int) -> dict[str, Any] | None:
        customer = self.customers.get(gid) if isinstance(gid, str) else None
        if customer is None:
            return None  # nodes(ids:) answers null for an id it does not know
        metafields = [{"key": key, "namespace": ns, "type": m["type"], "value": m["value"],
                       "compareDigest": digest(m["value"])}
                      for (ns, key), m in sorted(customer["metafields"].items()) if namespace in (None, ns)]
        return {"id": gid, "tags": sorted(customer["tags"]), "metafields": {"nodes": metafields[:first]}}

    # ---- mutations -----------------------------------------------------------------------------------------
    @staticmethod
    def _input_size(selection: Selection, variables: dict[str, Any]) -> str | None:
        argument = selection.argument("metafields" if selection.name.startswith("metafields") else "tags", variables)
        limit = MAX_METAFIELDS_SET if selection.name == "metafieldsSet" else MAX_INPUT_ARRAY
        if isinstance(argument, list) and len(argument) > limit:
            return f"The input array size of {len(argument)} is greater than the maximum allowed of {limit}."
        return None

    def _mutate(self, selection: Selection, variables: dict[str, Any]) -> dict[str, Any]:
        if selection.name == "metafieldsSet":
            return self._metafields_set(selection.argument("metafields", variables) or [])
        if selection.name == "metafieldsDelete":
            deleted = []
            for identifier in selection.argument("metafields", variables) or []:
                customer = self.customers.get(identifier.get("ownerId"))
                key = (identifier.get("namespace"), identifier.get("key"))
                if customer is not None and customer["metafields"].pop(key, None) is not None:
                    deleted.append({"ownerId": identifier["ownerId"], "namespace": key[0], "key": key[1]})
                else:
                    deleted.append(None)
            return {"deletedMetafields": deleted, "userErrors": []}
        customer = self.customers.get(selection.argument("id", variables))
        if customer is None:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
        tags = [str(t).strip() for t in selection.argument("tags", variables) or [] if str(t).strip()]
        if selection.name == "tagsAdd":
            customer["tags"] += [t for t in tags if t not in customer["tags"]]
        else:
            customer["tags"] = [t for t in customer["tags"] if t not in tags]
        return {"node": {"id": selection.argument("id", variables)}, "userErrors": []}

    def _metafields_set(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        errors = [e for i, m in enumerate(inputs) for e in self._metafield_errors(i, m)]
        if errors:
            return {"metafields": None, "userErrors": errors}  # atomic: nothing is persisted
        written = []
        for m in inputs:
            self.customers[m["ownerId"]]["metafields"][(m["namespace"], m["key"])] = {"type": m["type"],
                                                                                      "value": m["value"]}
            written.append({"key": m["key"], "namespace": m["namespace"], "value": m["value"]})
        return {"metafields": written, "userErrors": []}

    def _metafield_errors(self, index: int, m: dict[str, Any]) -> list[dict[str, Any]]:
        def error(field: str, code: str, message: str) -> dict[str, Any]:
            return {"field": ["metafields", str(index), field], "code": code, "message": message,
                    "elementIndex": index}

        found = []
        owner = self.customers.get(m.get("ownerId"))
        if owner is None:
            found.append(error("ownerId", "INVALID", "Owner does not exist."))
        for name, low, high in (("key", 2, 64), ("namespace", 3, 255)):
            value = str(m.get(name) or "")
            if len(value) < low:
                found.append(error(name, "TOO_SHORT", f"{name.title()} is too short (minimum is {low} characters)."))
            elif len(value) > high:
                found.append(error(name, "TOO_LONG", f"{name.title()} is too long (maximum is {high} characters)."))
            elif not _CHARACTERS.fullmatch(value):
                found.append(error(name, "INVALID", f"{name.title()} contains one or more invalid characters."))
        kind, value = m.get("type"), m.get("value")
        if kind not in TYPES:
            found.append(error("type", "INVALID_TYPE", "Type is invalid."))
        elif not isinstance(value, str) or not _holds(kind, value):
            found.append(error("value", "INVALID_VALUE", f"Value is invalid for type {kind}."))
        if owner is not None and "compareDigest" in m:
            current = owner["metafields"].get((m.get("namespace"), m.get("key")))
            if (current and digest(current["value"])) != m["compareDigest"]:
                found.append(error("compareDigest", "STALE_OBJECT", "The metafield has been modified since it was "
                                   "loaded."))
        return found


def _holds(kind: str, value: str) -> bool:
    if kind == "single_line_text_field":
        return "\n" not in value
    if kind == "list.single_line_text_field":
        try:
            items = json.loads(value)
        except ValueError:
            return False
        return isinstance(items, list) and all(isinstance(i, str) and "\n" not in i for i in items)
    if kind == "json":
        try:
            json.loads(value)
        except ValueError:
            return False
    return True


def _metafields_selection(nodes: Selection) -> Selection | None:
    return next((s for f in nodes.selections if f.on == "Customer" for s in f.fields() if s.name == "metafields"), None)


def _metafields_page(nodes: Selection, variables: dict[str, Any]) -> int:
    selection = _metafields_selection(nodes)
    return int(selection.argument("first", variables) or 0) if selection else 0


def _metafields_namespace(nodes: Selection, variables: dict[str, Any]) -> str | None:
    selection = _metafields_selection(nodes)
    return selection.argument("namespace", variables) if selection else None


EMULATOR = ShopifyCustomerProfileEmulator
