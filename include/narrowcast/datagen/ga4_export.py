"""GA4 BigQuery-export files (``events_YYYYMMDD.ndjson``), one per event date, built a day at a time.

Events are assembled as Arrow arrays (nested ``event_params``/``items``/``ecommerce`` included) and serialised
by the vectorised :mod:`narrowcast.datagen.ndjson` writer. Memory stays bounded by one day of events plus the few
events of sessions that cross midnight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.catalog import CATEGORIES, Catalog
from narrowcast.datagen.customers import Customers
from narrowcast.datagen.geography import COUNTRIES, places
from narrowcast.datagen.ndjson import write_ndjson
from narrowcast.datagen.sessions import DEVICES, Sessions, pseudo_ids
from narrowcast.datagen.traffic import DIRECT, PAID_SEARCH, TrafficSource
from narrowcast.datagen.web_orders import ORDER_ID_BASE, WebOrders

SITE = "https://shop.example.com"
STREAM_ID = "4178123456"
KNOWN_EVENT_NAMES = ("first_visit", "session_start", "page_view", "view_item", "add_to_cart", "begin_checkout",
                     "purchase")
FIRST_VISIT, SESSION_START, PAGE_VIEW, VIEW_ITEM, ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE = range(7)
_JITTER_US = 900_000

_PARAM_VALUE = pa.struct([("string_value", pa.string()), ("int_value", pa.int64()),
                          ("float_value", pa.float64()), ("double_value", pa.float64())])
_PARAM = pa.struct([("key", pa.string()), ("value", _PARAM_VALUE)])

DayHook = Callable[[date, pa.Table], pa.Table]


def event_file_name(day: date) -> str:
    return f"events_{day:%Y%m%d}.ndjson"


def write_ga4_exports(out_dir: Path, seed: int, s: Sessions, customers: Customers, orders: WebOrders,
                      catalog: Catalog, sources: list[TrafficSource], start: date, days: int,
                      hook: DayHook | None = None,
                      progress: Callable[[str], None] | None = None) -> dict[date, int]:
    """Write one NDJSON file per day; ``hook`` may alter a day's table before it is written. Rows per day."""
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    rows: dict[date, int] = {}
    for day, table in _days(seed, s, customers, orders, catalog, sources, start, days):
        if hook is not None:
            table = hook(day, table)
        rows[day] = write_ndjson(table, out_dir / event_file_name(day))
        total += rows[day]
        if progress is not None and (day - start).days % 7 == 6:
            progress(f"ga4: wrote {total:,} events up to {day:%Y-%m-%d}")
    return rows


def _days(seed: int, s: Sessions, customers: Customers, orders: WebOrders, catalog: Catalog,
          sources: list[TrafficSource], start: date, days: int) -> Iterator[tuple[date, pa.Table]]:
    start_s = int((np.datetime64(start, "s") - np.datetime64(0, "s")).astype(np.int64))
    carry: pa.Table | None = None
    for d in range(days):
        lo, hi = int(s.day_offsets[d]), int(s.day_offsets[d + 1])
        rng = np.random.default_rng([seed, 7, d])
        table = _events(rng, s, lo, hi, customers, orders, catalog, sources)
        if carry is not None and carry.num_rows:
            table = pa.concat_tables([carry, table])
        ts = table.column("event_timestamp").to_numpy()
        day_end_us = (start_s + (d + 1) * 86400) * 1_000_000
        today = ts < day_end_us
        carry = table.filter(pa.array(~today))
        table = table.filter(pa.array(today))
        order = np.argsort(table.column("event_timestamp").to_numpy(), kind="stable")
        yield start + timedelta(days=d), table.take(pa.array(order))


def _events(rng: np.random.Generator, s: Sessions, lo: int, hi: int, customers: Customers, orders: WebOrders,
            catalog: Catalog, sources: list[TrafficSource]) -> pa.Table:
    sess = np.arange(lo, hi)
    k = len(sess)
    counts = s.event_count()[sess]
    ev = np.repeat(np.arange(k), counts)
    n = len(ev)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    pos = np.arange(n) - first[ev]
    fv = (s.number[sess] == 1).astype(np.int64)
    p = pos - fv[ev]  # -1 first_visit, 0 session_start, 1.. page views, then funnel steps
    extra = s.extra_page_views[sess]
    step = p - (1 + extra[ev])
    kind = np.where(p < 0, FIRST_VISIT, np.where(p == 0, SESSION_START,
                    np.where(step <= 0, PAGE_VIEW, PAGE_VIEW + step)))
    pace = s.pace[sess]
    start = s.start[sess]
    jitter = np.where(kind == PURCHASE, 0, rng.integers(0, _JITTER_US, n))
    ts_us = (start[ev] + np.maximum(p, 0) * pace[ev]) * 1_000_000 + jitter
    order = s.order[sess]
    ev_order = order[ev]
    focus = s.focus_product[sess]

    src = s.source[sess]
    channel = np.array([t.channel for t in sources])[src]
    gclid = pc.binary_join_element_wise(
        "Cj0KCQjw", pa.array((sess.astype(np.uint64) * np.uint64(11400714819323198485)) >> np.uint64(12)
                             ).cast(pa.string()), "")
    gclid = pc.if_else(pa.array(channel == PAID_SEARCH), gclid, pa.nulls(k, pa.string()))
    landing = pc.binary_join_element_wise(SITE + "/", pa.array([t.landing_query for t in sources]).take(pa.array(src)),
                                          pc.fill_null(gclid, ""), "")
    session_idx = pa.array(ev)
    product_urls = pa.array([f"{SITE}/products/{sku.lower()}" for sku in catalog.sku])
    collection_urls = pa.array([f"{SITE}/collections/{c[1].lower()}" for c in CATEGORIES])
    ev_focus = pa.array(focus[ev])
    page_location = pc.choose(
        pa.array(np.select([p <= 1, kind == PAGE_VIEW, kind <= ADD_TO_CART, kind == BEGIN_CHECKOUT],
                           [0, 1, 2, 3], 4).astype(np.int8)),
        landing.take(session_idx),
        collection_urls.take(pa.array(catalog.category[focus[ev]])),
        product_urls.take(ev_focus),
        pa.array(np.full(n, f"{SITE}/checkout", dtype=object), pa.string()),
        pa.array(np.full(n, f"{SITE}/checkout/thank-you", dtype=object), pa.string()),
    )
    page_title = pc.choose(
        pa.array(np.select([p <= 1, kind == PAGE_VIEW, kind <= ADD_TO_CART, kind == BEGIN_CHECKOUT],
                           [0, 1, 2, 3], 4).astype(np.int8)),
        pa.array(np.full(n, "Narrowcast Coffee", dtype=object), pa.string()),
        pa.array([c[0] for c in CATEGORIES]).take(pa.array(catalog.category[focus[ev]])),
        pa.array(catalog.title, pa.string()).take(ev_focus),
        pa.array(np.full(n, "Checkout", dtype=object), pa.string()),
        pa.array(np.full(n, "Thank you", dtype=object), pa.string()),
    )

    items, item_value = _items(ev, kind, ev_order, focus, orders, catalog)
    params = _params(n, ev, kind, p, s.start[sess], s.number[sess], page_location, page_title, ev_order,
                     orders, item_value, rng)
    ecommerce = _ecommerce(kind, ev_order, orders)

    visitors = pseudo_ids(s.visitor[sess], s.first_touch[sess])
    cust = s.customer[sess]
    user_id = pa.array(customers.customer_id[np.maximum(cust, 0)]).cast(pa.string())
    user_id = pc.if_else(pa.array(s.logged_in[sess]), user_id, pa.nulls(k, pa.string()))
    first_src = s.first_source[sess]
    traffic_source = pa.StructArray.from_arrays(
        [_vocab([t.campaign for t in sources], first_src), _vocab([t.medium for t in sources], first_src),
         _vocab([t.source for t in sources], first_src)], names=["name", "medium", "source"])
    camp_ids = [t.campaign_id for t in sources]
    collected = pa.StructArray.from_arrays(
        [pa.array(camp_ids, pa.string()).take(pa.array(src)), _vocab([t.campaign for t in sources], src),
         _vocab([t.source for t in sources], src), _vocab([t.medium for t in sources], src), gclid],
        names=["manual_campaign_id", "manual_campaign_name", "manual_source", "manual_medium", "gclid"],
        mask=pa.array(channel == DIRECT))
    all_places = places()
    place = s.place[sess]
    geo = pa.StructArray.from_arrays(
        [pa.array(np.full(k, "Europe", dtype=object), pa.string()),
         _vocab([COUNTRIES[pl.country].name for pl in all_places], place),
         _vocab([pl.region for pl in all_places], place), _vocab([pl.city for pl in all_places], place)],
        names=["continent", "country", "region", "city"])
    dev = s.device[sess]
    apple = (s.visitor[sess] % 3) == 0
    os_code = np.where(dev == 0, np.where(apple, 1, 0), np.where(apple, 2, 3))
    device = pa.StructArray.from_arrays(
        [_vocab(list(DEVICES), dev), _vocab(["Windows", "Macintosh", "iOS", "Android"], os_code),
         _vocab(["Chrome", "Safari", "Safari", "Chrome"], os_code)],
        names=["category", "operating_system", "browser"])

    event_date = pa.array((ts_us // 86_400_000_000).astype(np.int32), pa.date32())
    return pa.table({
        "event_date": pc.strftime(event_date.cast(pa.timestamp("s")), format="%Y%m%d"),
        "event_timestamp": pa.array(ts_us),
        "event_name": _vocab(list(KNOWN_EVENT_NAMES), kind),
        "event_params": params,
        "user_id": user_id.take(session_idx),
        "user_pseudo_id": visitors.take(session_idx),
        "user_first_touch_timestamp": pa.array(s.first_touch[sess][ev] * 1_000_000),
        "device": device.take(session_idx),
        "geo": geo.take(session_idx),
        "traffic_source": traffic_source.take(session_idx),
        "stream_id": pa.array(np.full(n, STREAM_ID, dtype=object), pa.string()),
        "platform": pa.array(np.full(n, "WEB", dtype=object), pa.string()),
        "ecommerce": ecommerce,
        "items": items,
        "collected_traffic_source": collected.take(session_idx),
    })


def _vocab(labels: list[str], codes: np.ndarray) -> pa.Array:
    return pa.array(labels, pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def _items(ev: np.ndarray, kind: np.ndarray, ev_order: np.ndarray, focus: np.ndarray, orders: WebOrders,
           catalog: Catalog) -> tuple[pa.Array, np.ndarray]:
    """Items per event: view_item → the focus product; cart/checkout/purchase → the order's lines (or focus)."""
    n = len(kind)
    with_order = (ev_order >= 0) & (kind >= ADD_TO_CART)
    single = ((kind == VIEW_ITEM) | ((kind >= ADD_TO_CART) & (ev_order < 0)))
    s_ev = np.flatnonzero(single)
    o_ev = np.flatnonzero(with_order)
    o_ord = ev_order[o_ev]
    n_lines = orders.line_offsets[o_ord + 1] - orders.line_offsets[o_ord]
    rep = np.repeat(np.arange(len(o_ev)), n_lines)
    within = np.arange(len(rep)) - np.concatenate([[0], np.cumsum(n_lines)[:-1]])[rep]
    line = orders.line_offsets[o_ord][rep] + within
    item_ev = np.concatenate([s_ev, o_ev[rep]])
    item_product = np.concatenate([focus[ev[s_ev]], orders.line_product[line]])
    item_qty = np.concatenate([np.ones(len(s_ev), dtype=np.int64), orders.line_qty[line]])
    item_pos = np.concatenate([np.zeros(len(s_ev), dtype=np.int64), within])
    order = np.lexsort((item_pos, item_ev))
    item_ev, item_product, item_qty = item_ev[order], item_product[order], item_qty[order]
    price = catalog.price_cents[item_product]
    counts = np.bincount(item_ev, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    prod = pa.array(item_product)
    values = pa.StructArray.from_arrays(
        [pa.array(catalog.sku, pa.string()).take(prod), pa.array(catalog.title, pa.string()).take(prod),
         pa.array(catalog.brand, pa.string()).take(prod),
         pa.array([c[0] for c in CATEGORIES]).take(pa.array(catalog.category[item_product])),
         pa.array(price / 100.0), pa.array(item_qty)],
        names=["item_id", "item_name", "item_brand", "item_category", "price", "quantity"])
    value_cents = np.bincount(item_ev, weights=price * item_qty, minlength=n)
    return pa.ListArray.from_arrays(pa.array(offsets), values), value_cents


def _params(n: int, ev: np.ndarray, kind: np.ndarray, p: np.ndarray, session_start: np.ndarray,
            number: np.ndarray, page_location: pa.Array, page_title: pa.Array, ev_order: np.ndarray,
            orders: WebOrders, item_value_cents: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """event_params as GA4 exports them: a list of {key, value{string_value,int_value,float_value,double_value}}."""
    all_ev = np.arange(n)
    engaged = np.flatnonzero(kind >= PAGE_VIEW)
    valued = np.flatnonzero(kind >= VIEW_ITEM)
    bought = np.flatnonzero(kind == PURCHASE)
    value_cents = np.where(kind == PURCHASE, orders.total_cents[np.maximum(ev_order, 0)], item_value_cents)
    blocks = [  # (events, key, string values, int values, double values)
        (all_ev, "ga_session_id", None, session_start[ev], None),
        (all_ev, "ga_session_number", None, number[ev], None),
        (all_ev, "page_location", page_location, None, None),
        (all_ev, "page_title", page_title, None, None),
        (engaged, "engagement_time_msec", None, rng.integers(800, 60_000, len(engaged)), None),
        (valued, "currency", pa.array(np.full(len(valued), "EUR", dtype=object), pa.string()), None, None),
        (valued, "value", None, None, value_cents[valued] / 100.0),
        (bought, "transaction_id", pa.array(ORDER_ID_BASE + ev_order[bought]).cast(pa.string()), None, None),
    ]
    ev_parts, rank_parts, keys, svals, ivals, dvals = [], [], [], [], [], []
    for rank, (events, key, sv, iv, dv) in enumerate(blocks):
        m = len(events)
        ev_parts.append(events)
        rank_parts.append(np.full(m, rank))
        keys.append(pa.array(np.full(m, key, dtype=object), pa.string()))
        svals.append(sv.take(pa.array(events)) if sv is not None and len(sv) == n else
                     (sv if sv is not None else pa.nulls(m, pa.string())))
        ivals.append(pa.array(iv, pa.int64()) if iv is not None else pa.nulls(m, pa.int64()))
        dvals.append(pa.array(dv, pa.float64()) if dv is not None else pa.nulls(m, pa.float64()))
    p_ev = np.concatenate(ev_parts)
    order = pa.array(np.lexsort((np.concatenate(rank_parts), p_ev)))
    value = pa.StructArray.from_arrays(
        [pa.concat_arrays(svals).take(order), pa.concat_arrays(ivals).take(order),
         pa.nulls(len(p_ev), pa.float64()), pa.concat_arrays(dvals).take(order)],
        fields=list(_PARAM_VALUE))
    flat = pa.StructArray.from_arrays([pa.concat_arrays(keys).take(order), value], fields=list(_PARAM))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(p_ev, minlength=n))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat)


def _ecommerce(kind: np.ndarray, ev_order: np.ndarray, orders: WebOrders) -> pa.Array:
    o = np.maximum(ev_order, 0)
    is_purchase = kind == PURCHASE
    qty = np.add.reduceat(orders.line_qty, orders.line_offsets[:-1]) if orders.size else np.zeros(0, np.int64)
    lines = np.diff(orders.line_offsets)
    mask = pa.array(~is_purchase)
    return pa.StructArray.from_arrays(
        [pa.array(qty[o]), pa.array(orders.total_cents[o] / 100.0), pa.array(orders.tax_cents[o] / 100.0),
         pa.array(orders.shipping_cents[o] / 100.0), pa.array(lines[o]),
         pa.array(ORDER_ID_BASE + o).cast(pa.string())],
        names=["total_item_quantity", "purchase_revenue", "tax_value", "shipping_value", "unique_items",
               "transaction_id"], mask=mask)
