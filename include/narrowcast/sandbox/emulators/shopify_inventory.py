"""Emulator of Shopify's GraphQL inventory writes (``inventorySetQuantities``) and the read they compare against.

Answers the shop's ``POST /admin/api/{version}/graphql.json`` (:mod:`.shopify_graphql` checks the token and
dispatches) when the ``query`` mentions ``inventorySetQuantities`` or reads ``nodes`` with ``inventoryLevel``
(the GraphQL text is not parsed further). A cost bucket (``bucket_size`` points, default 1,000, refilled at
``restore_rate`` points/s, default 50; each mutation costs ``mutation_cost`` = 10, each read ``read_cost`` per
id) answers HTTP 200 with Shopify's ``THROTTLED`` error and ``extensions.cost`` when empty. Ill-typed
variables (``INVALID_VARIABLE``) and more than 250 quantities (``MAX_INPUT_SIZE_EXCEEDED``) are refused as
top-level GraphQL errors before the mutation runs (and cost nothing). Validation is all-or-nothing like
Shopify's: unknown inventory items or locations, negative or too-high quantities, a bad name/reason or a
missing/stale compare value come back as ``userErrors`` (``field`` = ``["input", "quantities", "<i>", ...]``,
``code``) and nothing is set. From 2026-04 the mutation must carry ``@idempotent(key: "...")``; a repeated
key with the same input answers the original result without applying it again.

Compare-and-set follows the API version in the path. From 2026-04 each quantity must carry
``changeFromQuantity`` (``null`` opts out) and ``compareQuantity``/``ignoreCompareQuantity`` no longer exist
(https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities). In 2026-01
``changeFromQuantity`` is optional and, when present, overrides the older two
(https://shopify.dev/changelog/compare-and-swap-redesign-for-inventory-set-quantities); before that only
``compareQuantity``/``ignoreCompareQuantity`` exist. Seeded items are stocked at every location with 0 until
set; levels are held per (inventory_item_id, location_id) for :meth:`snapshot`.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.shopify_graphql import add_graphql_route, graphql_error
from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import Emulator

DEFAULT_LOCATION = 1
MAX_QUANTITIES = 250
MAX_QUANTITY = 1_000_000_000
QUANTITY_NAMES = frozenset({"available", "on_hand"})
REASONS = frozenset({
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated", "movement_received",
    "movement_canceled", "other", "promotion", "quality_control", "received", "reservation_created",
    "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage",
})
_GID = re.compile(r"gid://shopify/(\w+)/([0-9]+)")
# https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities: "Before
# migrating to version 2026-04 ... you must remove the ignoreCompareQuantity argument and the compareQuantity
# argument", and changeFromQuantity becomes mandatory at runtime.
CHANGE_FROM_REQUIRED_SINCE = "2026-04"
# https://shopify.dev/changelog/compare-and-swap-redesign-for-inventory-set-quantities: changeFromQuantity arrives
# in 2026-01 and, passed with any value (null included), overrides compareQuantity and ignoreCompareQuantity.
CHANGE_FROM_SINCE = "2026-01"
# https://shopify.dev/changelog/adding-idempotency-for-inventory-adjustments-and-refund-mutations: the @idempotent
# directive arrives in 2026-01 (a retry with the same key gets "the result of the original operation");
# https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations makes it
# mandatory for inventorySetQuantities from 2026-04.
IDEMPOTENT_SINCE, IDEMPOTENT_REQUIRED_SINCE = "2026-01", "2026-04"
_IDEMPOTENT = re.compile(r'@idempotent\(\s*key:\s*"([^"]+)"\s*\)')
_INPUT_VARIABLE = "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"


def _at_least(version: str, since: str) -> bool:
    # Dated versions sort as text; "unstable" sorts after every date, as it runs ahead of the newest release.
    return version >= since


def _gid_number(kind: str, value: Any) -> int | None:
    match = _GID.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(2)) if match and match.group(1) == kind else None


def _user_error(index: int | None, field: str, code: str, message: str) -> dict[str, Any]:
    path = ["input", "quantities", str(index), field] if index is not None else ["input", field]
    return {"field": path, "message": message, "code": code}


class ShopifyInventoryEmulator(Emulator):
    name = "shopify_inventory"
    prefix = "shopify"
    emulates = "the inventorySetQuantities mutation and the inventory-level read"

    def __init__(self, world_dir: Path | None) -> None:
        # GraphQL cost bucket (points)
        self.bucket_size, self.restore_rate, self.mutation_cost = 1000.0, 50.0, 10.0
        # Shopify prices a query from its shape and reports the price in extensions.cost, which the client obeys;
        # a point per item read is this emulator's stand-in, not Shopify's formula.
        self.read_cost = 1.0
        self._used, self._refilled = 0.0, time.monotonic()  # points in use; available = bucket_size - used
        self._bucket_lock = threading.Lock()
        self.items: set[int] = set()
        self.locations: set[int] = {DEFAULT_LOCATION}
        self.levels: dict[tuple[int, int], int] = {}
        self.calls = 0  # admitted, well-formed mutations
        self.reads = 0  # admitted inventory-level reads
        self.idempotent: dict[str, tuple[Any, dict[str, Any]]] = {}  # key -> (input, the answer it got)
        self.throttled = 0  # GraphQL requests answered THROTTLED
        super().__init__(world_dir)

    def load(self) -> None:
        rows = read_world_table(self.world_dir, "listings", ["marketplace", "listing_id"])
        self.seed_items([int(r["listing_id"]) for r in rows if r["marketplace"] == "shop"])

    def seed_items(self, inventory_item_ids: list[int]) -> None:
        with self.lock:
            self.items.update(int(i) for i in inventory_item_ids)

    def set_level(self, inventory_item_id: int, quantity: int, location_id: int = DEFAULT_LOCATION) -> None:
        """Change a level as the shop itself would (a sale, a merchant's edit), behind the caller's back."""
        with self.lock:
            self.levels[(int(inventory_item_id), int(location_id))] = int(quantity)

    def reset(self) -> None:
        with self.lock:
            self.items.clear()
            self.levels.clear()
            self.calls = self.reads = self.throttled = 0
            self.idempotent.clear()
            with self._bucket_lock:
                self._used, self._refilled = 0.0, time.monotonic()
            super().reset()

    def snapshot(self) -> dict[str, Any]:
        return {"levels": {f"{item}@{loc}": qty for (item, loc), qty in self.levels.items()}, "calls": self.calls}

    def rate_limited(self, retry_after: float) -> Response:
        return JSONResponse({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to "
                                       "resume uninterrupted service."}, status_code=429,
                            headers={"Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return JSONResponse({"errors": "Internal Server Error"}, status_code=503)

    def unauthorized(self) -> Response:
        return JSONResponse({"errors": "[API] Invalid API key or access token (unrecognized login or wrong "
                                       "password)"}, status_code=401)

    # ---- GraphQL -----------------------------------------------------------------------------------
    def _spend(self, cost: float) -> tuple[bool, dict[str, Any]]:
        """Take ``cost`` points from the bucket if it holds them; the ``extensions.cost`` to answer with."""
        with self._bucket_lock:
            now = time.monotonic()
            self._used = max(0.0, self._used - (now - self._refilled) * self.restore_rate)
            self._refilled = now
            admitted = self.bucket_size - self._used >= cost
            if admitted:
                self._used += cost
            return admitted, {"requestedQueryCost": cost, "actualQueryCost": cost if admitted else None,
                              "throttleStatus": {"maximumAvailable": self.bucket_size,
                                                 "currentlyAvailable": int(max(0.0, self.bucket_size - self._used)),
                                                 "restoreRate": self.restore_rate}}

    graphql_error = staticmethod(graphql_error)

    @staticmethod
    def input_problem(variables: Any, version: str) -> tuple[str, str] | None:
        """What GraphQL itself refuses before running the mutation (variable types, input size): (message, code)."""
        data = variables.get("input") if isinstance(variables, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("quantities"), list):
            return f"{_INPUT_VARIABLE} for quantities (Expected value to not be null)", "INVALID_VARIABLE"
        if len(data["quantities"]) > MAX_QUANTITIES:
            return (f"The input array size of {len(data['quantities'])} is greater than the maximum allowed of "
                    f"{MAX_QUANTITIES}.", "MAX_INPUT_SIZE_EXCEEDED")
        removed = _at_least(version, CHANGE_FROM_REQUIRED_SINCE)
        if removed and "ignoreCompareQuantity" in data:
            # The field left the input type, so GraphQL's variable validation refuses it as any unknown field.
            return (f"{_INPUT_VARIABLE} for ignoreCompareQuantity (Field is not defined on "
                    "InventorySetQuantitiesInput)", "INVALID_VARIABLE")
        for i, q in enumerate(data["quantities"]):
            if not isinstance(q, dict):
                return f"{_INPUT_VARIABLE} for quantities.{i} (Expected an object)", "INVALID_VARIABLE"
            for field in ("inventoryItemId", "locationId"):
                if not isinstance(q.get(field), str):
                    return f"{_INPUT_VARIABLE} for quantities.{i}.{field} (Expected value to be an ID)", "INVALID_VARIABLE"
            for field in ("quantity", "changeFromQuantity", "compareQuantity"):
                value = q.get(field)
                if field == "quantity" or value is not None:
                    if not isinstance(value, int) or isinstance(value, bool):
                        return (f"{_INPUT_VARIABLE} for quantities.{i}.{field} (Could not coerce value {value!r} "
                                "to Int)", "INVALID_VARIABLE")
            unknown = [f for f in ("compareQuantity",) if removed and f in q]
            unknown += [f for f in ("changeFromQuantity",) if not _at_least(version, CHANGE_FROM_SINCE) and f in q]
            if unknown:
                return (f"{_INPUT_VARIABLE} for quantities.{i}.{unknown[0]} (Field is not defined on "
                        "InventoryQuantityInput)", "INVALID_VARIABLE")
        return None

    def set_quantities(self, data: dict[str, Any], version: str) -> tuple[list[dict[str, Any]], str | None]:
        """Apply one (well-typed) ``inventorySetQuantities`` input all-or-nothing: (userErrors, reason set)."""
        errors: list[dict[str, Any]] = []
        if data.get("name") not in QUANTITY_NAMES:
            errors.append(_user_error(None, "name", "INVALID_NAME",
                                      "The quantity name must be either 'available' or 'on_hand'."))
        if data.get("reason") not in REASONS:
            errors.append(_user_error(None, "reason", "INVALID_REASON", "The specified reason is invalid."))
        updates: list[tuple[int, int, int]] = []
        with self.lock:
            for i, q in enumerate(data["quantities"]):
                item = _gid_number("InventoryItem", q.get("inventoryItemId"))
                location = _gid_number("Location", q.get("locationId"))
                quantity = q.get("quantity")
                if item is None or item not in self.items:
                    errors.append(_user_error(i, "inventoryItemId", "INVALID_INVENTORY_ITEM",
                                              "The specified inventory item could not be found."))
                elif location is None or location not in self.locations:
                    errors.append(_user_error(i, "locationId", "INVALID_LOCATION",
                                              "The specified location could not be found."))
                elif quantity < 0:
                    errors.append(_user_error(i, "quantity", "INVALID_QUANTITY_NEGATIVE",
                                              "The quantity can't be negative."))
                elif quantity > MAX_QUANTITY:
                    errors.append(_user_error(i, "quantity", "INVALID_QUANTITY_TOO_HIGH",
                                              "The total quantity can't be higher than 1,000,000,000."))
                elif (error := self._compare_error(i, q, data, version, self.levels.get((item, location), 0))):
                    errors.append(error)
                else:
                    updates.append((item, location, quantity))
            self.calls += 1
            if errors:
                return errors, None
            for item, location, quantity in updates:
                self.levels[(item, location)] = quantity
                self.received.append({"inventory_item_id": item, "available": quantity})
        return [], str(data["reason"])

    @staticmethod
    def _compare_error(i: int, q: dict[str, Any], data: dict[str, Any], version: str,
                       persisted: int) -> dict[str, Any] | None:
        """The compare-and-set userError for quantity ``i`` under ``version``'s rules, or None when it may be set."""
        if "changeFromQuantity" in q:
            # null opts this quantity out of the check; an integer must equal the persisted quantity, else
            # CHANGE_FROM_QUANTITY_STALE, "The changeFromQuantity value does not match persisted value."
            # (https://shopify.dev/docs/api/admin-graphql/latest/enums/InventorySetQuantitiesUserErrorCode).
            if q["changeFromQuantity"] is None or q["changeFromQuantity"] == persisted:
                return None
            return _user_error(i, "changeFromQuantity", "CHANGE_FROM_QUANTITY_STALE",
                               "The changeFromQuantity value does not match persisted value.")
        if _at_least(version, CHANGE_FROM_REQUIRED_SINCE):
            # Omitting changeFromQuantity "will result in an error at runtime" (2026-04 changelog above); the
            # documents name no code for it, and COMPARE_QUANTITY_REQUIRED is the enum's only "must be given" one.
            return _user_error(i, "changeFromQuantity", "COMPARE_QUANTITY_REQUIRED",
                               "The changeFromQuantity argument must be given to each quantity (null opts out).")
        if data.get("ignoreCompareQuantity") is True:
            return None
        if "compareQuantity" not in q:
            return _user_error(i, "compareQuantity", "COMPARE_QUANTITY_REQUIRED",
                               "The compareQuantity argument must be given to each quantity or ignored using "
                               "ignoreCompareQuantity.")
        if q["compareQuantity"] != persisted:
            return _user_error(i, "compareQuantity", "COMPARE_QUANTITY_STALE",
                               "The compareQuantity value does not match persisted value.")
        return None

    def available(self, variables: Any) -> dict[str, Any] | None:
        """The answer to the inventory-level read, or None when its variables are not ids and a location."""
        ids = variables.get("ids") if isinstance(variables, dict) else None
        location = _gid_number("Location", variables.get("locationId")) if isinstance(variables, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or location is None:
            return None
        nodes: list[dict[str, Any] | None] = []
        with self.lock:
            self.reads += 1
            for gid in ids:
                item = _gid_number("InventoryItem", gid)
                if item is None or item not in self.items:
                    nodes.append(None)  # nodes(ids:) answers null for an id it cannot resolve
                    continue
                level = None
                if location in self.locations:
                    level = {"quantities": [{"name": "available", "quantity": self.levels.get((item, location), 0)}]}
                nodes.append({"id": gid, "inventoryLevel": level})
        return {"nodes": nodes}

    def routes(self, router: APIRouter) -> None:
        add_graphql_route(router, self.unauthorized)

    def answers(self, query: str) -> bool:
        return "inventorySetQuantities" in query or ("nodes" in query and "inventoryLevel" in query)

    def answer(self, query: str, variables: dict[str, Any], version: str, request: Request) -> Response:
        if "inventorySetQuantities" not in query:
            return self._read(variables)
        problem = self.input_problem(variables, version) or self.directive_problem(query, version)
        if problem is not None:  # refused before it runs, so it costs nothing
            return self.graphql_error(*problem)
        key = (_IDEMPOTENT.search(query) or [None, None])[1]
        with self.lock:
            earlier = self.idempotent.get(key) if key else None
        if earlier is not None:
            if earlier[0] == variables["input"]:
                return JSONResponse(earlier[1])  # a retry: the original result, nothing applied again
            mismatch = _user_error(None, "idempotencyKey", "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                                   "The same idempotency key cannot be used with different operation parameters.")
            return JSONResponse({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": None,
                                                                     "userErrors": [mismatch]}}})
        admitted, cost = self._spend(self.mutation_cost)
        if not admitted:
            with self.lock:
                self.throttled += 1
            return self.graphql_error("Throttled", "THROTTLED", cost)
        user_errors, reason = self.set_quantities(variables["input"], version)
        group = {"reason": reason} if reason is not None else None
        answer = {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": user_errors}},
                  "extensions": {"cost": cost}}
        if key:
            with self.lock:
                self.idempotent[key] = (variables["input"], answer)
        return JSONResponse(answer)

    @staticmethod
    def directive_problem(query: str, version: str) -> tuple[str, str | None] | None:
        """The @idempotent directive missing where it is required, or used before it exists: (message, code)."""
        given = _IDEMPOTENT.search(query) is not None
        if not given and _at_least(version, IDEMPOTENT_REQUIRED_SINCE):
            # The changelog says only "an error at runtime" and documents no code: the message alone.
            return "The @idempotent directive is required for inventorySetQuantities.", None
        if given and not _at_least(version, IDEMPOTENT_SINCE):
            return "Directive 'idempotent' is not defined", "undefinedDirective"
        return None

    def _read(self, variables: Any) -> Response:
        ids = variables.get("ids") if isinstance(variables, dict) else None
        if isinstance(ids, list) and len(ids) > MAX_QUANTITIES:
            return self.graphql_error(f"The input array size of {len(ids)} is greater than the maximum allowed of "
                                      f"{MAX_QUANTITIES}.", "MAX_INPUT_SIZE_EXCEEDED")
        admitted, cost = self._spend(self.read_cost * max(1, len(ids) if isinstance(ids, list) else 1))
        if not admitted:
            with self.lock:
                self.throttled += 1
            return self.graphql_error("Throttled", "THROTTLED", cost)
        data = self.available(variables)
        if data is None:
            return self.graphql_error("Variable $ids of type [ID!]! or $locationId of type ID! was provided an "
                                      "invalid value", "INVALID_VARIABLE", cost)
        return JSONResponse({"data": data, "extensions": {"cost": cost}})

EMULATOR = ShopifyInventoryEmulator
