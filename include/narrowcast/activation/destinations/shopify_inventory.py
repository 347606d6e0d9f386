"""The merchant's own shop: Shopify inventory levels set absolutely with the GraphQL ``inventorySetQuantities``.

Connection ``narrowcast_shopify``: ``password`` = Admin API access token (``X-Shopify-Access-Token``); extra
``location_id`` (required unless the sync's target names one; a numeric id or ``gid://shopify/Location/<id>``)
and ``api_version`` (default in ``narrowcast.apis.versions``). Up to 250 levels go in one mutation
(``POST /admin/api/{version}/graphql.json``), as the ``available`` quantity with reason ``correction``.
Withdrawn rows and rows that left the feed are set to 0 because the shop keeps its product pages.

Compare-and-set: from API version 2026-04 every quantity must carry ``changeFromQuantity`` and
``ignoreCompareQuantity`` is gone (https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities).
So each batch first reads the items' current ``available`` quantities at the location in one query
(``narrowcast.apis.shopify.available_at``) and sends them as ``changeFromQuantity``: a sale in the shop between
the read and the write is never overwritten blindly. Items Shopify does not know, or that are not stocked at the
location, are rejected from the read without being sent. A batch therefore costs at least two calls. Each
mutation carries its own ``@idempotent`` key (required from 2026-04 too), so a retried request is applied once.

The mutation is all-or-nothing: when Shopify names invalid quantities in ``userErrors`` (``field`` =
``["input", "quantities", "<index>", ...]``) nothing is set. A ``CHANGE_FROM_QUANTITY_STALE`` row (the shop
changed it after the read) is read again, once, and sent with the rest; a row stale again after its re-read,
and every row named with another code, is rejected with Shopify's message (the engine sends rejections again
next run). Throttling is cost-based and retried by the Shopify client (``narrowcast.apis.shopify``) at most
``max_attempts`` times. Any other top-level GraphQL error fails the batch with Shopify's message; HTTP
401/429/5xx retry as for every API.
"""

from __future__ import annotations

import uuid
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
# The @idempotent directive exists from 2026-01 and is required from 2026-04 ("calling these mutations without an
# idempotency directive will result in an error at runtime",
# https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations).
# One fresh key per mutation; the client's retries resend the same body, so a retry after a lost answer is
# recognised and answered with the original result instead of being applied twice.
IDEMPOTENT_SINCE = "2026-01"


def set_quantities_mutation(idempotency_key: str | None) -> str:
    """The mutation text, with ``@idempotent(key: ...)`` when a key is given (a UUID: nothing to escape)."""
    directive = f' @idempotent(key: "{idempotency_key}")' if idempotency_key else ""
    return ("mutation inventorySet($input: InventorySetQuantitiesInput!) {\n"
            f"  inventorySetQuantities(input: $input){directive} "
            "{ inventoryAdjustmentGroup { reason } userErrors { field message code } }\n}")
# Each round after the first either drops a row Shopify named or re-reads a stale one (once per row), so the
# rounds end on their own; this bound only caps the calls one batch can make when the shop keeps changing.
MAX_ROUNDS = 4


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
    # second (= 1,250 levels/s), so 5 requests/s is a default every plan sustains; the compare-and-set read before
    # each mutation is one of those requests, and its cost comes back in extensions.cost for the client to obey.
    # Shopify refuses input arrays longer than 250 levels.
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
            results.update(self._set(chunk, location))
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
        """The mutation's quantity entry for a row (its ``changeFromQuantity`` comes from the read), or the row's
        rejection when it cannot be sent."""
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

    def _read(self, entries: list[tuple[Change, dict[str, Any]]], location: str,
              results: dict[str, RowResult]) -> list[tuple[Change, dict[str, Any]]]:
        """``entries`` with ``changeFromQuantity`` set from one read of the shop; rows it cannot be set for are
        put in ``results`` as rejections (sending them would only earn Shopify's refusal)."""
        current = shopify.available_at(self.client, [q["inventoryItemId"] for _, q in entries], location)
        ready = []
        for change, quantity in entries:
            found = current.get(quantity["inventoryItemId"])
            if found is None:
                results[change.key] = RowResult(change.key, "rejected", "not sent: Shopify has no such inventory "
                                                "item (INVALID_INVENTORY_ITEM)", sent=False)
            elif found == shopify.NOT_STOCKED:
                results[change.key] = RowResult(change.key, "rejected", "not sent: the inventory item is not "
                                                "stocked at the location (ITEM_NOT_STOCKED_AT_LOCATION)", sent=False)
            else:
                ready.append((change, {**quantity, "changeFromQuantity": found}))
        return ready

    def _set(self, chunk: list[tuple[Change, dict[str, Any]]], location: str) -> dict[str, RowResult]:
        """Set one chunk (≤ 250): read, then mutate; named rows are rejected or (stale, once) re-read, and the
        rest re-sent, because the mutation is all-or-nothing."""
        results: dict[str, RowResult] = {}
        remaining = self._read(chunk, location, results)
        reread: set[str] = set()
        for _ in range(MAX_ROUNDS):
            if not remaining:
                return results
            variables = {"input": {"name": QUANTITY_NAME, "reason": REASON,
                                   "quantities": [q for _, q in remaining]}}
            key = str(uuid.uuid4()) if self.client.api_version >= IDEMPOTENT_SINCE else None
            data = self.client.graphql(set_quantities_mutation(key), variables)
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
            stale: list[tuple[Change, dict[str, Any]]] = []
            for index, errors in named.items():
                change, quantity = remaining[index]
                if change.key not in reread and all(e.get("code") == shopify.CHANGE_FROM_QUANTITY_STALE
                                                    for e in errors):
                    stale.append((change, quantity))
                else:
                    results[change.key] = RowResult(change.key, "rejected",
                                                    f"Shopify refused the level: {_user_errors(errors)}")
            remaining = [entry for i, entry in enumerate(remaining) if i not in named]
            if stale:
                reread.update(c.key for c, _ in stale)
                remaining += self._read(stale, location, results)
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
