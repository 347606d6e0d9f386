"""The file drops a merchant's other systems leave in the inbox: ERP stock, budget plan, listings, privacy
requests, and an orders export from the point-of-sale system."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.catalog import Catalog
from narrowcast.datagen.customers import CUSTOMER_ID_BASE, Customers
from narrowcast.datagen.table_writer import money, pick, timestamps
from narrowcast.datagen.traffic import CHANNELS

WAREHOUSES = ("DE-BER-1", "NL-AMS-1")
CSV_TIME = "%Y-%m-%d %H:%M:%S"


def csv_time(epoch_seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pc.strftime(timestamps(epoch_seconds, valid).cast(pa.timestamp("s")), format=CSV_TIME)


def erp_stock(rng: np.random.Generator, catalog: Catalog, snapshot_s: int) -> pa.Table:
    """On-hand per SKU: never negative, a few at 0 and a few low (1–3) so the listing feed has edge cases."""
    n = catalog.size
    base = np.maximum(5, np.round(catalog.popularity * n * 40)).astype(np.int64)
    on_hand = rng.poisson(base)
    roll = rng.random(n)
    on_hand = np.where(roll < 0.04, 0, np.where(roll < 0.10, rng.integers(1, 4, n), on_hand))
    return pa.table({
        "sku": pa.array(catalog.sku, pa.string()),
        "on_hand": pa.array(on_hand.astype(np.int64)),
        "cost": money(catalog.cost_cents),
        "warehouse": pick(list(WAREHOUSES), (rng.random(n) < 0.2).astype(np.int64)),
        "snapshot_at": csv_time(np.full(n, snapshot_s)),
    })


def budget_plan(rng: np.random.Generator, months: list[str], actual: dict[str, np.ndarray]) -> pa.Table:
    """Plan per month × channel: what the marketing team expected, i.e. the actuals ± 20 % (spend in €100 steps).

    ``actual`` maps 'spend_cents', 'sessions', 'orders', 'revenue_cents' to (months × channels) arrays.
    """
    shape = (len(months), len(CHANNELS))
    noise = rng.uniform(0.82, 1.2, (4, *shape))
    spend = np.round(actual["spend_cents"] * noise[0] / 10_000).astype(np.int64) * 10_000
    revenue = np.round(actual["revenue_cents"] * noise[3] / 10_000).astype(np.int64) * 10_000
    return pa.table({
        "month": pa.array(np.repeat(months, len(CHANNELS)).astype(object), pa.string()),
        "channel": pa.array(np.tile(np.array(CHANNELS, dtype=object), len(months)), pa.string()),
        "planned_spend": money(spend.ravel()),
        "planned_sessions": pa.array(np.round(actual["sessions"] * noise[1]).astype(np.int64).ravel()),
        "planned_orders": pa.array(np.round(actual["orders"] * noise[2]).astype(np.int64).ravel()),
        "planned_revenue": money(revenue.ravel()),
    })


def privacy_requests(rng: np.random.Generator, customers: Customers, end_s: int) -> pa.Table:
    """A handful of opt-outs (from subscribers) and deletion requests in the last ten days."""
    k = max(3, customers.size // 1000)
    pool = np.flatnonzero(~customers.is_test)
    subscribers = np.flatnonzero(customers.accepts_marketing & ~customers.is_test)
    opt_out = rng.choice(subscribers, min(k, len(subscribers)), replace=False)
    rest = np.setdiff1d(pool, opt_out)
    delete = rng.choice(rest, min(k, len(rest)), replace=False)
    who = np.concatenate([np.sort(opt_out), np.sort(delete)])
    kind = np.concatenate([np.zeros(len(opt_out), np.int64), np.ones(len(delete), np.int64)])
    when = end_s - rng.integers(3600, 10 * 86400, len(who))
    return pa.table({
        "customer_id": pa.array(CUSTOMER_ID_BASE + who),
        "email": customers.email_clean.take(pa.array(who)),
        "request_type": pick(["opt_out", "delete"], kind),
        "requested_at": csv_time(when),
    })


def orders_export(rng: np.random.Generator, customers: Customers, catalog: Catalog, start_s: int,
                  end_s: int, n_orders: int) -> pa.Table:
    """Point-of-sale orders (one row per line) in the generic orders-import format; ids are 'POS-<n>'.

    customer_id is the POS system's text key, as a real export writes it: the Shopify id for customers the POS
    shares with the shop (one of them zero-padded by the POS, '00…', linked back only by the e-mail on the
    row), 'C-<n>' for walk-in customers the shop has never seen (with their own e-mail or none), empty for
    anonymous sales.
    """
    per = rng.choice([1, 2, 3], n_orders, p=[0.6, 0.3, 0.1])
    o = np.repeat(np.arange(n_orders), per)
    line_number = np.arange(len(o)) - np.concatenate([[0], np.cumsum(per)[:-1]])[o] + 1
    active = np.flatnonzero(catalog.active)
    product = active[rng.integers(0, len(active), len(o))]
    qty = rng.choice([1, 2], len(o), p=[0.85, 0.15])
    line_price = catalog.price_cents[product]
    gross = np.bincount(o, weights=line_price * qty, minlength=n_orders).astype(np.int64)
    discount = np.where(rng.random(n_orders) < 0.15, gross // 10, 0)
    total = gross - discount
    status = rng.choice(3, n_orders, p=[0.93, 0.04, 0.03])  # paid, partially_refunded, refunded
    refunded = np.where(status == 2, total, np.where(status == 1, total // 4, 0))
    known = rng.random(n_orders) < 0.6
    pool = np.flatnonzero(~customers.is_test)
    who = pool[rng.integers(0, len(pool), n_orders)]
    ordered = np.sort(start_s + 3600 + (rng.random(n_orders) * (end_s - start_s - 7200)).astype(np.int64))
    ol = pa.array(o)
    walk_in = known & (rng.random(n_orders) < 0.25)
    walk_in_no = rng.integers(1, max(2, n_orders // 6), n_orders)  # a small pool: walk-ins come back
    shop_id = (CUSTOMER_ID_BASE + who).astype(str).astype(object)
    padded = np.flatnonzero(known & ~walk_in)[:1]
    shop_id[padded] = ["00" + shop_id[i] for i in padded]
    walk_in_id = np.array([f"C-{n}" for n in walk_in_no], dtype=object)
    walk_in_email = np.array([f"walkin{n}@example.net" if n % 3 else None for n in walk_in_no], dtype=object)
    cust_id = pa.array(np.where(walk_in, walk_in_id, np.where(known, shop_id, None)), pa.string())
    shop_email = customers.email.take(pa.array(who)).to_numpy(zero_copy_only=False)
    email = pa.array(np.where(walk_in, walk_in_email, np.where(known, shop_email, None)), pa.string())
    return pa.table({
        "order_id": pc.binary_join_element_wise("POS-", pa.array((100_001 + np.arange(n_orders)).astype(str)),
                                                "").take(ol),
        "customer_id": cust_id.take(ol),
        "ordered_at": csv_time(ordered[o]),
        "currency": pa.array(np.full(len(o), "EUR", dtype=object), pa.string()),
        "total_price": money(total[o]),
        "email": email.take(ol),
        "financial_status": pick(["paid", "partially_refunded", "refunded"], status[o]),
        "cancelled_at": pa.nulls(len(o), pa.string()),
        "refunded_amount": money(refunded[o]),
        "discount_amount": money(discount[o]),
        "sku": pa.array(catalog.sku, pa.string()).take(pa.array(product)),
        "quantity": pa.array(qty.astype(np.int64)),
        "line_price": money(line_price),
        "line_number": pa.array(line_number.astype(np.int64)),
    })


def month_labels(start: date, days: int) -> list[str]:
    first = np.datetime64(start, "M")
    last = np.datetime64(np.datetime64(start, "D") + days - 1, "M")
    return [str(m) for m in np.arange(first, last + 1)]
