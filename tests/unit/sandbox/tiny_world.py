"""A small deterministic world with the generator's columns (contracts §1), written as parquet for the emulators."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from narrowcast.contracts.connections import Connection
from narrowcast.sandbox.framework import SANDBOX_TOKEN

WORLD_START = datetime(2024, 3, 1)
WORLD_DAYS = 10
N_CUSTOMERS = 40
N_PRODUCTS = 12
N_ORDERS = 620  # more than two Shopify pages of 250
META_ACCOUNT = 1234567890
META_CAMPAIGNS = 60  # 600 insight rows: more than one page of 500
GOOGLE_CUSTOMER = 9876543210
GOOGLE_CAMPAIGNS = 30
N_EBAY_ORDERS = 260
N_AMAZON_ORDERS = 150
MONEY = pa.decimal128(18, 2)
TS = pa.timestamp("us")

EMULATORS = ["shopify", "meta_insights", "google_ads_reporting", "ebay_fulfillment", "amazon_orders"]


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


def _moment(rng: random.Random) -> datetime:
    # Whole seconds, like the generator; a few rows land exactly on midnight (window boundaries).
    if rng.random() < 0.05:
        return WORLD_START + timedelta(days=rng.randrange(1, WORLD_DAYS))
    return WORLD_START + timedelta(seconds=rng.randrange(WORLD_DAYS * 86400))


def _write(path: Path, rows: list[dict], types: dict[str, pa.DataType]) -> None:
    schema = pa.schema([(name, types.get(name, pa.string())) for name in rows[0]])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def build_world(world: Path, seed: int = 7) -> Path:
    """Write the world parquet files the source emulators read; returns the directory."""
    rng = random.Random(seed)
    world.mkdir(parents=True, exist_ok=True)
    customers = []
    for cid in range(1, N_CUSTOMERS + 1):
        created = WORLD_START - timedelta(days=rng.randrange(1, 300))
        customers.append({
            "customer_id": cid, "email": f"c{cid}@example.com", "phone": f"+4915{cid:07d}",
            "first_name": f"First{cid}", "last_name": f"Last{cid}", "country_code": rng.choice(["DE", "FR"]),
            "region": "BE", "city": "Berlin", "accepts_marketing": cid % 3 != 0,
            "marketing_consent_updated_at": created if cid % 3 else None,
            "created_at": created, "updated_at": _moment(rng), "is_test": cid == 1,
        })
    _write(world / "customers.parquet", customers, {
        "customer_id": pa.int64(), "accepts_marketing": pa.bool_(), "marketing_consent_updated_at": TS,
        "created_at": TS, "updated_at": TS, "is_test": pa.bool_()})
    products = [{
        "product_id": 100 + p, "variant_id": 1000 + p, "inventory_item_id": 5000 + p, "sku": f"SKU-{p:03d}",
        "title": f"Product {p}", "category": rng.choice(["shoes", "bags"]), "brand": "Acme",
        "price": _cents(rng, 999, 9999), "cost": _cents(rng, 100, 900), "map_price": None, "max_price": None,
        "created_at": WORLD_START - timedelta(days=400), "updated_at": _moment(rng),
        "status": "active" if p % 5 else "archived",
    } for p in range(1, N_PRODUCTS + 1)]
    _write(world / "products.parquet", products, {
        "product_id": pa.int64(), "variant_id": pa.int64(), "inventory_item_id": pa.int64(), "price": MONEY,
        "cost": MONEY, "map_price": MONEY, "max_price": MONEY, "created_at": TS, "updated_at": TS})
    orders, lines, refunds = [], [], []
    for n in range(1, N_ORDERS + 1):
        oid, created = 900000 + n, _moment(rng)
        updated = created if rng.random() < 0.7 else min(created + timedelta(hours=rng.randrange(1, 48)),
                                                       WORLD_START + timedelta(days=WORLD_DAYS))
        subtotal = Decimal(0)
        for k in range(rng.randint(1, 3)):
            product = rng.choice(products)
            qty = rng.randint(1, 3)
            subtotal += product["price"] * qty
            lines.append({"line_item_id": oid * 10 + k, "order_id": oid, "product_id": product["product_id"],
                          "variant_id": product["variant_id"], "sku": product["sku"], "title": product["title"],
                          "quantity": qty, "price": product["price"], "total_discount": Decimal("0.00")})
        cancelled = created + timedelta(hours=1) if n % 17 == 0 else None
        refunded = n % 11 == 0
        if refunded:
            refunds.append({"refund_id": 70000 + n, "order_id": oid, "created_at": updated,
                            "line_item_id": oid * 10, "quantity": 1, "subtotal": lines[-1]["price"]})
        orders.append({
            "order_id": oid, "order_number": 1000 + n, "customer_id": rng.choice([None, *range(1, N_CUSTOMERS)]),
            "email": f"o{n}@example.com", "created_at": created, "updated_at": updated, "processed_at": created,
            "cancelled_at": cancelled, "cancel_reason": "customer" if cancelled else None,
            "financial_status": "partially_refunded" if refunded else "paid",
            "fulfillment_status": "fulfilled" if n % 3 == 0 else None,
            # an order imported from a marketplace names the marketplace's order id (Order.sourceIdentifier, or a
            # note attribute written by the importing app)
            "source_identifier": f"12-{n:05d}-00001" if n % 6 == 0 else None,
            "note_attributes": json.dumps({"eBay Order ID": f"13-{n:05d}-00002"}) if n % 9 == 0 else None,
            "currency": "EUR", "subtotal_price": subtotal, "total_discounts": Decimal("0.00"),
            "total_tax": Decimal("0.00"), "total_shipping": Decimal("4.90"), "total_price": subtotal + Decimal("4.90"),
            "discount_code": "SPRING10" if n % 7 == 0 else None, "test": n == 3, "source_name": "web",
            "landing_site": "/?utm_source=google", "referring_site": None, "billing_country_code": "DE",
        })
    order_money = {k: MONEY for k in ("subtotal_price", "total_discounts", "total_tax", "total_shipping",
                                      "total_price")}
    _write(world / "orders.parquet", orders, {
        "order_id": pa.int64(), "order_number": pa.int64(), "customer_id": pa.int64(), "created_at": TS,
        "updated_at": TS, "processed_at": TS, "cancelled_at": TS, "test": pa.bool_(), **order_money})
    _write(world / "order_lines.parquet", lines, {
        "line_item_id": pa.int64(), "order_id": pa.int64(), "product_id": pa.int64(), "variant_id": pa.int64(),
        "quantity": pa.int32(), "price": MONEY, "total_discount": MONEY})
    _write(world / "refunds.parquet", refunds, {
        "refund_id": pa.int64(), "order_id": pa.int64(), "created_at": TS, "line_item_id": pa.int64(),
        "quantity": pa.int32(), "subtotal": MONEY})
    insights = [{
        "account_id": META_ACCOUNT, "campaign_id": 23800000 + c, "campaign_name": f"Meta campaign {c}",
        "date": (WORLD_START + timedelta(days=d)).date(), "impressions": rng.randint(0, 90000),
        "clicks": rng.randint(0, 900), "spend": _cents(rng, 0, 90000), "purchases": rng.randint(0, 9),
        "purchase_value": _cents(rng, 0, 90000), "updated_at": WORLD_START + timedelta(days=d + 1),
        "restated": False,
    } for d in range(WORLD_DAYS) for c in range(1, META_CAMPAIGNS + 1)]
    _write(world / "meta_insights.parquet", insights, {
        "account_id": pa.int64(), "campaign_id": pa.int64(), "date": pa.date32(), "impressions": pa.int64(),
        "clicks": pa.int64(), "spend": MONEY, "purchases": pa.int64(), "purchase_value": MONEY, "updated_at": TS,
        "restated": pa.bool_()})
    stats = [{
        "customer_id": GOOGLE_CUSTOMER, "campaign_id": 17000000000 + c, "campaign_name": f"Search {c}",
        "date": (WORLD_START + timedelta(days=d)).date(), "impressions": rng.randint(0, 50000),
        "clicks": rng.choice([0, rng.randint(1, 700)]), "cost_micros": rng.randint(0, 90_000_000_000),
        "conversions": rng.choice([0.0, round(rng.uniform(0, 20), 2)]),
        "conversions_value": round(rng.uniform(0, 2000), 2),
    } for d in range(WORLD_DAYS) for c in range(1, GOOGLE_CAMPAIGNS + 1)]
    _write(world / "google_ads_stats.parquet", stats, {
        "customer_id": pa.int64(), "campaign_id": pa.int64(), "date": pa.date32(), "impressions": pa.int64(),
        "clicks": pa.int64(), "cost_micros": pa.int64(), "conversions": pa.float64(),
        "conversions_value": pa.float64()})
    ebay = []
    for n in range(1, N_EBAY_ORDERS + 1):
        created = _moment(rng)
        for k in range(rng.randint(1, 2)):
            ebay.append({
                "order_id": f"12-{n:05d}-{n * 7 % 99991:05d}", "line_item_id": f"1000{n:05d}{k}", "creation_date": created,
                "last_modified_date": created + timedelta(minutes=n % 5),
                "order_fulfillment_status": rng.choice(["NOT_STARTED", "IN_PROGRESS", "FULFILLED"]),
                "order_payment_status": "PAID", "cancel_state": "CANCELED" if n % 13 == 0 else "NONE_REQUESTED",
                "buyer_username": f"buyer{n}", "buyer_email": f"b{n}@members.ebay.com",
                "sku": rng.choice(products)["sku"], "quantity": rng.randint(1, 2),
                "line_item_cost": _cents(rng, 500, 9000), "currency": "EUR", "marketplace_id": "EBAY_DE",
            })
    _write(world / "ebay_orders.parquet", ebay, {
        "creation_date": TS, "last_modified_date": TS, "quantity": pa.int32(), "line_item_cost": MONEY})
    amazon = []
    for n in range(1, N_AMAZON_ORDERS + 1):
        purchased = _moment(rng)
        for k in range(rng.randint(1, 3)):
            qty = rng.randint(1, 2)
            amazon.append({
                "amazon_order_id": f"302-{n:07d}-{n * 13 % 9999991:07d}", "order_item_id": f"{n:07d}{k:07d}",
                "purchase_date": purchased, "last_update_date": purchased + timedelta(hours=n % 3),
                "order_status": rng.choice(["Unshipped", "Shipped", "Canceled"]),
                "marketplace_id": "A1PA6795UKMFR9" if n % 4 else "A13V1IB3VIYZZH",
                "buyer_email": f"x{n}@marketplace.amazon.de", "seller_sku": rng.choice(products)["sku"],
                "quantity_ordered": qty, "quantity_shipped": qty if n % 2 else 0,
                "item_price": _cents(rng, 500, 9000), "currency": "EUR",
            })
    _write(world / "amazon_orders.parquet", amazon, {
        "purchase_date": TS, "last_update_date": TS, "quantity_ordered": pa.int32(), "quantity_shipped": pa.int32(),
        "item_price": MONEY})
    return world


def sandbox_connection(server: Any, prefix: str, conn_id: str, **extra: object) -> Connection:
    return Connection(conn_id, f"{server.url}/{prefix}", password=SANDBOX_TOKEN, extra=dict(extra))


def day(n: int) -> date:
    return (WORLD_START + timedelta(days=n)).date()
