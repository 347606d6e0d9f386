"""Shopify Admin REST emulator (source side): ``orders.json``, ``customers.json``, ``products.json``.

Served from the world files sorted by ``(updated_at, id)``; cursor pagination through the ``Link`` header with
an opaque ``page_info`` that carries the filters, so — as on the real API — later pages accept only
``page_info``, ``limit`` and ``fields``. Timestamps are rendered in the shop's zone (UTC+01:00), money as
strings. Other Shopify emulators (inventory) reuse :class:`ShopifyErrors` for the error envelope.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.api_versions import shopify_served_version
from narrowcast.sandbox.emulators.world_index import (
    KeyIndex,
    decode_cursor,
    encode_cursor,
    epoch_us,
    json_array,
    money_text,
    read_world_table,
)
from narrowcast.sandbox.framework import SANDBOX_TOKEN, Emulator

SHOP_ZONE = timezone(timedelta(hours=1))  # the demo shop's zone: Shopify renders times in shop time
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
_VERSION = re.compile(r"^\d{4}-\d{2}$|^unstable$")
_ORDER_STATUSES = ("open", "closed", "cancelled", "any")
# Leaky bucket reported in X-Shopify-Shop-Api-Call-Limit (standard plan: 40 deep, 2 leak per second).
_BUCKET_SIZE = 40
_LEAK_PER_SECOND = 2.0


class ShopifyErrors:
    """Shopify's error envelope: ``{"errors": "..."}`` or ``{"errors": {"field": ["..."]}}``."""

    def shopify_error(self, status: int, errors: Any, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"errors": errors}, status_code=status, headers=headers)

    def rate_limited(self, retry_after: float) -> Response:
        return self.shopify_error(
            429, "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
            {"Retry-After": f"{float(retry_after):.1f}", "X-Shopify-Shop-Api-Call-Limit": f"{_BUCKET_SIZE}/{_BUCKET_SIZE}"},
        )

    def server_error(self) -> Response:
        return self.shopify_error(500, "Internal Server Error")

    def unauthorized(self) -> Response:
        return self.shopify_error(401, "[API] Invalid API key or access token (unrecognized login or wrong password)")

    def authorized(self, request: Request) -> bool:
        return request.headers.get("X-Shopify-Access-Token") == SANDBOX_TOKEN


def shop_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(SHOP_ZONE).isoformat()


class ShopifyEmulator(ShopifyErrors, Emulator):
    name = "shopify"
    prefix = "shopify"

    def __init__(self, world_dir: Path | None) -> None:
        self._bucket = 0.0
        self._bucket_at = time.monotonic()
        super().__init__(world_dir)

    # ---- world → indexes -----------------------------------------------------------------------------
    def load(self) -> None:
        customers = read_world_table(self.world_dir, "customers")
        customer_json = {c["customer_id"]: _customer(c) for c in customers}
        lines: dict[int, list[dict]] = defaultdict(list)
        for line in read_world_table(self.world_dir, "order_lines"):
            lines[line["order_id"]].append(line)
        refunds: dict[int, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for refund in read_world_table(self.world_dir, "refunds"):
            refunds[refund["order_id"]][refund["refund_id"]].append(refund)
        by_status: dict[str, list[tuple[int, int, str]]] = {status: [] for status in _ORDER_STATUSES}
        for order in read_world_table(self.world_dir, "orders"):
            blob = json.dumps(_order(order, lines.get(order["order_id"], []), refunds.get(order["order_id"], {}),
                                     customer_json.get(order["customer_id"])), separators=(",", ":"))
            entry = (epoch_us(order["updated_at"]), order["order_id"], blob)
            by_status["any"].append(entry)
            by_status["cancelled" if order["cancelled_at"] is not None else "open"].append(entry)
        self.indexes: dict[str, dict[str, KeyIndex]] = {
            "orders": {status: KeyIndex(entries) for status, entries in by_status.items()},
            "customers": {"any": KeyIndex([
                (epoch_us(c["updated_at"]), c["customer_id"], json.dumps(customer_json[c["customer_id"]]))
                for c in customers])},
            "products": {"any": KeyIndex([
                (epoch_us(p["updated_at"]), p["product_id"], json.dumps(_product(p)))
                for p in read_world_table(self.world_dir, "products")])},
        }

    # ---- routes ------------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        for resource in ("orders", "customers", "products"):
            router.add_api_route(f"/admin/api/{{version}}/{resource}.json", self._endpoint(resource),
                                 methods=["GET"], name=f"shopify_{resource}")

    def _endpoint(self, resource: str):
        def handler(version: str, request: Request) -> Response:
            # A sunset version falls forward to the oldest supported one, and every answer names the version
            # that served it in X-Shopify-API-Version (https://shopify.dev/docs/api/usage/versioning).
            served = shopify_served_version(version)
            response = self.list_resource(resource, served, request)
            response.headers["X-Shopify-API-Version"] = served
            return response
        return handler

    def list_resource(self, resource: str, version: str, request: Request) -> Response:
        if not self.authorized(request):
            return self.unauthorized()
        if not _VERSION.match(version):
            return self.shopify_error(404, "Not Found")
        query = request.query_params
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return self.shopify_error(400, {"limit": ["expected Integer to be a Integer"]})
        limit = max(1, min(limit, MAX_LIMIT))
        if "page_info" in query:
            extra = sorted(set(query) - {"page_info", "limit", "fields"})
            if extra:
                return self.shopify_error(400, {extra[0]: [f"{extra[0]} cannot be passed when page_info is present"]})
            try:
                state = decode_cursor(query["page_info"])
                status, low, high, after = state["status"], state["min"], state["max"], tuple(state["after"])
            except (ValueError, KeyError, TypeError):
                return self.shopify_error(400, {"page_info": ["Invalid value."]})
        else:
            status = query.get("status", "open") if resource == "orders" else "any"
            if status not in _ORDER_STATUSES:
                return self.shopify_error(400, {"status": [f"{status!r} is not a valid status"]})
            try:
                low = _micros(query.get("updated_at_min"))
                high = _micros(query.get("updated_at_max"))
            except ValueError as exc:
                return self.shopify_error(400, {"updated_at": [str(exc)]})
            after = None
        index = self.indexes[resource].get(status) or KeyIndex([])
        lo, hi = index.bounds(low, high)
        start = max(lo, index.after(after)) if after else lo
        stop = min(hi, start + limit)
        headers = {"X-Shopify-Shop-Api-Call-Limit": self._call_limit()}
        if stop < hi:
            cursor = encode_cursor({"status": status, "min": low, "max": high, "after": list(index.keys[stop - 1])})
            next_url = request.url.replace(query=urlencode({"limit": limit, "page_info": cursor}))
            headers["Link"] = f'<{next_url}>; rel="next"'
        body = f'{{"{resource}":{json_array(index.payloads[start:stop])}}}'
        return Response(body, media_type="application/json", headers=headers)

    def _call_limit(self) -> str:
        with self.lock:
            now = time.monotonic()
            self._bucket = max(0.0, self._bucket - (now - self._bucket_at) * _LEAK_PER_SECOND) + 1
            self._bucket_at = now
            return f"{min(int(self._bucket), _BUCKET_SIZE - 1)}/{_BUCKET_SIZE}"


def _micros(value: str | None) -> int | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    return epoch_us(moment)


# ---- world rows → Shopify JSON ---------------------------------------------------------------------------
def _customer(c: dict[str, Any]) -> dict[str, Any]:
    if c["accepts_marketing"]:
        state = "subscribed"
    elif c["marketing_consent_updated_at"] is not None:
        state = "unsubscribed"
    else:
        state = "not_subscribed"
    return {
        "id": c["customer_id"], "email": c["email"], "accepts_marketing": bool(c["accepts_marketing"]),
        "created_at": shop_time(c["created_at"]), "updated_at": shop_time(c["updated_at"]),
        "first_name": c["first_name"], "last_name": c["last_name"], "state": "enabled", "note": None,
        "verified_email": True, "tags": "test" if c["is_test"] else "", "phone": c["phone"],
        "email_marketing_consent": {"state": state, "opt_in_level": "single_opt_in",
                                    "consent_updated_at": shop_time(c["marketing_consent_updated_at"])},
        "default_address": {"customer_id": c["customer_id"], "first_name": c["first_name"],
                            "last_name": c["last_name"], "city": c["city"], "province": c["region"],
                            "country_code": c["country_code"], "default": True},
        "admin_graphql_api_id": f"gid://shopify/Customer/{c['customer_id']}",
    }


def _order(o: dict[str, Any], lines: list[dict], refunds: dict[int, list[dict]],
           customer: dict[str, Any] | None) -> dict[str, Any]:
    currency = o["currency"]
    line_items = [{
        "id": li["line_item_id"], "product_id": li["product_id"], "variant_id": li["variant_id"],
        "sku": li["sku"], "title": li["title"], "quantity": li["quantity"], "price": money_text(li["price"]),
        "total_discount": money_text(li["total_discount"]), "fulfillable_quantity": li["quantity"],
        "price_set": {"shop_money": {"amount": money_text(li["price"]), "currency_code": currency}},
    } for li in lines]
    refund_objects = []
    for refund_id, rows in sorted(refunds.items()):
        refund_objects.append({
            "id": refund_id, "order_id": o["order_id"], "created_at": shop_time(rows[0]["created_at"]),
            "processed_at": shop_time(rows[0]["created_at"]), "note": None, "restock": False,
            "refund_line_items": [{
                "id": refund_id * 100 + n, "line_item_id": r["line_item_id"], "quantity": r["quantity"],
                "subtotal": money_text(r["subtotal"]), "total_tax": "0.00", "restock_type": "no_restock",
            } for n, r in enumerate(rows, start=1)],
            "transactions": [],
        })
    discount = o["discount_code"]
    return {
        "id": o["order_id"], "admin_graphql_api_id": f"gid://shopify/Order/{o['order_id']}",
        "name": f"#{o['order_number']}", "order_number": o["order_number"], "email": o["email"],
        "created_at": shop_time(o["created_at"]), "updated_at": shop_time(o["updated_at"]),
        "processed_at": shop_time(o["processed_at"]), "cancelled_at": shop_time(o["cancelled_at"]),
        "cancel_reason": o["cancel_reason"], "closed_at": None,
        "financial_status": o["financial_status"], "fulfillment_status": o["fulfillment_status"],
        "currency": currency, "presentment_currency": currency,
        "subtotal_price": money_text(o["subtotal_price"]), "total_discounts": money_text(o["total_discounts"]),
        "total_tax": money_text(o["total_tax"]), "total_price": money_text(o["total_price"]),
        "total_shipping_price_set": {"shop_money": {"amount": money_text(o["total_shipping"]),
                                                    "currency_code": currency}},
        "discount_codes": [{"code": discount, "amount": money_text(o["total_discounts"]), "type": "percentage"}]
        if discount else [],
        "test": bool(o["test"]), "source_name": o["source_name"], "landing_site": o["landing_site"],
        "referring_site": o["referring_site"],
        "billing_address": {"country_code": o["billing_country_code"]} if o["billing_country_code"] else None,
        "customer": customer, "line_items": line_items, "refunds": refund_objects,
    }


def _product(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["product_id"], "title": p["title"], "vendor": p["brand"], "product_type": p["category"],
        "handle": (p["sku"] or str(p["product_id"])).lower(), "status": p["status"],
        "created_at": shop_time(p["created_at"]), "updated_at": shop_time(p["updated_at"]),
        "published_at": shop_time(p["created_at"]), "tags": "",
        "variants": [{
            "id": p["variant_id"], "product_id": p["product_id"], "title": "Default Title",
            "sku": p["sku"], "price": money_text(p["price"]), "compare_at_price": None, "position": 1,
            "inventory_item_id": p["inventory_item_id"], "created_at": shop_time(p["created_at"]),
            "updated_at": shop_time(p["updated_at"]),
        }],
        "options": [{"name": "Title", "values": ["Default Title"]}],
    }


EMULATOR = ShopifyEmulator
