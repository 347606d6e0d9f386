"""Emulator of Shopify's ``POST /admin/api/{version}/inventory_levels/set.json`` (the shop destination).

Checks ``X-Shopify-Access-Token``; a leaky bucket (40 requests, 2/s refill by default, Plus: set
``bucket_size``/``leak_rate``) answers 429 + ``Retry-After`` and reports ``X-Shopify-Shop-Api-Call-Limit``;
unknown inventory items or locations get 422 with Shopify's ``errors`` shape. Levels are held per
(inventory_item_id, location_id) for :meth:`snapshot`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.world_index import read_world_table
from narrowcast.sandbox.framework import SANDBOX_TOKEN, Emulator

DEFAULT_LOCATION = 1


class ShopifyInventoryEmulator(Emulator):
    name = "shopify_inventory"
    prefix = "shopify"

    def __init__(self, world_dir: Path | None) -> None:
        self.bucket_size, self.leak_rate = 40.0, 2.0
        self._level, self._last = 0.0, time.monotonic()
        self._bucket_lock = threading.Lock()
        self.items: set[int] = set()
        self.locations: set[int] = {DEFAULT_LOCATION}
        self.levels: dict[tuple[int, int], int] = {}
        self.calls = 0
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
            self.calls = 0
            self._level, self._last = 0.0, time.monotonic()
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

    def _admit(self) -> tuple[bool, str]:
        with self._bucket_lock:
            now = time.monotonic()
            self._level = max(0.0, self._level - (now - self._last) * self.leak_rate)
            self._last = now
            if self._level + 1 > self.bucket_size:
                return False, f"{int(self._level)}/{int(self.bucket_size)}"
            self._level += 1
            return True, f"{int(self._level)}/{int(self.bucket_size)}"

    def routes(self, router: APIRouter) -> None:
        @router.post("/admin/api/{version}/inventory_levels/set.json")
        async def set_level(version: str, request: Request) -> Response:
            if request.headers.get("x-shopify-access-token") != SANDBOX_TOKEN:
                return self.unauthorized()
            admitted, usage = self._admit()
            if not admitted:
                response = self.rate_limited(1.0 / self.leak_rate)
                response.headers["X-Shopify-Shop-Api-Call-Limit"] = usage
                return response
            body = await request.json()
            headers = {"X-Shopify-Shop-Api-Call-Limit": usage}
            try:
                item, location, available = (int(body["inventory_item_id"]), int(body["location_id"]),
                                             int(body["available"]))
            except (KeyError, TypeError, ValueError):
                return JSONResponse({"errors": {"base": ["inventory_item_id, location_id and available are required"]}},
                                    status_code=422, headers=headers)
            with self.lock:
                self.calls += 1
                if item not in self.items:
                    return JSONResponse({"errors": {"inventory_item_id": ["not found"]}}, status_code=422,
                                        headers=headers)
                if location not in self.locations:
                    return JSONResponse({"errors": {"location_id": ["not found"]}}, status_code=422, headers=headers)
                self.levels[(item, location)] = available
                self.received.append({"inventory_item_id": item, "available": available})
            return JSONResponse({"inventory_level": {"inventory_item_id": item, "location_id": location,
                                                     "available": available,
                                                     "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}},
                                headers=headers)


EMULATOR = ShopifyInventoryEmulator
