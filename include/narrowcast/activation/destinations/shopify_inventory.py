"""The merchant's own shop: Shopify inventory levels set absolutely with ``inventory_levels/set.json``.

Connection ``narrowcast_shopify``: ``password`` = Admin API access token (``X-Shopify-Access-Token``); extra
``location_id`` (required unless the sync's target names one) and ``api_version`` (default 2024-10). One
item per request (the REST endpoint takes one level); withdrawn rows and rows that left the feed are set
to 0 because the shop keeps its product pages.
"""

from __future__ import annotations

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.connections import Connection
from narrowcast.http import FatalApiError
from narrowcast.sources.shopify.client import ShopifyAdminApi


class ShopifyAdminClient(ShopifyAdminApi):
    # Its own name in error messages, so a failure tells the inventory destination from the shop source.
    api_name = "shopify_admin"


class ShopifyInventory(Destination):
    name = "shopify_inventory"
    objects = {
        "inventory_level": ObjectSpec(
            required_fields=frozenset({"inventory_item_id", "available"}),
            optional_fields=frozenset({"status", "sku"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # Standard plans refill 2 requests/s into a 40-request bucket; Plus refills 20/s.
    limits = Limits(max_batch_size=250, default_rps=2.0, default_burst=40.0, max_concurrency=4)
    client_class = ShopifyAdminClient

    def auth_headers(self, connection: Connection) -> dict[str, str]:
        return {**ShopifyAdminClient.auth_headers(str(connection.password)), "Content-Type": "application/json"}

    def send(self, batch: Batch) -> list[RowResult]:
        return [self._set(change) for change in batch.changes]

    def _set(self, change: Change) -> RowResult:
        conn = self.context.connection
        version = str(conn.extra.get("api_version", "2024-10"))
        location = self.target.get("location_id") or conn.require("location_id")
        p = change.payload
        available = 0 if change.op == "remove" or p.get("status") == "withdrawn" else int(p["available"])
        body = {"location_id": int(location), "inventory_item_id": int(p["inventory_item_id"]), "available": available}
        try:
            self.client.post_json(f"admin/api/{version}/inventory_levels/set.json", body)
        except FatalApiError as exc:
            if exc.status in (404, 422):
                return RowResult(change.key, "rejected", f"Shopify refused the level: {exc.message}")
            raise
        return RowResult(change.key, "accepted")
