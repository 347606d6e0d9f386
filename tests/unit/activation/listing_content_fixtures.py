"""Rows of the ``marketplace_listing_content`` mart and listing sync declarations for the listing-creation tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from activation_fixtures import Warehouse, make_connections

from narrowcast.activation.spec import SyncSpec, parse_sync
from narrowcast.contracts.connections import Connection
from narrowcast.local_credentials import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN

CONTENT_DDL = """create table if not exists marketplace_listing_content (
    sku varchar, marketplace varchar, title varchar, description varchar, brand varchar, gtin varchar,
    mpn varchar, condition varchar, image_urls varchar, marketplace_category varchar,
    aspects varchar, price decimal(18,2), currency varchar, quantity integer, missing_reason varchar,
    parent_sku varchar, variant_skus varchar, varies_by varchar)"""
EBAY_POLICIES = {"merchant_location_key": "WH-1", "fulfillment_policy_id": "6000001",
                 "payment_policy_id": "6000002", "return_policy_id": "6000003", "marketplace_id": "EBAY_DE"}
FIELDS = {name: name for name in ("sku", "title", "description", "brand", "gtin", "mpn", "condition", "image_urls",
                                  "aspects", "price", "currency", "quantity", "missing_reason")}


def content_rows(skus: int, marketplace: str) -> list[dict[str, Any]]:
    return [{"sku": f"CAT-{i:05d}", "marketplace": marketplace, "title": f"Linen shirt {i}",
             "description": f"A linen shirt, cut {i}.", "brand": "Narrowcast Wear", "gtin": f"{4006381333900 + i}",
             "mpn": f"LS-{i}", "condition": "new", "image_urls": f"https://img.example/{i}.jpg",
             "marketplace_category": "57990" if marketplace == "ebay" else "SHIRT",
             "aspects": '{"Colour": "Blue", "Size": "M"}', "price": 29.99, "currency": "EUR", "quantity": 5,
             "missing_reason": None} for i in range(skus)]


def content_warehouse(warehouse: Warehouse) -> Warehouse:
    warehouse.execute(CONTENT_DDL)
    return warehouse


def listing_connections(url: str) -> dict[str, Connection]:
    return make_connections(url, **EBAY_POLICIES)


def etsy_connection(url: str, shop_id: str) -> Connection:
    """``narrowcast_etsy`` on the sandbox, with the shop's listing settings createDraftListing needs."""
    return Connection(
        "narrowcast_etsy", f"{url}/etsy", login=LOCAL_CLIENT_ID, password=LOCAL_CLIENT_SECRET,
        extra={"shop_id": shop_id, "refresh_token": LOCAL_REFRESH_TOKEN, "shipping_profile_id": "234107945503",
               "who_made": "someone_else", "when_made": "made_to_order",
               "token_url": f"{url}/etsy/v3/public/oauth/token", "retry_base_delay": 0.01,
               "retry_max_delay": 0.05, "timeout_seconds": 5.0})


def listing_sync(marketplace: str, **overrides: Any) -> SyncSpec:
    if marketplace == "ebay":
        declared = {"destination": "ebay_listings", "connection": "narrowcast_ebay", "object": "listing",
                    "fields": {**FIELDS, "category_id": "marketplace_category", "parent_sku": "parent_sku",
                               "variant_skus": "variant_skus", "varies_by": "varies_by"}, "batch_size": 25}
    else:
        declared = {"destination": "amazon_listing_content", "connection": "narrowcast_amazon", "object": "listing",
                    "fields": {**FIELDS, "product_type": "marketplace_category"}, "batch_size": 25}
    raw = {"id": f"test_listings_{marketplace}", "model": "marketplace_listing_content", "key": "sku",
           "filter": {"marketplace": marketplace}, "schedule": "inventory", "mode": "mirror",
           "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1}, **declared, **overrides}
    return parse_sync(raw)


# The smallest valid JPEG header and end marker: the merchant's image host serves these bytes.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


class _Images(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        if not self.path.endswith(".jpg"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(JPEG)))
        self.end_headers()
        self.wfile.write(JPEG)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def merchant_image_host() -> Iterator[str]:
    """The merchant's own image host: Etsy takes image files, so the destination downloads each one."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
