"""The merchant's own shop: Shopify inventory levels set absolutely with the GraphQL ``inventorySetQuantities``.

Connection ``narrowcast_shopify``: ``password`` = Admin API access token (``X-Shopify-Access-Token``); extra
``location_id`` (required unless the sync's target names one; a numeric id or ``gid://shopify/Location/<id>``)
and ``api_version`` (default in ``narrowcast.apis.versions``). Up to 250 levels go in one mutation
(``POST /admin/api/{version}/graphql.json``), as the ``available`` quantity with reason ``correction`` and
``ignoreCompareQuantity`` (the feed is the truth, and absolute quantities keep a re-send harmless). Withdrawn
rows and rows that left the feed are set to 0 because the shop keeps its product pages.

The mutation is all-or-nothing: when Shopify names invalid quantities in ``userErrors`` (``field`` =
``["input", "quantities", "<index>", ...]``) nothing is set, so exactly those rows are rejected with the error
code and the rest of the batch is sent again in one more mutation. Throttling is cost-based and retried by
the Shopify client (``narrowcast.apis.shopify``) at most ``max_attempts`` times. Any other top-level GraphQL
error fails the batch with Shopify's message; HTTP 401/429/5xx retry as for every API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
    chunks,
)
from narrowcast.apis import shopify
from narrowcast.apis.shopify import to_gid
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError

QUANTITY_NAME = "available"
REASON = "correction"
SET_QUANTITIES = """mutation inventorySet($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { reason } userErrors { field message code } }
}"""
# The first mutation, then the rows Shopify did not name once more; a third round only if the second names
# rows too (e.g. an item deleted in between). Each round drops at least one row, so this always ends.
MAX_ROUNDS = 3


class ShopifyInventory(Destination):
    name = "shopify_inventory"
    connection_id = shopify.CONNECTION_ID
    client_class = shopify.ShopifyApi
    # Its own name in error messages, so a failure tells the inventory destination from the shop source.
    api_name = "shopify_admin"
    objects = {
        "inventory_level": ObjectSpec(
            required_fields=frozenset({"inventory_item_id", "available"}),
            optional_fields=frozenset({"status", "sku"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # GraphQL is limited by query cost. At the lowest restore rate Shopify has published (50 points/s into a
    # 1,000-point bucket; current Standard plans list 100/s, Plus 1,000/s) a 10-point mutation can run 5 times a
    # second (= 1,250 levels/s), so 5 requests/s is a default every plan sustains. Shopify refuses input arrays
    # longer than 250 levels.
    limits = Limits(max_batch_size=250, default_rps=5.0, default_burst=5.0, max_concurrency=4)

    @classmethod
    def check_declaration(cls, object_name: str, target: Mapping[str, Any], fields: set[str]) -> str | None:
        if target.get("location_id") not in (None, "") and to_gid("Location", target["location_id"]) is None:
            return "location_id must be a numeric Shopify location id or gid://shopify/Location/<id>"
        return None

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json"}}

    def send(self, batch: Batch) -> list[RowResult]:
        location = self._location()
        results: dict[str, RowResult] = {}
        pending: list[tuple[Change, dict[str, Any]]] = []
        for change in batch.changes:
            quantity = self._quantity(change, location)
            if isinstance(quantity, RowResult):
                results[change.key] = quantity
            else:
                pending.append((change, quantity))
        for chunk in chunks(pending, self.limits.max_batch_size):
            results.update(self._set(chunk))
        return [results[c.key] for c in batch.changes]

    def _location(self) -> str:
        conn = self.context.connection
        raw = self.target.get("location_id") or conn.require("location_id")
        location = to_gid("Location", raw)
        if location is None:
            raise ValueError(f"connection {conn.conn_id!r} / sync target: location_id {raw!r} is neither a numeric "
                             "Shopify location id nor gid://shopify/Location/<id>")
        return location

    @staticmethod
    def _quantity(change: Change, location: str) -> dict[str, Any] | RowResult:
        """The mutation's quantity entry for a row, or the row's rejection when it cannot be sent."""
        p = change.payload
        item = to_gid("InventoryItem", p.get("inventory_item_id"))
        if item is None:
            return RowResult(change.key, "rejected", "inventory_item_id is not a numeric Shopify inventory item id "
                             "or gid://shopify/InventoryItem/<id>", sent=False)
        if change.op == "remove" or p.get("status") == "withdrawn":
            available = 0
        else:
            try:
                available = int(p["available"])
            except (KeyError, TypeError, ValueError):
                return RowResult(change.key, "rejected", "available is not a whole number", sent=False)
        return {"inventoryItemId": item, "locationId": location, "quantity": available}

    def _set(self, chunk: list[tuple[Change, dict[str, Any]]]) -> dict[str, RowResult]:
        """Set one chunk (≤ 250); rows Shopify names are rejected and the rest re-sent (all-or-nothing)."""
        results: dict[str, RowResult] = {}
        remaining = chunk
        for _ in range(MAX_ROUNDS):
            variables = {"input": {"name": QUANTITY_NAME, "reason": REASON, "ignoreCompareQuantity": True,
                                   "quantities": [q for _, q in remaining]}}
            data = self.client.graphql(SET_QUANTITIES, variables)
            payload = data.get("inventorySetQuantities")
            if not isinstance(payload, Mapping):
                raise FatalApiError(self.client.api_name, "POST", self.client.url(self.client.graphql_path), 200,
                                    "GraphQL answer has no inventorySetQuantities payload", data)
            user_errors = [e for e in payload.get("userErrors") or [] if isinstance(e, Mapping)]
            if not user_errors:
                results.update((c.key, RowResult(c.key, "accepted")) for c, _ in remaining)
                return results
            named: dict[int, list[Mapping[str, Any]]] = {}
            general: list[Mapping[str, Any]] = []
            for error in user_errors:
                index = _quantity_index(error.get("field"), len(remaining))
                (named.setdefault(index, []) if index is not None else general).append(error)
            if general or not named:
                # An error about the whole input (name, reason, ...): re-sending would fail the same way.
                reason = f"Shopify refused the mutation: {_user_errors(general or user_errors)}"
                results.update((c.key, RowResult(c.key, "rejected", reason)) for c, _ in remaining)
                return results
            for index, errors in named.items():
                change = remaining[index][0]
                results[change.key] = RowResult(change.key, "rejected",
                                                f"Shopify refused the level: {_user_errors(errors)}")
            remaining = [entry for i, entry in enumerate(remaining) if i not in named]
            if not remaining:
                return results
        reason = (f"not set: Shopify refused this batch {MAX_ROUNDS} times (the mutation is all-or-nothing); "
                  "sent again next run")
        results.update((c.key, RowResult(c.key, "rejected", reason)) for c, _ in remaining)
        return results


def _quantity_index(field: Any, size: int) -> int | None:
    """The quantity a userError's ``field`` points at (``["input", "quantities", "3", ...]``), or None."""
    if not isinstance(field, list) or len(field) < 3 or list(field[:2]) != ["input", "quantities"]:
        return None
    try:
        index = int(field[2])
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < size else None


def _user_errors(errors: list[Mapping[str, Any]]) -> str:
    # code and message only: Shopify's messages name the input, never a person
    return "; ".join(f"{e.get('code') or 'ERROR'}: {e.get('message')}" for e in errors)[:500]
