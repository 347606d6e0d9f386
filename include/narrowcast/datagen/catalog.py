"""The product catalogue (one variant per product) and the complementary pairs customers buy together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from narrowcast.datagen.table_writer import money, pick, timestamps

# (name, sku code, min price €, max price €, brands); prices are drawn per product within the range.
CATEGORIES: tuple[tuple[str, str, int, int, tuple[str, ...]], ...] = (
    ("Espresso Machines", "ESM", 249, 1299, ("Lucca", "Rancilio", "Gaggia")),
    ("Grinders", "GRD", 89, 599, ("Eureka", "Baratza", "Niche")),
    ("Coffee Beans", "BEA", 9, 39, ("Roastery 42", "Bergkaffee", "Costa Nera")),
    ("Filters", "FLT", 4, 29, ("Hario", "Chemex", "Kalita")),
    ("Milk Frothers", "MLK", 29, 149, ("Aeroccino", "Bodum", "Lucca")),
    ("Cups & Mugs", "CUP", 8, 49, ("Kinto", "Loveramics", "Acme")),
    ("Cleaning", "CLN", 6, 35, ("Cafiza", "Urnex", "Puly")),
    ("Scales", "SCL", 25, 199, ("Acaia", "Timemore", "Hario")),
    ("Tea", "TEA", 6, 45, ("Teekampagne", "Mariage", "Kusmi")),
    ("Kettles", "KTL", 39, 189, ("Fellow", "Bonavita", "Hario")),
)
# Category pairs whose products complement each other (machine needs a grinder, beans need filters, ...).
COMPLEMENTS: tuple[tuple[str, str], ...] = (
    ("Espresso Machines", "Grinders"), ("Espresso Machines", "Cleaning"), ("Espresso Machines", "Milk Frothers"),
    ("Grinders", "Coffee Beans"), ("Coffee Beans", "Filters"), ("Kettles", "Filters"),
    ("Milk Frothers", "Cups & Mugs"), ("Scales", "Coffee Beans"), ("Tea", "Kettles"),
)
_MODELS = ("Classic", "Pro", "Mini", "Plus", "One", "Duo", "Nova", "Prime", "Lite", "Max", "Eco", "Studio")


@dataclass
class Catalog:
    """Product arrays aligned by product index; prices and costs in cents."""

    sku: np.ndarray
    title: np.ndarray
    brand: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    price_cents: np.ndarray
    cost_cents: np.ndarray
    active: np.ndarray
    popularity: np.ndarray  # purchase probability weights (sum 1 over active products)
    partners: np.ndarray  # (n, 3) complementary partner product indices, -1 padded
    pairs: pa.Table

    @property
    def size(self) -> int:
        return len(self.sku)


def product_count(customers: int) -> int:
    """Catalogue size grows slowly with the shop: 120 products for a small shop, at most 2,000."""
    return int(np.clip(customers // 20, 120, 2000))


def build_catalog(rng: np.random.Generator, customers: int) -> Catalog:
    n = product_count(customers)
    category = np.arange(n) % len(CATEGORIES)
    rng.shuffle(category)
    category.sort(kind="stable")  # products grouped by category, SKUs numbered within
    lo = np.array([c[2] for c in CATEGORIES])[category]
    hi = np.array([c[3] for c in CATEGORIES])[category]
    euros = np.floor(lo + (hi - lo) * rng.beta(1.4, 3.0, n))
    price_cents = (euros * 100 + 99).astype(np.int64) - 100 * (euros >= 100)  # 19.99 or 249.00 style
    cost_cents = np.floor(price_cents * rng.uniform(0.35, 0.72, n)).astype(np.int64)
    active = rng.random(n) > 0.04
    brand_idx = rng.integers(0, 3, n)
    model_idx = rng.integers(0, len(_MODELS), n)
    codes = np.array([c[1] for c in CATEGORIES])[category]
    sku = np.char.add(np.char.add("NC-", codes), np.char.add("-", np.char.zfill((np.arange(n) + 1).astype(str), 5)))
    brands = np.array([c[4] for c in CATEGORIES])[category, brand_idx]
    singular = np.array([c[0].rstrip("s") for c in CATEGORIES])[category]
    title = np.char.add(np.char.add(np.char.add(brands, " "), np.char.add(singular, " ")),
                        np.char.add(np.array(_MODELS)[model_idx], np.char.add(" ", (np.arange(n) % 97 + 1).astype(str))))
    popularity = rng.pareto(1.3, n) + 0.2
    popularity[~active] = 0.0
    popularity /= popularity.sum()
    partners, pairs = _complementary_pairs(rng, category, active, sku)
    return Catalog(sku.astype(object), title.astype(object), brands.astype(object), category, price_cents, cost_cents, active,
                   popularity, partners, pairs)


def _complementary_pairs(rng: np.random.Generator, category: np.ndarray, active: np.ndarray,
                         sku: np.ndarray) -> tuple[np.ndarray, pa.Table]:
    n = len(category)
    names = [c[0] for c in CATEGORIES]
    partners = np.full((n, 3), -1, dtype=np.int64)
    filled = np.zeros(n, dtype=np.int64)
    a_list: list[np.ndarray] = []
    b_list: list[np.ndarray] = []
    # Loop over the handful of category pairs (not rows): each product of the first category gets 1-2 partners.
    for left, right in COMPLEMENTS:
        a = np.flatnonzero((category == names.index(left)) & active)
        b = np.flatnonzero((category == names.index(right)) & active)
        if len(a) == 0 or len(b) == 0:
            continue
        for _ in range(2):
            chosen = b[rng.integers(0, len(b), len(a))]
            a_list.append(a)
            b_list.append(chosen)
    a_all = np.concatenate(a_list)
    b_all = np.concatenate(b_list)
    key = np.unique(a_all * n + b_all)
    a_all, b_all = key // n, key % n
    for a_i, b_i in ((a_all, b_all), (b_all, a_all)):
        order = np.argsort(a_i, kind="stable")
        a_s, b_s = a_i[order], b_i[order]
        rank = np.arange(len(a_s)) - np.searchsorted(a_s, a_s, side="left")
        slot = filled[a_s] + rank
        keep = slot < 3
        partners[a_s[keep], slot[keep]] = b_s[keep]
        np.add.at(filled, a_s[keep], 1)
    strength = np.round(rng.uniform(0.3, 0.9, len(a_all)), 3)
    pairs = pa.table({"sku_a": pa.array(sku[a_all].astype(object), pa.string()),
                      "sku_b": pa.array(sku[b_all].astype(object), pa.string()),
                      "strength": pa.array(strength, pa.float64())})
    return partners, pairs


def products_table(cat: Catalog, rng: np.random.Generator, start: date) -> pa.Table:
    n = cat.size
    idx = np.arange(n, dtype=np.int64)
    start_s = _epoch(start)
    created = start_s - rng.integers(30 * 86400, 900 * 86400, n)
    updated = created + rng.integers(0, 25 * 86400, n)
    has_map = rng.random(n) < 0.3
    has_max = rng.random(n) < 0.3
    map_cents = (np.floor(cat.price_cents * 0.9 / 100) * 100 + 99).astype(np.int64)
    map_cents = np.maximum(map_cents, cat.cost_cents + 1)
    max_cents = (np.floor(cat.price_cents * 1.3 / 100) * 100 + 99).astype(np.int64)
    return pa.table({
        "product_id": pa.array(8_100_000_000 + idx),
        "variant_id": pa.array(45_200_000_000 + idx),
        "inventory_item_id": pa.array(47_300_000_000 + idx),
        "sku": pa.array(cat.sku, pa.string()),
        "title": pa.array(cat.title, pa.string()),
        "category": pick([c[0] for c in CATEGORIES], cat.category),
        "brand": pa.array(cat.brand, pa.string()),
        "price": money(cat.price_cents),
        "cost": money(cat.cost_cents),
        "map_price": money(map_cents, valid=has_map),
        "max_price": money(max_cents, valid=has_max),
        "created_at": timestamps(created),
        "updated_at": timestamps(updated),
        "status": pick(["archived", "active"], cat.active.astype(np.int64)),
    })


def _epoch(day: date) -> int:
    return int((np.datetime64(day, "s") - np.datetime64(0, "s")).astype(np.int64))
