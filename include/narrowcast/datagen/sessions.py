"""Web sessions: who visits, from which source, how deep into the funnel, and which order a visit converted to.

Every non-test web order gets exactly one purchase session that ends at the order's ``created_at``; the other
sessions browse, view products or abandon a cart. Sessions are numbered per visitor (``ga_session_number``) and
carry the visitor's first-ever source (GA4 ``traffic_source``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.catalog import Catalog
from narrowcast.datagen.customers import Customers
from narrowcast.datagen.geography import places
from narrowcast.datagen.table_writer import pick, timestamps
from narrowcast.datagen.traffic import (
    BROWSE_MIX,
    CHANNELS,
    DIRECT,
    EMAIL,
    PURCHASE_MIX,
    Campaign,
    TrafficSource,
    active_matrix,
)
from narrowcast.datagen.web_orders import ORDER_ID_BASE, WebOrders

# Calibrated to published benchmarks (narrowcast.datagen.benchmarks): about 2% of sessions end in an order
# (Monetate: 2.58% global average; Statista: 1.6%), so each order comes with ~38 sessions that do not buy, mostly
# from anonymous visitors.
BROWSE_SESSIONS_PER_ORDER = 38
ANONYMOUS_VISITORS_PER_CUSTOMER = 8
# Funnel depth of sessions that do not buy: 0 page views only, 1 view_item, 2 add_to_cart, 3 begin_checkout.
# About 2.3 carts are left for every cart that becomes an order, Baymard's 70% cart abandonment average.
BROWSE_DEPTH = np.array([0.600, 0.339, 0.037, 0.024])
PURCHASE_DEPTH = 4
# A session that does not buy starts within this many days either side of some order: visits keep the orders' pace.
BROWSE_SPREAD_DAYS = 3.5
DEVICES = ("desktop", "mobile", "tablet")


@dataclass
class Sessions:
    """Session arrays sorted by start time; ``day_offsets[d]:day_offsets[d+1]`` are the sessions of day d."""

    visitor: np.ndarray
    customer: np.ndarray  # customer index behind the visitor, -1 for anonymous visitors
    start: np.ndarray  # epoch seconds
    pace: np.ndarray  # seconds between consecutive events
    extra_page_views: np.ndarray
    depth: np.ndarray
    source: np.ndarray  # index into traffic_sources()
    logged_in: np.ndarray
    device: np.ndarray
    place: np.ndarray
    order: np.ndarray  # web order index, -1 when the session did not buy
    focus_product: np.ndarray
    number: np.ndarray  # ga_session_number
    first_source: np.ndarray  # the visitor's first session source
    first_touch: np.ndarray  # the visitor's first session start
    day_offsets: np.ndarray

    @property
    def size(self) -> int:
        return len(self.start)

    def event_count(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """session_start + page_view + extra page views + one event per funnel step (+ first_visit), for the
        sessions ``lo``..``hi`` (all by default)."""
        part = slice(lo, hi)
        return 2 + self.extra_page_views[part] + self.depth[part] + (self.number[part] == 1)


def build_sessions(rng: np.random.Generator, customers: Customers, orders: WebOrders, catalog: Catalog,
                   all_campaigns: list[Campaign], sources: list[TrafficSource], start_s: int, days: int) -> Sessions:
    end_s = start_s + days * 86400
    n_cust = customers.size
    n_anon = max(n_cust * ANONYMOUS_VISITORS_PER_CUSTOMER, 10)
    buying = np.flatnonzero(~orders.test)
    n_buy = len(buying)
    n_browse = max(n_buy * BROWSE_SESSIONS_PER_ORDER, n_cust)

    # When: a purchase session ends at its order; the others keep the orders' pace (_browse_starts).
    window_end = end_s - 7200
    browse_start = _browse_starts(rng, n_browse, np.sort(orders.created_at[buying]), start_s, window_end)
    # Who: buyers are the order's customer (guests are anonymous visitors); browsers are anonymous or a customer
    # who already had an account when the visit started.
    buy_cust = orders.customer[buying]
    buy_visitor = np.where(buy_cust >= 0, buy_cust, n_cust + rng.integers(0, n_anon, n_buy))
    browse_cust = np.where(rng.random(n_browse) < 0.35, _customers_at(rng, customers, browse_start), -1)
    browse_is_cust = browse_cust >= 0
    browse_visitor = np.where(browse_is_cust, browse_cust, n_cust + rng.integers(0, n_anon, n_browse))
    visitor = np.concatenate([buy_visitor, browse_visitor])
    customer = np.where(visitor < n_cust, visitor, -1)
    n = len(visitor)
    is_buy = np.arange(n) < n_buy
    order = np.concatenate([buying, np.full(n_browse, -1)])
    depth = np.concatenate([np.full(n_buy, PURCHASE_DEPTH), rng.choice(4, n_browse, p=BROWSE_DEPTH)])
    logged_in = (customer >= 0) & (rng.random(n) < np.where(is_buy, 0.8, 0.5))
    extra_pv = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    pace = rng.integers(15, 240, n)
    # Events after session_start: page_view + extras + funnel steps; first_visit shares session_start's time.
    duration = (1 + extra_pv + depth) * pace
    start = np.concatenate([orders.created_at[buying] - duration[:n_buy], browse_start])
    day = np.clip((start - start_s) // 86400, 0, days - 1)

    source = _pick_sources(rng, is_buy, customer, customers.accepts_marketing, day, all_campaigns, sources, days)
    focus = rng.choice(catalog.size, n, p=catalog.popularity)
    first_lines = orders.line_product[orders.line_offsets[:-1]]
    focus = np.where(is_buy, first_lines[np.maximum(order, 0)], focus)
    anon_place = rng.choice(len(places()), n_anon, p=_place_weights())
    place = np.where(customer >= 0, customers.place[np.maximum(customer, 0)], anon_place[visitor - n_cust])
    device = rng.choice(3, n, p=[0.38, 0.55, 0.07])

    by_start = _order_by(start, visitor)
    cols = [visitor, customer, start, pace, extra_pv, depth, source, logged_in, device, place, order, focus]
    visitor, customer, start, pace, extra_pv, depth, source, logged_in, device, place, order, focus = (
        c[by_start] for c in cols)
    by_visitor = _order_by(visitor, start)
    v_sorted = visitor[by_visitor]
    group_start = np.searchsorted(v_sorted, v_sorted, side="left")
    number = np.empty(n, dtype=np.int64)
    number[by_visitor] = np.arange(n) - group_start + 1
    first_source = np.empty(n, dtype=np.int64)
    first_source[by_visitor] = source[by_visitor][group_start]
    first_touch = np.empty(n, dtype=np.int64)
    first_touch[by_visitor] = start[by_visitor][group_start]
    day_offsets = np.searchsorted(start, start_s + 86400 * np.arange(days + 1))
    day_offsets[0] = 0
    day_offsets[-1] = n
    return Sessions(visitor, customer, start, pace, extra_pv, depth, source, logged_in, device, place, order,
                    focus, number, first_source, first_touch, day_offsets)


def _browse_starts(rng: np.random.Generator, n: int, order_times: np.ndarray, start_s: int,
                   window_end: int) -> np.ndarray:
    """Start times of ``n`` sessions that do not buy, at the orders' pace: each near a random order (uniformly
    within BROWSE_SPREAD_DAYS either side, reflected into [start_s, window_end]); uniform when there is no order.

    Visits and orders rise and fall together, so the share of sessions that convert, and with it paid ROAS (spend
    follows the paid sessions' clicks, revenue their orders), hold steady week to week as in a real shop. Spread
    evenly over the window instead, visits kept their pace while orders, placed mostly early, thinned out: weekly
    paid ROAS fell about threefold over 92 days (narrowcast.datagen.benchmarks)."""
    if len(order_times) == 0:
        return start_s + (rng.random(n) * (window_end - start_s)).astype(np.int64)
    anchor = order_times[rng.integers(0, len(order_times), n)]
    start = anchor + ((rng.random(n) * 2 - 1) * BROWSE_SPREAD_DAYS * 86400).astype(np.int64)
    start = np.where(start < start_s, 2 * start_s - start, start)
    start = np.where(start > window_end, 2 * window_end - start, start)
    return np.clip(start, start_s, window_end)


def _customers_at(rng: np.random.Generator, customers: Customers, when: np.ndarray) -> np.ndarray:
    """A random real customer whose account existed at each time (-1 where none did yet)."""
    real = np.flatnonzero(~customers.is_test)
    if len(real) == 0:
        return np.full(len(when), -1, dtype=np.int64)
    real = real[np.argsort(customers.created_at[real], kind="stable")]
    existing = np.searchsorted(customers.created_at[real], when, side="right")
    pick = real[np.minimum((rng.random(len(when)) * existing).astype(np.int64), len(real) - 1)]
    return np.where(existing > 0, pick, -1)


def _order_by(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """The permutation ``np.lexsort((minor, major))`` gives (ties keep their order), ~4x faster: one unstable
    sort of a combined int64 key, then the rare equal keys put back in their original order."""
    lo_major, lo_minor = int(major.min(initial=0)), int(minor.min(initial=0))
    width = int(minor.max(initial=0)) - lo_minor + 1
    if (int(major.max(initial=0)) - lo_major + 1) * width >= 2**62:
        return np.lexsort((minor, major))
    key = (major - lo_major) * width + (minor - lo_minor)
    order = np.argsort(key)
    ranked = key[order]
    tied = np.flatnonzero(ranked[1:] == ranked[:-1])
    if len(tied):
        at = np.union1d(tied, tied + 1)  # every position inside a run of equal keys, ascending
        run = np.cumsum(np.concatenate([[1], np.diff(at) != 1]) | np.concatenate([[True], ranked[at[1:]] !=
                                                                                   ranked[at[:-1]]]))
        order[at] = order[at][np.lexsort((order[at], run))]
    return order


def _pick_sources(rng: np.random.Generator, is_buy: np.ndarray, customer: np.ndarray, consent: np.ndarray,
                  day: np.ndarray, all_campaigns: list[Campaign], sources: list[TrafficSource],
                  days: int) -> np.ndarray:
    n = len(is_buy)
    channel = np.where(is_buy, rng.choice(7, n, p=PURCHASE_MIX), rng.choice(7, n, p=BROWSE_MIX))
    # Only subscribers click e-mails; anyone else arriving "by e-mail" is really direct.
    subscribed = (customer >= 0) & consent[np.maximum(customer, 0)]
    channel = np.where((channel == EMAIL) & ~subscribed, DIRECT, channel)
    src_channel = np.array([s.channel for s in sources])
    src_campaign = np.array([s.campaign_index for s in sources])
    active = active_matrix(all_campaigns, days)
    weights = np.array([c.weight for c in all_campaigns])
    out = np.empty(n, dtype=np.int64)
    for ch in range(7):  # loop over the 7 channels, vectorised over sessions
        rows = np.flatnonzero(channel == ch)
        options = np.flatnonzero(src_channel == ch)
        if len(rows) == 0:
            continue
        paid_campaigns = np.unique(src_campaign[options][src_campaign[options] >= 0])
        if len(paid_campaigns) == 0:
            out[rows] = options[rng.integers(0, len(options), len(rows))]
            continue
        w = (active[day[rows]][:, paid_campaigns] * weights[paid_campaigns]).cumsum(axis=1)
        u = rng.random(len(rows)) * w[:, -1]
        chosen = paid_campaigns[(u[:, None] >= w).sum(axis=1)]
        variants = [options[src_campaign[options] == c] for c in paid_campaigns]
        width = max(len(v) for v in variants)
        table = np.array([np.resize(v, width) for v in variants])
        which = np.searchsorted(paid_campaigns, chosen)
        out[rows] = table[which, rng.integers(0, width, len(rows))]
    return out


def sessions_table(s: Sessions, customers: Customers, sources: list[TrafficSource],
                   pseudo_ids: pa.Array) -> pa.Table:
    """The generator truth per session (``ga4_sessions.parquet``)."""
    src = np.asarray(s.source)
    return pa.table({
        "user_pseudo_id": pseudo_ids,
        "ga_session_id": pa.array(s.start),
        "customer_id": pa.array(customers.customer_id[np.maximum(s.customer, 0)], mask=s.customer < 0),
        "source": pick([t.source for t in sources], src),
        "medium": pick([t.medium for t in sources], src),
        "campaign": pick([t.campaign for t in sources], src),
        "channel": pick(list(CHANNELS), np.array([t.channel for t in sources])[src]),
        "started_at": timestamps(s.start),
        "converted_order_id": pa.array(ORDER_ID_BASE + s.order, mask=s.order < 0),
        "ga_session_number": pa.array(s.number),
        "logged_in": pa.array(s.logged_in),
        "funnel_depth": pick(["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"], s.depth),
    })


def pseudo_ids(visitor: np.ndarray, first_touch: np.ndarray) -> pa.Array:
    """GA4 client ids 'NNNNNNNNNN.TTTTTTTTTT': a per-visitor number (odd-multiplier bijection) and first-touch time."""
    left = (visitor.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**31) + np.uint64(10**9)
    return pc.binary_join_element_wise(pa.array(left).cast(pa.string()), ".",
                                       pa.array(first_touch).cast(pa.string()), "")


def _place_weights() -> np.ndarray:
    w = np.array([p.weight for p in places()])
    return w / w.sum()
