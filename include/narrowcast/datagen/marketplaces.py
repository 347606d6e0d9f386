"""eBay and Amazon orders (some by known shop customers, some by marketplace-only buyers) and the listings.

Known eBay buyers carry the customer's clean e-mail (eBay returns the buyer's address on recent orders, trimmed
and lower-cased), so identity stitching has to normalise the shop's messy e-mails to match them; other eBay
buyers show only eBay's member alias address. Amazon never shares the buyer's address: BuyerEmail is an
anonymised relay address per buyer on the marketplace's domain (SP-API Orders v0, BuyerInfo.BuyerEmail), so
Amazon buyers stay Amazon customers. Each buyer keeps one username / relay address across orders. Recent orders
are still open/unshipped, which the listing feed must subtract from stock.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.catalog import Catalog
from narrowcast.datagen.customers import Customers
from narrowcast.datagen.table_writer import money, pick, timestamps

EBAY_MARKETS = (("EBAY_DE", "EUR", 0.6), ("EBAY_FR", "EUR", 0.15), ("EBAY_IT", "EUR", 0.1), ("EBAY_GB", "GBP", 0.15))
AMAZON_MARKETS = (("A1PA6795UKMFR9", "EUR", 0.5), ("A13V1IB3VIYZZH", "EUR", 0.15), ("APJ6JRA9NG5V4", "EUR", 0.1),
                  ("A1RKKUPIHCS9HS", "EUR", 0.1), ("A1F83G8C2ARO7P", "GBP", 0.15))
# The relay domain of each AMAZON_MARKETS entry (DE, FR, IT, ES, UK).
AMAZON_RELAY_DOMAINS = ("marketplace.amazon.de", "marketplace.amazon.fr", "marketplace.amazon.it",
                        "marketplace.amazon.es", "marketplace.amazon.co.uk")
GBP_PER_EUR = 0.86
EBAY_FULFILMENT = ("NOT_STARTED", "IN_PROGRESS", "FULFILLED")
AMAZON_STATUS = ("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled")


def _buyers(rng: np.random.Generator, customers: Customers, n_orders: int) -> tuple[np.ndarray, np.ndarray]:
    """Buyer customer index per order (-1 = stranger); every marketplace-only customer buys at least once."""
    mp_only = np.flatnonzero(customers.marketplace_only)
    # Known buyers are mostly the shop's own buyers: people who already ordered on the site also find the brand on
    # marketplaces, which is what links them (eBay shares the e-mail).
    shop_buyers = np.flatnonzero(~customers.is_test & (customers.web_orders > 0))
    known_pool = shop_buyers if len(shop_buyers) else np.flatnonzero(~customers.is_test)
    buyer = np.where(rng.random(n_orders) < 0.45, known_pool[rng.integers(0, len(known_pool), n_orders)], -1)
    return buyer, mp_only


def _buyer_tokens(buyer: np.ndarray, prefix: str) -> pa.Array:
    """A stable opaque token per buyer (known customers by index, strangers one per order)."""
    known = buyer >= 0
    seed = np.where(known, buyer, 10_000_000 + np.arange(len(buyer)))
    token = (seed * 2_654_435_761 % 2**32).astype(np.int64)
    return pa.array([f"{prefix}{t:08x}" for t in token], pa.string())


def _order_times(rng: np.random.Generator, n: int, start_s: int, end_s: int) -> np.ndarray:
    return np.sort(start_s + 1800 + (rng.random(n) * (end_s - start_s - 3600)).astype(np.int64))


def _assign_mp_only(buyer: np.ndarray, mp_only: np.ndarray, share: slice) -> np.ndarray:
    own = mp_only[share]
    buyer = buyer.copy()
    buyer[: min(len(own), len(buyer))] = own[: len(buyer)]
    return buyer


def _lines(rng: np.random.Generator, catalog: Catalog, n_orders: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    per = rng.choice([1, 2], n_orders, p=[0.8, 0.2])
    order_of_line = np.repeat(np.arange(n_orders), per)
    product = rng.choice(catalog.size, len(order_of_line), p=catalog.popularity)
    qty = rng.choice([1, 2], len(order_of_line), p=[0.9, 0.1])
    key = order_of_line * catalog.size + product
    _, keep = np.unique(key, return_index=True)
    keep.sort()
    return order_of_line[keep], product[keep], qty[keep]


def _market(rng: np.random.Generator, markets: tuple[tuple[str, str, float], ...], n: int) -> np.ndarray:
    w = np.array([m[2] for m in markets])
    return rng.choice(len(markets), n, p=w / w.sum())


def _line_price(catalog: Catalog, product: np.ndarray, qty: np.ndarray, gbp: np.ndarray) -> np.ndarray:
    unit = catalog.price_cents[product]
    unit = np.where(gbp, np.round(unit * GBP_PER_EUR).astype(np.int64), unit)
    return unit * qty


def build_ebay_orders(rng: np.random.Generator, customers: Customers, catalog: Catalog, n_orders: int,
                      start_s: int, end_s: int) -> pa.Table:
    buyer, mp_only = _buyers(rng, customers, n_orders)
    buyer = _assign_mp_only(buyer, mp_only, slice(0, len(mp_only) // 2))
    rng.shuffle(buyer)
    created = _order_times(rng, n_orders, start_s, end_s)
    o, product, qty = _lines(rng, catalog, n_orders)
    market = _market(rng, EBAY_MARKETS, n_orders)
    age = end_s - created
    status = np.where(age < 2 * 86400, 0, np.where(age < 4 * 86400, 1, 2))
    status = np.where((status == 2) | (rng.random(n_orders) < 0.6), status, 0)
    canceled = rng.random(n_orders) < 0.02
    modified = np.minimum(created + rng.integers(600, 3 * 86400, n_orders), end_s - 1)
    paid = np.where(rng.random(n_orders) < 0.97, 0, 1)
    stranger = pc.binary_join_element_wise("ebay.buyer.", pa.array((np.arange(n_orders) + 1).astype(str)),
                                           "@members.ebay.example", "")
    email = pc.if_else(pa.array(buyer >= 0), customers.email_clean.take(pa.array(np.maximum(buyer, 0))), stranger)
    username = _buyer_tokens(buyer, "buyer_")
    order_id = pc.binary_join_element_wise(
        pa.array(np.char.zfill((11 + np.arange(n_orders) % 89).astype(str), 2)), "-",
        pa.array((10000 + np.arange(n_orders) // 89 % 90000).astype(str)), "-",
        pa.array((10000 + (np.arange(n_orders) * 7919) % 90000).astype(str)), "")
    gbp = market[o] == 3
    ol = pa.array(o)
    return pa.table({
        "order_id": order_id.take(ol),
        "line_item_id": pa.array((10_040_000_000_000 + np.arange(len(o))).astype(str)),
        "creation_date": timestamps(created[o]),
        "last_modified_date": timestamps(modified[o]),
        "order_fulfillment_status": pick(list(EBAY_FULFILMENT), np.where(canceled, 0, status)[o]),
        "order_payment_status": pick(["PAID", "PENDING"], paid[o]),
        "cancel_state": pick(["NONE_REQUESTED", "CANCELED"], canceled[o].astype(np.int64)),
        "buyer_username": username.take(ol),
        "buyer_email": email.take(ol),
        "sku": pa.array(catalog.sku, pa.string()).take(pa.array(product)),
        "quantity": pa.array(qty.astype(np.int32)),
        "line_item_cost": money(_line_price(catalog, product, qty, gbp)),
        "currency": pick([m[1] for m in EBAY_MARKETS], market[o]),
        "marketplace_id": pick([m[0] for m in EBAY_MARKETS], market[o]),
    })


def build_amazon_orders(rng: np.random.Generator, customers: Customers, catalog: Catalog, n_orders: int,
                        start_s: int, end_s: int) -> pa.Table:
    buyer, mp_only = _buyers(rng, customers, n_orders)
    buyer = _assign_mp_only(buyer, mp_only, slice(len(mp_only) // 2, None))
    rng.shuffle(buyer)
    created = _order_times(rng, n_orders, start_s, end_s)
    o, product, qty = _lines(rng, catalog, n_orders)
    market = _market(rng, AMAZON_MARKETS, n_orders)
    age = end_s - created
    status = np.where(age < 6 * 3600, 0, np.where(age < 3 * 86400, 1, 3))
    status = np.where((status == 1) & (rng.random(n_orders) < 0.1), 2, status)
    status = np.where(rng.random(n_orders) < 0.02, 4, status)
    modified = np.minimum(created + rng.integers(600, 3 * 86400, n_orders), end_s - 1)
    email = pc.binary_join_element_wise(_buyer_tokens(buyer, ""), "@",
                                        pick(list(AMAZON_RELAY_DOMAINS), market), "")
    seq = np.arange(n_orders)
    order_id = pc.binary_join_element_wise(
        pa.array((302 + seq % 3 * 100).astype(str)), "-", pa.array((1_000_000 + seq * 37 % 9_000_000).astype(str)),
        "-", pa.array((1_000_000 + seq // 3 % 9_000_000).astype(str)), "")
    line_status = status[o]
    shipped = np.where(line_status == 3, qty, np.where((line_status == 2) & (np.arange(len(o)) % 2 == 0), qty, 0))
    ol = pa.array(o)
    return pa.table({
        "amazon_order_id": order_id.take(ol),
        "order_item_id": pa.array((60_000_000_000_000 + np.arange(len(o)) * 13).astype(str)),
        "purchase_date": timestamps(created[o]),
        "last_update_date": timestamps(modified[o]),
        "order_status": pick(list(AMAZON_STATUS), line_status),
        "marketplace_id": pick([m[0] for m in AMAZON_MARKETS], market[o]),
        "buyer_email": email.take(ol),
        "seller_sku": pa.array(catalog.sku, pa.string()).take(pa.array(product)),
        "quantity_ordered": pa.array(qty.astype(np.int32)),
        "quantity_shipped": pa.array(shipped.astype(np.int32)),
        "item_price": money(_line_price(catalog, product, qty, market[o] == 4)),
        "currency": pick([m[1] for m in AMAZON_MARKETS], market[o]),
    })


def build_listings(rng: np.random.Generator, catalog: Catalog) -> pa.Table:
    """One listing per active SKU on ebay, amazon and the own shop; a few disabled by the merchant."""
    active = np.flatnonzero(catalog.active)
    n = len(active)
    sku = pa.array(catalog.sku, pa.string()).take(pa.array(np.tile(active, 3)))
    ebay_offer = (500_000_000_000 + active * 7_919 + 13).astype(str)  # eBay offerId: a numeric string
    amazon = catalog.sku[active].astype(str)
    shop = (47_300_000_000 + active).astype(str)
    enabled = rng.random(3 * n) > 0.03
    table = pa.table({
        "sku": sku,
        "marketplace": pick(["ebay", "amazon", "shop"], np.repeat(np.arange(3), n)),
        "listing_id": pa.array(np.concatenate([ebay_offer, amazon, shop]).astype(object), pa.string()),
        "enabled": pa.array(enabled),
    })
    return table.sort_by([("sku", "ascending"), ("marketplace", "ascending")])
