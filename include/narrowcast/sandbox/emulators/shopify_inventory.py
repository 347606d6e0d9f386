"""Emulator of Shopify's GraphQL ``inventorySetQuantities`` (the shop destination's inventory writes).

``POST /admin/api/{version}/graphql.json``: checks ``X-Shopify-Access-Token``; the JSON body's ``query`` must
mention ``inventorySetQuantities`` (the GraphQL text is not parsed further; anything else gets a GraphQL error).
A cost bucket (``bucket_size`` points, default 1,000, refilled at ``restore_rate`` points/s, default 50; each
mutation costs ``mutation_cost`` = 10) answers HTTP 200 with Shopify's ``THROTTLED`` error and
``extensions.cost`` when empty; every executed mutation carries ``extensions.cost``. Ill-typed variables
(``INVALID_VARIABLE``) and more than 250 quantities (``MAX_INPUT_SIZE_EXCEEDED``) are refused as top-level
GraphQL errors before the mutation runs (and cost nothing). Validation is all-or-nothing like Shopify's:
unknown inventory items or locations, negative or too-high quantities, a bad name/reason or a missing/stale
compareQuantity come back as ``userErrors`` (``field`` = ``["input", "quantities", "<i>", ...]``, ``code``) and
nothing is set. Levels are held per (inventory_item_id, location_id) for :meth:`snapshot`.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import SANDBOX_TOKEN, Emulator

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


def _gid_number(kind: str, value: Any) -> int | None:
    match = _GID.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(2)) if match and match.group(1) == kind else None


def _user_error(index: int | None, field: str, code: str, message: str) -> dict[str, Any]:
    path = ["input", "quantities", str(index), field] if index is not None else ["input", field]
    return {"field": path, "message": message, "code": code}


class ShopifyInventoryEmulator(Emulator):
    name = "shopify_inventory"
    prefix = "shopify"

    def __init__(self, world_dir: Path | None) -> None:
        # GraphQL cost bucket (points)
        self.bucket_size, self.restore_rate, self.mutation_cost = 1000.0, 50.0, 10.0
        self._used, self._refilled = 0.0, time.monotonic()  # points in use; available = bucket_size - used
        self._bucket_lock = threading.Lock()
        self.items: set[int] = set()
        self.locations: set[int] = {DEFAULT_LOCATION}
        self.levels: dict[tuple[int, int], int] = {}
        self.calls = 0  # admitted, well-formed mutations
        self.throttled = 0  # GraphQL requests answered THROTTLED
        super().__init__(world_dir)

    def load(self) -> None:
        rows = read_world_table(self.world_dir, "listings", ["marketplace", "listing_id"])
        self.seed_items([int(r["listing_id"]) for r in rows if r["marketplace"] == "shop"])

    def seed_items(self, inventory_item_ids: list[int]) -> None:
        with self.lock:
            self.items.update(int(i) for i in inventory_item_ids)

    def reset(self) -> None:
        with self.lock:
            self.items.clear()
            self.levels.clear()
            self.calls = self.throttled = 0
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

    @staticmethod
    def graphql_error(message: str, code: str, cost: dict[str, Any] | None = None) -> Response:
        body: dict[str, Any] = {"errors": [{"message": message, "extensions": {"code": code}}]}
        if cost is not None:
            body["extensions"] = {"cost": cost}
        return JSONResponse(body)

    @staticmethod
    def input_problem(variables: Any) -> tuple[str, str] | None:
        """What GraphQL itself refuses before running the mutation (variable types, input size): (message, code)."""
        data = variables.get("input") if isinstance(variables, dict) else None
        prefix = "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"
        if not isinstance(data, dict) or not isinstance(data.get("quantities"), list):
            return f"{prefix} for quantities (Expected value to not be null)", "INVALID_VARIABLE"
        if len(data["quantities"]) > MAX_QUANTITIES:
            return (f"The input array size of {len(data['quantities'])} is greater than the maximum allowed of "
                    f"{MAX_QUANTITIES}.", "MAX_INPUT_SIZE_EXCEEDED")
        for i, q in enumerate(data["quantities"]):
            if not isinstance(q, dict):
                return f"{prefix} for quantities.{i} (Expected an object)", "INVALID_VARIABLE"
            for field in ("inventoryItemId", "locationId"):
                if not isinstance(q.get(field), str):
                    return f"{prefix} for quantities.{i}.{field} (Expected value to be an ID)", "INVALID_VARIABLE"
            if not isinstance(q.get("quantity"), int) or isinstance(q.get("quantity"), bool):
                return (f"{prefix} for quantities.{i}.quantity (Could not coerce value {q.get('quantity')!r} to "
                        "Int)", "INVALID_VARIABLE")
        return None

    def set_quantities(self, data: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        """Apply one (well-typed) ``inventorySetQuantities`` input all-or-nothing: (userErrors, reason set)."""
        errors: list[dict[str, Any]] = []
        if data.get("name") not in QUANTITY_NAMES:
            errors.append(_user_error(None, "name", "INVALID_NAME",
                                      "The quantity name must be either 'available' or 'on_hand'."))
        if data.get("reason") not in REASONS:
            errors.append(_user_error(None, "reason", "INVALID_REASON", "The specified reason is invalid."))
        compare = data.get("ignoreCompareQuantity") is not True
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
                elif compare and "compareQuantity" not in q:
                    errors.append(_user_error(i, "compareQuantity", "COMPARE_QUANTITY_REQUIRED",
                                              "The compareQuantity argument must be given to each quantity or "
                                              "ignored using ignoreCompareQuantity."))
                elif compare and q["compareQuantity"] != self.levels.get((item, location)):
                    errors.append(_user_error(i, "compareQuantity", "COMPARE_QUANTITY_STALE",
                                              "The compareQuantity value does not match persisted value."))
                else:
                    updates.append((item, location, quantity))
            self.calls += 1
            if errors:
                return errors, None
            for item, location, quantity in updates:
                self.levels[(item, location)] = quantity
                self.received.append({"inventory_item_id": item, "available": quantity})
        return [], str(data["reason"])

    def routes(self, router: APIRouter) -> None:
        @router.post("/admin/api/{version}/graphql.json")
        async def graphql(version: str, request: Request) -> Response:
            if request.headers.get("x-shopify-access-token") != SANDBOX_TOKEN:
                return self.unauthorized()
            try:
                body = await request.json()
            except ValueError:
                body = None
            query = body.get("query") if isinstance(body, dict) else None
            if not isinstance(query, str) or not query.strip():
                return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}}, status_code=400)
            if "inventorySetQuantities" not in query:
                return self.graphql_error("This sandbox only emulates the inventorySetQuantities mutation",
                                          "NOT_EMULATED")
            variables = body.get("variables")
            problem = self.input_problem(variables)
            if problem is not None:  # refused before it runs, so it costs nothing
                return self.graphql_error(*problem)
            admitted, cost = self._spend(self.mutation_cost)
            if not admitted:
                with self.lock:
                    self.throttled += 1
                return self.graphql_error("Throttled", "THROTTLED", cost)
            user_errors, reason = self.set_quantities(variables["input"])
            group = {"reason": reason} if reason is not None else None
            return JSONResponse({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group,
                                                                     "userErrors": user_errors}},
                                 "extensions": {"cost": cost}})


EMULATOR = ShopifyInventoryEmulator
