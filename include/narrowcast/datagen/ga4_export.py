"""GA4 BigQuery-export files (``events_YYYYMMDD.ndjson``, or ``.ndjson.gz``), one per event date, a day at a time.

Nested parts (``event_params``, ``items``, ``ecommerce``, ``geo``, ``device``, traffic sources) are rendered to
JSON text with Arrow string kernels, mostly by rendering a small vocabulary once (places, products, sources) and
taking from it per event; :mod:`narrowcast.datagen.ndjson` writes the lines. A day's file holds the events of
sessions that started that day or spilled over midnight into it, grouped by session in session start order.
Memory stays bounded by ``SESSIONS_PER_CHUNK`` sessions per worker.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import igzip

from narrowcast.datagen.catalog import CATEGORIES, Catalog
from narrowcast.datagen.customers import Customers
from narrowcast.datagen.geography import COUNTRIES, places
from narrowcast.datagen.ndjson import (
    JSON_MEMBERS,
    RAW_JSON,
    append_ndjson,
    json_double,
    json_string,
    to_json_text,
)
from narrowcast.datagen.sessions import DEVICES, Sessions, pseudo_ids
from narrowcast.datagen.traffic import DIRECT, PAID_SEARCH, TrafficSource
from narrowcast.datagen.web_orders import ORDER_ID_BASE, WebOrders

SITE = "https://shop.example.com"
STREAM_ID = "4178123456"
KNOWN_EVENT_NAMES = ("first_visit", "session_start", "page_view", "view_item", "add_to_cart", "begin_checkout",
                     "purchase")
FIRST_VISIT, SESSION_START, PAGE_VIEW, VIEW_ITEM, ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE = range(7)
_JITTER_US = 900_000
# Longer than any session (at most 9 events, < 240 s apart): how far back a day looks for sessions spilling in.
_MAX_SESSION_SECONDS = 7200
SESSIONS_PER_CHUNK = 10_000
# ISA-L's gzip at level 1: ~2.3 GB/s of one core and ~14x smaller on this text (zlib's level 1: ~0.5 GB/s, 13x).
GZIP_LEVEL = 1
MAX_WORKERS = 4


DayHook = Callable[[date, pa.Table], pa.Table]


def event_file_name(day: date, gzipped: bool = False) -> str:
    return f"events_{day:%Y%m%d}.ndjson" + (".gz" if gzipped else "")


@contextmanager
def open_export(path: Path, mode: str = "wb") -> Iterator[BinaryIO]:
    """An export file, gzip-compressed when its name ends in ``.gz``; the gzip header carries no name and no
    time, so the same lines give the same bytes (for a given ISA-L version)."""
    if path.suffix != ".gz":
        with path.open(mode) as fh:
            yield fh
        return
    with path.open(mode) as raw, igzip.GzipFile(filename="", mode=mode, fileobj=raw, compresslevel=GZIP_LEVEL,
                                                mtime=0) as fh:
        yield fh  # type: ignore[misc]


@dataclass(frozen=True)
class _Job:
    """What a worker needs to write any day; set before the workers fork, so they inherit it without copying."""

    out_dir: Path
    seed: int
    s: Sessions
    customers: Customers
    orders: WebOrders
    catalog: Catalog
    vocab: _Vocab
    start: date
    start_s: int
    gzipped: bool
    hook: DayHook | None
    tally: Callable[[], object] | None


_JOB: _Job | None = None


def _write_day(d: int) -> tuple[int, int, object]:
    """Write day ``d``'s file; returns (d, rows, what ``tally`` collected from the hook for that day)."""
    job = _JOB
    assert job is not None, "_write_day runs only in the workers of start_ga4_exports"
    day = job.start + timedelta(days=d)
    day_start_s = job.start_s + d * 86400
    s = job.s
    lo = int(np.searchsorted(s.start, day_start_s - _MAX_SESSION_SECONDS, side="left"))
    hi = int(np.searchsorted(s.start, day_start_s + 86400, side="left"))
    written = 0
    with open_export(job.out_dir / event_file_name(day, job.gzipped)) as fh:
        # Sessions in chunks keep memory bounded; events stay grouped by session, sessions by start time.
        for chunk_lo in range(lo, hi, SESSIONS_PER_CHUNK):
            chunk_hi = min(chunk_lo + SESSIONS_PER_CHUNK, hi)
            table = _events(job.seed, s, chunk_lo, chunk_hi, job.customers, job.orders, job.catalog, job.vocab,
                            (day_start_s * 1_000_000, (day_start_s + 86400) * 1_000_000))
            if job.hook is not None:
                table = job.hook(day, table)
            written += append_ndjson(table, fh)
    return d, written, job.tally() if job.tally is not None else None


def _executor(workers: int) -> Executor:
    # Forked processes use every core for the whole day (threads would serialise on the GIL between Arrow
    # kernels) and inherit the session arrays copy-on-write; where fork does not exist, threads do the same work.
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_use_system_allocator)
    return ThreadPoolExecutor(workers)


def _use_system_allocator() -> None:
    """In a worker: Arrow allocates from the C library's malloc, which keeps the freed buffers of one chunk for
    the next. Arrow's default pool (mimalloc) hands them back to the kernel and faults them in again: ~10% of
    a worker's CPU went to page faults (0.34–0.56 system CPU-s per 3.0M events rendered, none with malloc)."""
    pa.set_memory_pool(pa.system_memory_pool())


def start_ga4_exports(out_dir: Path, seed: int, s: Sessions, customers: Customers, orders: WebOrders,
                      catalog: Catalog, sources: list[TrafficSource], start: date, days: int,
                      hook: DayHook | None = None, progress: Callable[[str], None] | None = None, *,
                      gzipped: bool = False, tally: Callable[[], object] | None = None,
                      merge: Callable[[object], None] | None = None) -> Ga4Writing:
    """Start writing one NDJSON file per day (gzip-compressed with ``gzipped``); :meth:`Ga4Writing.wait` returns
    the rows written per day. ``hook`` may alter each chunk of a day's events before it is
    written.

    Days are independent (per-event values come from a seeded hash, not a shared stream), so one worker process
    per core writes them in parallel, while the caller goes on with other work; a file's bytes do not depend on
    the number of workers. The session, customer and order arrays must not change until the wait returns. A hook
    that counts what it does gives ``tally`` (called in the worker after each day: take and reset the counts)
    and ``merge`` (called in this process with each day's tally, in day order). Call from a process with no
    other thread busy: the workers fork.
    """
    global _JOB
    out_dir.mkdir(parents=True, exist_ok=True)
    start_s = int((np.datetime64(start, "s") - np.datetime64(0, "s")).astype(np.int64))
    _JOB = _Job(out_dir, seed, s, customers, orders, catalog, _Vocab.build(catalog, sources), start, start_s,
                gzipped, hook, tally)
    pool = _executor(max(1, min(MAX_WORKERS, os.cpu_count() or 1, days)))
    writing = Ga4Writing(pool, start, progress, merge)
    try:
        writing.pending = [pool.submit(_write_day, d) for d in range(days)]
    except BaseException:
        writing.cancel()
        raise
    return writing


class Ga4Writing:
    """The GA4 days being written by :func:`start_ga4_exports`: :meth:`wait` for them, or :meth:`cancel`."""

    def __init__(self, pool: Executor, start: date, progress: Callable[[str], None] | None,
                 merge: Callable[[object], None] | None) -> None:
        self.pool, self.start, self.progress, self.merge = pool, start, progress, merge
        self.pending: list[Future[tuple[int, int, object]]] = []

    def wait(self) -> dict[date, int]:
        """The rows written per day, once every day is written (a failed day raises here)."""
        rows: dict[date, int] = {}
        try:
            for future in self.pending:
                d, count, counted = future.result()
                day = self.start + timedelta(days=d)
                rows[day] = count
                if self.merge is not None:
                    self.merge(counted)
                if self.progress is not None and d % 7 == 6:
                    self.progress(f"ga4: wrote {sum(rows.values()):,} events up to {day:%Y-%m-%d}")
        finally:
            self.cancel()
        return rows

    def cancel(self) -> None:
        """Drop the days not started yet and wait for the ones being written (nothing once :meth:`wait` is done)."""
        global _JOB
        self.pool.shutdown(wait=True, cancel_futures=True)
        _JOB = None


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-spread 64-bit hash, so per-event values need no shared random stream."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _raw(arrays: dict[str, pa.Array]) -> pa.Table:
    """A table whose text columns are JSON to write verbatim (``_RAW_COLUMNS``) or ready members (``session``)."""
    fields = [pa.field(name, arr.type, metadata=JSON_MEMBERS if name == "session" else
                       RAW_JSON if name in _RAW_COLUMNS else None) for name, arr in arrays.items()]
    return pa.Table.from_arrays(list(arrays.values()), schema=pa.schema(fields))


_RAW_COLUMNS = {"event_date", "event_params", "ecommerce", "items"}
_DEVICE_OS = (("Windows", "Chrome"), ("Macintosh", "Safari"), ("iOS", "Safari"), ("Android", "Chrome"))


@dataclass(frozen=True)
class _Vocab:
    """JSON text rendered once per run for everything that comes from a small vocabulary."""

    geo: pa.Array  # per place
    device: pa.Array  # per device × 4 + os
    traffic_source: pa.Array  # per source
    collected: pa.Array  # per source, complete (no gclid)
    collected_head: pa.Array  # per source, open before the gclid value
    landing_query: pa.Array  # per source
    item_head: pa.Array  # per product, open before the quantity
    urls_json: pa.Array  # checkout, thank-you, per category collection, per product page (quoted JSON strings)
    url_collection_base: int
    url_product_base: int
    price_cents: np.ndarray  # per product
    channel: np.ndarray  # per source

    @staticmethod
    def build(catalog: Catalog, sources: list[TrafficSource]) -> _Vocab:
        all_places = places()
        geo = to_json_text(pa.array([{"continent": "Europe", "country": COUNTRIES[pl.country].name,
                                      "region": pl.region, "city": pl.city} for pl in all_places]))
        device = to_json_text(pa.array([{"category": d, "operating_system": o, "browser": b}
                                        for d in DEVICES for o, b in _DEVICE_OS]))
        traffic = to_json_text(pa.array([{"name": t.campaign, "medium": t.medium, "source": t.source}
                                         for t in sources]))
        collected_rows = [{"manual_campaign_id": t.campaign_id, "manual_campaign_name": t.campaign,
                           "manual_source": t.source, "manual_medium": t.medium} for t in sources]
        collected = to_json_text(pa.array(collected_rows))
        collected_head = pc.binary_join_element_wise(pc.utf8_slice_codeunits(collected, 0, -1), ',"gclid":', "")
        products = pa.array([{"item_id": sku, "item_name": title, "item_brand": brand,
                              "item_category": CATEGORIES[cat][0], "price": price / 100.0}
                             for sku, title, brand, cat, price in zip(catalog.sku, catalog.title, catalog.brand,
                                                                      catalog.category, catalog.price_cents,
                                                                      strict=True)])
        item_head = pc.binary_join_element_wise(pc.utf8_slice_codeunits(to_json_text(products), 0, -1),
                                                ',"quantity":', "")
        urls = [f"{SITE}/checkout", f"{SITE}/checkout/thank-you"]
        urls += [f"{SITE}/collections/{c[1].lower()}" for c in CATEGORIES]
        urls += [f"{SITE}/products/{sku.lower()}" for sku in catalog.sku]
        return _Vocab(geo, device, traffic, collected, collected_head,
                      pa.array([t.landing_query for t in sources], pa.string()), item_head,
                      json_string(pa.array(urls, pa.string())), 2, 2 + len(CATEGORIES), catalog.price_cents,
                      np.array([t.channel for t in sources], dtype=np.int64))


def _events(seed: int, s: Sessions, lo: int, hi: int, customers: Customers, orders: WebOrders,
            catalog: Catalog, vocab: _Vocab, window_us: tuple[int, int]) -> pa.Table:
    """Events of sessions ``lo``..``hi`` whose timestamp falls in the half-open ``window_us``."""
    sess = np.arange(lo, hi)
    k = len(sess)
    counts = s.event_count(lo, hi)
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
    start = s.start[sess]
    salt = _mix(np.array([seed], dtype=np.uint64))[0]
    event_hash = _mix((sess[ev].astype(np.uint64) << np.uint64(5)) + pos.astype(np.uint64) + salt)
    jitter = np.where(kind == PURCHASE, 0, (event_hash % np.uint64(_JITTER_US)).astype(np.int64))
    ts_us = (start[ev] + np.maximum(p, 0) * s.pace[sess][ev]) * 1_000_000 + jitter
    # Keep only the window's events before any text is rendered (sessions spill over midnight).
    keep = np.flatnonzero((ts_us >= window_us[0]) & (ts_us < window_us[1]))
    ev, pos, p, kind, event_hash, ts_us = ev[keep], pos[keep], p[keep], kind[keep], event_hash[keep], ts_us[keep]
    n = len(ev)
    ev_order = s.order[sess][ev]
    focus = s.focus_product[sess]
    session_idx = pa.array(ev)

    src = s.source[sess]
    channel = vocab.channel[src]
    paid_search = channel == PAID_SEARCH
    gclid = pc.binary_join_element_wise(
        "Cj0KCQjw", pa.array((sess.astype(np.uint64) * np.uint64(11400714819323198485)) >> np.uint64(12)
                             ).cast(pa.string()), "")
    gclid = pc.if_else(pa.array(paid_search), gclid, "")
    src_idx = pa.array(src)
    landing = pc.binary_join_element_wise(SITE + "/", vocab.landing_query.take(src_idx), gclid, "")
    # One URL vocabulary for the chunk: the fixed pages, then its landing URLs (one per session), as JSON text.
    urls = pa.concat_arrays([vocab.urls_json, json_string(landing)])
    url_code = np.select(
        [p <= 1, kind == PAGE_VIEW, kind <= ADD_TO_CART, kind == BEGIN_CHECKOUT],
        [len(vocab.urls_json) + ev, vocab.url_collection_base + catalog.category[focus[ev]],
         vocab.url_product_base + focus[ev], 0], 1)
    # Rendered (quoted, escaped) once per URL of the vocabulary, then taken per event.
    page_location_json = urls.take(pa.array(url_code))

    items, item_value = _items(ev, kind, ev_order, focus, orders, vocab)
    params = _params(n, ev, kind, s.start[sess], s.number[sess], page_location_json, ev_order, orders, item_value,
                     event_hash)
    collected = pc.if_else(pa.array(paid_search),
                           pc.binary_join_element_wise(vocab.collected_head.take(src_idx), '"', gclid, '"}', ""),
                           vocab.collected.take(src_idx))
    cust = s.customer[sess]
    user_id = pa.array(customers.customer_id[np.maximum(cust, 0)]).cast(pa.string())
    apple = (s.visitor[sess] % 3) == 0
    dev = s.device[sess]
    device_code = dev * 4 + np.where(dev == 0, np.where(apple, 1, 0), np.where(apple, 2, 3))
    # Everything that is the same for all events of a session is rendered once per session.
    session_members = pc.binary_join_element_wise(
        '"user_pseudo_id":"', pseudo_ids(s.visitor[sess], s.first_touch[sess]), '",',
        pc.if_else(pa.array(s.logged_in[sess]), pc.binary_join_element_wise('"user_id":"', user_id, '",', ""), ""),
        '"user_first_touch_timestamp":', pa.array(s.first_touch[sess] * 1_000_000).cast(pa.string()),
        ',"device":', vocab.device.take(pa.array(device_code)),
        ',"geo":', vocab.geo.take(pa.array(s.place[sess])),
        ',"traffic_source":', vocab.traffic_source.take(pa.array(s.first_source[sess])),
        f',"stream_id":"{STREAM_ID}","platform":"WEB"',
        pc.if_else(pa.array(channel == DIRECT), "",
                   pc.binary_join_element_wise(',"collected_traffic_source":', collected, "")), "")
    return _raw({
        "event_date": _event_dates(ts_us),
        "event_timestamp": pa.array(ts_us),
        "event_name": pa.array(list(KNOWN_EVENT_NAMES), pa.string()).take(pa.array(kind)),
        "event_params": params,
        "session": session_members.take(session_idx),
        "ecommerce": _ecommerce(kind, ev_order, orders),
        "items": items,
    })


def _event_dates(ts_us: np.ndarray) -> pa.Array:
    """'"YYYYMMDD"' per event (JSON text): each date spanned is formatted once, then taken per event."""
    day = ts_us // 86_400_000_000
    first, last = (int(day.min()), int(day.max())) if len(day) else (0, -1)
    spanned = pa.array(np.arange(first, last + 1) * 86400).cast(pa.timestamp("s"))
    return json_string(pc.strftime(spanned, format="%Y%m%d")).take(pa.array(day - first))


def _items(ev: np.ndarray, kind: np.ndarray, ev_order: np.ndarray, focus: np.ndarray, orders: WebOrders,
           vocab: _Vocab) -> tuple[pa.Array, np.ndarray]:
    """Items per event: view_item → the focus product; cart/checkout/purchase → the order's lines (or focus)."""
    n = len(kind)
    with_order = (ev_order >= 0) & (kind >= ADD_TO_CART)
    single = (kind == VIEW_ITEM) | ((kind >= ADD_TO_CART) & (ev_order < 0))
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
    texts = pc.binary_join_element_wise(vocab.item_head.take(pa.array(item_product)),
                                        pa.array(item_qty).cast(pa.string()), "}", "")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(item_ev, minlength=n))]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), texts), ",")
    price = vocab.price_cents[item_product]
    value_cents = np.bincount(item_ev, weights=price * item_qty, minlength=n)
    return pc.binary_join_element_wise("[", joined, "]", ""), value_cents


def _params(n: int, ev: np.ndarray, kind: np.ndarray, session_start: np.ndarray, number: np.ndarray,
            page_location_json: pa.Array, ev_order: np.ndarray, orders: WebOrders, item_value_cents: np.ndarray,
            event_hash: np.ndarray) -> pa.Array:
    """event_params as GA4 exports them: [{"key": ..., "value": {"<type>_value": ...}}, ...].

    Every event carries the first three parameters; the later ones nest (engaged ⊇ valued ⊇ bought), so each
    event's list is one join of fixed pieces with the parameters it lacks left out.
    """
    engaged = np.flatnonzero(kind >= PAGE_VIEW)
    valued = np.flatnonzero(kind >= VIEW_ITEM)
    bought = np.flatnonzero(kind == PURCHASE)
    value_cents = np.where(kind == PURCHASE, orders.total_cents[np.maximum(ev_order, 0)], item_value_cents)

    def ints(values: np.ndarray) -> pa.Array:
        return pa.array(values).cast(pa.string())

    def head(key: str, kind_name: str) -> str:
        return f'{{"key":"{key}","value":{{"{kind_name}_value":'

    def on(events: np.ndarray, *pieces: pa.Array | str) -> pa.Array:
        """The pieces joined on ``events``, null (left out of the list) on every other event."""
        text = pc.binary_join_element_wise(*pieces, "")
        index = np.full(n, -1, dtype=np.int64)
        index[events] = np.arange(len(events))
        return text.take(pa.array(index, mask=index < 0))

    # The parameters up to page_location's value are the same for every event of a session: joined per session.
    session_head = pc.binary_join_element_wise(
        "[" + head("ga_session_id", "int"), ints(session_start), "}}," + head("ga_session_number", "int"),
        ints(number), "}}," + head("page_location", "string"), "")
    return pc.binary_join_element_wise(
        session_head.take(pa.array(ev)), page_location_json, "}}",
        on(engaged, "," + head("engagement_time_msec", "int"),
           ints(800 + ((event_hash[engaged] >> np.uint64(20)) % np.uint64(59_200)).astype(np.int64)), "}}"),
        on(valued, "," + head("currency", "string") + '"EUR"}},' + head("value", "double"),
           json_double(pa.array(value_cents[valued] / 100.0)), "}}"),
        on(bought, "," + head("transaction_id", "string") + '"', ints(ORDER_ID_BASE + ev_order[bought]), '"}}'),
        "]", "", null_handling="replace", null_replacement="")


def _ecommerce(kind: np.ndarray, ev_order: np.ndarray, orders: WebOrders) -> pa.Array:
    """The purchase's ecommerce object; null on every other event."""
    bought = np.flatnonzero(kind == PURCHASE)
    o = ev_order[bought]
    # Only this chunk's orders: a pass over every order per chunk would grow with the square of the scale.
    first_line = orders.line_offsets[o]
    lines = orders.line_offsets[o + 1] - first_line
    rep = np.repeat(np.arange(len(o)), lines)
    line = first_line[rep] + np.arange(len(rep)) - np.repeat(np.cumsum(lines) - lines, lines)
    qty = np.zeros(len(o), dtype=np.int64)
    np.add.at(qty, rep, orders.line_qty[line])
    texts = to_json_text(pa.StructArray.from_arrays(
        [pa.array(qty, pa.int64()), pa.array(orders.total_cents[o] / 100.0), pa.array(orders.tax_cents[o] / 100.0),
         pa.array(orders.shipping_cents[o] / 100.0), pa.array(lines, pa.int64()),
         pa.array(ORDER_ID_BASE + o).cast(pa.string())],
        names=["total_item_quantity", "purchase_revenue", "tax_value", "shipping_value", "unique_items",
               "transaction_id"]))
    index = np.full(len(kind), -1, dtype=np.int64)
    index[bought] = np.arange(len(bought))
    return texts.take(pa.array(index, mask=index < 0))
