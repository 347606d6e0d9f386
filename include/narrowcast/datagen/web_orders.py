"""Shop (web) orders with line items, discount codes, refunds, cancellations, guests and test orders.

Money is integer cents throughout; prices are net of VAT (``taxes_included`` false), tax and shipping are added
on top, so ``total_price = subtotal_price + total_tax + total_shipping`` and
``subtotal_price = Σ(line price × quantity) − total_discounts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.catalog import Catalog
from narrowcast.datagen.customers import Customers
from narrowcast.datagen.geography import COUNTRIES
from narrowcast.datagen.planted_uplift import planted_orders, treated_geo_members
from narrowcast.datagen.table_writer import money, pick, timestamps

ORDER_ID_BASE = 5_800_000_000
LINE_ID_BASE = 14_600_000_000
REFUND_ID_BASE = 9_100_000_000
DISCOUNT_CODES = ("WELCOME10", "AUTUMN15", "VIP20", "NEWSLETTER5")
DISCOUNT_PCT = np.array([10, 15, 20, 5])
CANCEL_REASONS = ("customer", "inventory", "fraud", "declined")
FINANCIAL = ("paid", "partially_refunded", "refunded", "pending", "voided")
FULFILLMENT = ("partial", "fulfilled")
FREE_SHIPPING_FROM_CENTS = 5000
SHIPPING_CENTS = 495
# How much less often customers from before the window order at its end than at its start (some lapse): about as
# much as the customers who sign up in it (30%, narrowcast.datagen.customers) add, so weekly orders hold level.
EXISTING_CUSTOMER_FADE = 0.3


@dataclass
class WebOrders:
    """Order arrays aligned by order index (sorted by created_at); line arrays grouped by order."""

    customer: np.ndarray  # customer index, -1 for guests
    created_at: np.ndarray
    test: np.ndarray
    country: np.ndarray
    email: pa.Array
    total_cents: np.ndarray
    tax_cents: np.ndarray
    shipping_cents: np.ndarray
    line_offsets: np.ndarray  # lines of order i are line_offsets[i]:line_offsets[i+1]
    line_product: np.ndarray
    line_qty: np.ndarray
    line_net_cents: np.ndarray  # after the line's discount share
    orders: pa.Table  # without landing_site/referring_site (they come from the purchase session)
    lines: pa.Table
    refunds: pa.Table

    @property
    def size(self) -> int:
        return len(self.created_at)

    @property
    def order_id(self) -> np.ndarray:
        return ORDER_ID_BASE + np.arange(self.size, dtype=np.int64)


def build_web_orders(rng: np.random.Generator, customers: Customers, catalog: Catalog,
                     start_s: int, end_s: int) -> WebOrders:
    cust = np.repeat(np.arange(customers.size), customers.web_orders)
    created = _order_times(rng, customers, cust, start_s, end_s)
    cust, created = _with_planted_orders(rng, customers, cust, created, start_s, end_s)
    n_guest = int(round(len(cust) * 0.1))
    guest_created = start_s + 3600 + rng.integers(0, end_s - start_s - 4200, n_guest)
    n_test = 3 if customers.is_test.any() else 0
    test_created = start_s + 3600 + rng.integers(0, end_s - start_s - 4200, n_test)
    cust = np.concatenate([cust, np.full(n_guest, -1), np.zeros(n_test, dtype=np.int64)])
    created = np.concatenate([created, guest_created, test_created])
    test = np.concatenate([np.zeros(len(cust) - n_test, bool), np.ones(n_test, bool)])
    order = np.lexsort((cust, created))
    cust, created, test = cust[order], created[order], test[order]
    n = len(created)
    is_guest = cust < 0
    country = np.where(is_guest, rng.choice(len(COUNTRIES), n, p=_country_weights()),
                       customers.country[np.maximum(cust, 0)])
    guest_email = pc.binary_join_element_wise("guest.", pa.array((np.arange(n) + 1).astype(str)), "@example.org", "")
    email = pc.if_else(pa.array(is_guest), guest_email, customers.email.take(pa.array(np.maximum(cust, 0))))

    # Line items: the first product by popularity, further lines mostly a complement of the first.
    n_lines = rng.choice([1, 2, 3, 4], n, p=[0.5, 0.3, 0.13, 0.07])
    line_order = np.repeat(np.arange(n), n_lines)
    offsets = np.concatenate([[0], np.cumsum(n_lines)])
    pos = np.arange(len(line_order)) - offsets[line_order]
    active_idx = np.flatnonzero(catalog.active)
    popular = rng.choice(catalog.size, len(line_order), p=catalog.popularity)
    first = popular[offsets[:-1]][line_order]
    slot = rng.integers(0, 3, len(line_order))
    partner = catalog.partners[first, slot]
    partner = np.where(partner < 0, catalog.partners[first, 0], partner)
    use_partner = (pos > 0) & (partner >= 0) & (rng.random(len(line_order)) < 0.7)
    product = np.where(use_partner, partner, popular)
    product = np.where((pos > 0) & (product == first), active_idx[rng.integers(0, len(active_idx), len(product))],
                       product)
    # One line per product within an order (merge accidental repeats by dropping them).
    key = line_order * catalog.size + product
    _, keep = np.unique(key, return_index=True)
    keep.sort()
    line_order, product = line_order[keep], product[keep]
    n_lines = np.bincount(line_order, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(n_lines)])
    qty = rng.choice([1, 2, 3], len(product), p=[0.85, 0.12, 0.03])
    price = catalog.price_cents[product]
    gross = price * qty

    has_code = (rng.random(n) < 0.18) & ~test
    code = np.where(has_code, rng.integers(0, len(DISCOUNT_CODES), n), -1)
    pct = np.where(has_code, DISCOUNT_PCT[np.maximum(code, 0)], 0)
    line_disc = (gross * pct[line_order] + 50) // 100
    line_net = gross - line_disc
    discounts = np.add.reduceat(line_disc, offsets[:-1])
    subtotal = np.add.reduceat(line_net, offsets[:-1])
    vat = np.array([c.vat_rate for c in COUNTRIES])[country]
    tax = np.round(subtotal * vat).astype(np.int64)
    shipping = np.where(subtotal < FREE_SHIPPING_FROM_CENTS, SHIPPING_CENTS, 0)
    total = subtotal + tax + shipping

    # Life cycle: cancellations, refunds (full and partial), pending payments, fulfilment.
    roll = rng.random(n)
    window = end_s - start_s
    refund_delay = rng.integers(86400, max(2 * 86400, min(20 * 86400, window // 3)), n)
    old_enough = created + refund_delay < end_s
    total_qty = np.add.reduceat(qty, offsets[:-1])
    cancelled = (roll < 0.03) & ~test
    full_refund = (roll >= 0.03) & (roll < 0.06) & old_enough & ~test
    partial_refund = (roll >= 0.06) & (roll < 0.11) & old_enough & (total_qty >= 2) & ~test
    cancelled_at = np.minimum(created + rng.integers(3600, 48 * 3600, n), end_s - 1)
    cancel_refunded = cancelled & (rng.random(n) < 0.4)
    recent = created >= end_s - 2 * 86400
    pending = recent & ~cancelled & (rng.random(n) < 0.3)
    financial = np.zeros(n, dtype=np.int64)
    financial[partial_refund] = 1
    financial[full_refund | cancel_refunded] = 2
    financial[pending] = 3
    financial[cancelled & ~cancel_refunded] = 4
    fulfilled_at = created + rng.integers(6 * 3600, 48 * 3600, n)
    is_fulfilled = ~cancelled & ~pending & (fulfilled_at < end_s)
    fulfillment = np.where(is_fulfilled, np.where((n_lines > 1) & (rng.random(n) < 0.04), 0, 1), -1)
    refund_at = np.where(cancelled, cancelled_at, created + refund_delay)

    refunds = _refunds(rng, full_refund | cancel_refunded, partial_refund, offsets, qty, line_net, refund_at)
    updated = np.maximum.reduce([created, np.where(cancelled, cancelled_at, created),
                                 np.where(is_fulfilled, fulfilled_at, created),
                                 np.where(full_refund | partial_refund | cancel_refunded, refund_at, created)])
    order_id = ORDER_ID_BASE + np.arange(n, dtype=np.int64)
    orders = pa.table({
        "order_id": pa.array(order_id),
        "order_number": pa.array(1001 + np.arange(n, dtype=np.int64)),
        "customer_id": pa.array(customers.customer_id[np.maximum(cust, 0)], mask=is_guest),
        "email": email,
        "created_at": timestamps(created),
        "updated_at": timestamps(updated),
        "processed_at": timestamps(created),
        "cancelled_at": timestamps(cancelled_at, cancelled),
        "cancel_reason": pick(list(CANCEL_REASONS), np.where(cancelled, rng.integers(0, 4, n), -1)),
        "financial_status": pick(list(FINANCIAL), financial),
        "fulfillment_status": pick(list(FULFILLMENT), fulfillment),
        "currency": pa.array(np.full(n, "EUR", dtype=object), pa.string()),
        "subtotal_price": money(subtotal),
        "total_discounts": money(discounts),
        "total_tax": money(tax),
        "total_shipping": money(shipping),
        "total_price": money(total),
        "discount_code": pick(list(DISCOUNT_CODES), code),
        "test": pa.array(test),
        "source_name": pa.array(np.full(n, "web", dtype=object), pa.string()),
    })
    line_id = LINE_ID_BASE + np.arange(len(product), dtype=np.int64)
    lines = pa.table({
        "line_item_id": pa.array(line_id),
        "order_id": pa.array(order_id[line_order]),
        "product_id": pa.array(8_100_000_000 + product),
        "variant_id": pa.array(45_200_000_000 + product),
        "sku": pa.array(catalog.sku, pa.string()).take(pa.array(product)),
        "title": pa.array(catalog.title, pa.string()).take(pa.array(product)),
        "quantity": pa.array(qty.astype(np.int32)),
        "price": money(price),
        "total_discount": money(line_disc),
    })
    billing = pick([c.code for c in COUNTRIES], country)
    return WebOrders(cust, created, test, country, email, total, tax, shipping, offsets, product, qty, line_net,
                     orders.append_column("billing_country_code", billing), lines, refunds)


def _refunds(rng: np.random.Generator, full: np.ndarray, partial: np.ndarray, offsets: np.ndarray,
             qty: np.ndarray, line_net: np.ndarray, refund_at: np.ndarray) -> pa.Table:
    n_lines = np.diff(offsets)
    line_order = np.repeat(np.arange(len(full)), n_lines)
    first_line = offsets[:-1]
    is_full_line = full[line_order]
    is_partial_line = np.zeros(len(line_order), dtype=bool)
    is_partial_line[first_line[partial]] = True
    refund_qty = np.where(is_full_line, qty, np.where(qty > 1, 1, qty))
    subtotal = np.where(is_full_line, line_net, line_net * refund_qty // qty)
    chosen = np.flatnonzero(is_full_line | is_partial_line)
    refunded_orders = np.flatnonzero(full | partial)
    refund_id = np.full(len(full), -1, dtype=np.int64)
    refund_id[refunded_orders] = REFUND_ID_BASE + np.arange(len(refunded_orders))
    o = line_order[chosen]
    return pa.table({
        "refund_id": pa.array(refund_id[o]),
        "order_id": pa.array(ORDER_ID_BASE + o),
        "created_at": timestamps(refund_at[o]),
        "line_item_id": pa.array(LINE_ID_BASE + chosen),
        "quantity": pa.array(refund_qty[chosen].astype(np.int32)),
        "subtotal": money(subtotal[chosen]),
    })


def with_sites(orders: pa.Table, landing_site: pa.Array, referring_site: pa.Array) -> pa.Table:
    """Orders with the landing and referring site of the session that converted, in contract column order."""
    billing = orders.column("billing_country_code")
    out = orders.drop_columns(["billing_country_code"])
    out = out.append_column("landing_site", landing_site).append_column("referring_site", referring_site)
    return out.append_column("billing_country_code", billing)


def _order_times(rng: np.random.Generator, customers: Customers, cust: np.ndarray, start_s: int,
                 end_s: int) -> np.ndarray:
    """Creation times of the orders of customers ``cust`` (one entry per order, grouped by customer), at a steady
    pace over the window, so weekly orders hold level as a real shop's do (narrowcast.datagen.benchmarks).

    A buyer is active for a random 10-100% of the time they are a customer in the window (from the window start or
    their sign-up to its end), so last-order dates (recency) spread for repeat buyers. A buyer from before the
    window has that span anywhere in it, wrapping round from its end to its start, so each order is about equally
    likely on every day; those customers order a little less as the window goes on (some lapse), as much as the
    customers who sign up in it make up for. A buyer who signs up in the window orders within two days of signing
    up (accounts are mostly made at checkout) and places any further orders in a span that starts at sign-up."""
    signed_up = customers.created_at[cust]
    joined_in = signed_up >= start_s
    lo = np.maximum(signed_up, start_s) + 3600
    span = np.maximum(end_s - 600 - lo, 60)
    active_share = rng.uniform(0.1, 1.0, customers.size)[cust]
    offset = np.where(joined_in, 0.0, rng.random(customers.size)[cust])
    position = (offset + rng.random(len(cust)) * active_share) % 1.0
    position = np.where(joined_in, position, _fading(position, EXISTING_CUSTOMER_FADE))
    created = lo + (position * span).astype(np.int64)
    first = np.ones(len(cust), dtype=bool)
    first[1:] = cust[1:] != cust[:-1]
    soon = lo + (rng.random(len(cust)) * np.minimum(span, 2 * 86400)).astype(np.int64)
    return np.where(first & joined_in, soon, created)


def _fading(u: np.ndarray, fade: float) -> np.ndarray:
    """Uniform positions in [0, 1) mapped monotonically onto the density ∝ 1 - fade·x (inverse CDF), so the pace at
    the end is ``1 - fade`` times that at the start."""
    return (1 - np.sqrt(1 - 2 * fade * (1 - fade / 2) * u)) / fade


def _with_planted_orders(rng: np.random.Generator, customers: Customers, cust: np.ndarray, created: np.ndarray,
                         start_s: int, end_s: int) -> tuple[np.ndarray, np.ndarray]:
    """The customers' orders plus the extra orders of treated geo-audience members (datagen.planted_uplift)."""
    codes = np.array([c.code for c in COUNTRIES])[customers.country]
    probability = treated_geo_members(customers.customer_id, codes, customers.accepts_marketing, customers.is_test)
    who, when = planted_orders(rng, probability, customers.created_at, start_s, end_s)
    return np.concatenate([cust, who]), np.concatenate([created, when])


def _country_weights() -> np.ndarray:
    w = np.array([c.weight for c in COUNTRIES])
    return w / w.sum()
