"""Dirty mode: realistic defects injected on purpose, each bad row breaking exactly one rule, with a manifest.

Rule names match the quality gate's: ``not_null:<col>``, ``unique:<key>`` (count = extra duplicate rows),
``non_negative:<col>``, ``iso_currency:currency``, ``not_future:<col>``, ``known_event_name:event_name`` and the
file-level ``schema:extra_column``, ``schema:missing_column``, ``parse:truncated`` (count 1 per broken file).
The orders-export key is composite, so its duplicate rule is ``unique:order_id,line_number``.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.catalog import Catalog
from narrowcast.datagen.ga4_export import event_file_name, open_export
from narrowcast.datagen.table_writer import TIMESTAMP

Entry = dict[str, object]
BOGUS_EVENT_NAMES = ("page_veiw", "pageview_legacy", "cta_click_v2")
# Far enough ahead to be in the future whenever the gate runs; a clock-skewed device or a botched import.
FUTURE_SHIFT_SECONDS = 10 * 365 * 86400
ORDERS_WHERE = "world/orders.parquet (Shopify Admin API orders.json)"


def _entry(target: str, rule: str, count: int, where: str) -> Entry:
    return {"target": target, "rule": rule, "count": int(count), "where": where}


def _share(n: int, rate: float) -> int:
    return max(1, int(round(n * rate)))


def corrupt_orders(rng: np.random.Generator, orders: pa.Table, end_s: int) -> tuple[pa.Table, list[Entry]]:
    """Duplicate ids, negative totals, unknown currency and future created_at on disjoint non-test orders."""
    n = orders.num_rows
    pool = np.flatnonzero(~orders.column("test").to_numpy(zero_copy_only=False))
    k = min(_share(n, 0.004), len(pool) // 4)
    chosen = rng.choice(pool, 4 * k, replace=False)
    dup, neg, cur, fut = (np.sort(chosen[i * k:(i + 1) * k]) for i in range(4))

    def mask(rows: np.ndarray) -> pa.Array:
        m = np.zeros(n, dtype=bool)
        m[rows] = True
        return pa.array(m)

    total = orders.column("total_price")
    orders = orders.set_column(orders.schema.get_field_index("total_price"), "total_price",
                               pc.if_else(mask(neg), pc.negate(total), total))
    currency = orders.column("currency")
    orders = orders.set_column(orders.schema.get_field_index("currency"), "currency",
                               pc.if_else(mask(cur), pa.scalar("XXX"), currency))
    created = orders.column("created_at")
    future = pa.scalar((end_s + FUTURE_SHIFT_SECONDS) * 1_000_000, pa.int64()).cast(TIMESTAMP)
    orders = orders.set_column(orders.schema.get_field_index("created_at"), "created_at",
                               pc.if_else(mask(fut), future, created))
    order = np.sort(np.concatenate([np.arange(n), dup]), kind="stable")  # copies sit next to their originals
    orders = orders.take(pa.array(order))
    return orders, [
        _entry("shop_orders", "unique:id", k, ORDERS_WHERE),
        _entry("shop_orders", "non_negative:total_price", k, ORDERS_WHERE),
        _entry("shop_orders", "iso_currency:currency", k, ORDERS_WHERE),
        _entry("shop_orders", "not_future:created_at", k, ORDERS_WHERE),
    ]


def corrupt_inbox(rng: np.random.Generator, files: dict[str, pa.Table], catalog: Catalog,
                  last_day: date) -> tuple[dict[str, pa.Table], list[Entry]]:
    """An orders export with duplicates and negative amounts, an ERP file with an extra column and a budget
    draft with a missing column. Returns replaced/added files and their manifest entries."""
    out: dict[str, pa.Table] = {}
    entries: list[Entry] = []
    export_name = next(name for name in files if name.startswith("orders_export_"))
    export = files[export_name]
    n = export.num_rows
    k = min(_share(n, 0.01), n // 2)
    chosen = rng.choice(n, 2 * k, replace=False)
    dup, neg = np.sort(chosen[:k]), np.sort(chosen[k:])
    m = np.zeros(n, dtype=bool)
    m[neg] = True
    total = export.column("total_price")
    export = export.set_column(export.schema.get_field_index("total_price"), "total_price",
                               pc.if_else(pa.array(m), pc.negate(total), total))
    out[export_name] = export.take(pa.array(np.sort(np.concatenate([np.arange(n), dup]), kind="stable")))
    entries += [_entry("file_orders", "unique:order_id,line_number", k, export_name),
                _entry("file_orders", "non_negative:total_price", k, export_name)]

    erp_name = next(name for name in files if name.startswith("erp_stock_"))
    erp = files[erp_name]
    earlier = f"erp_stock_{last_day - timedelta(days=1):%Y%m%d}.csv"
    bins = pc.binary_join_element_wise("BIN-", pa.array((rng.integers(1, 400, erp.num_rows)).astype(str)), "")
    out[earlier] = erp.append_column("bin_location", bins)
    entries.append(_entry("file_erp_stock", "schema:extra_column", 1, earlier))

    budget_names = sorted(name for name in files if name.startswith("budget_plan_"))
    plan = files[budget_names[-1]]
    next_year = int(budget_names[-1][len("budget_plan_"):-4]) + 1
    months = pc.binary_join_element_wise(str(next_year), pc.utf8_slice_codeunits(plan.column("month"), 4, 7), "")
    draft = plan.set_column(0, "month", months).drop_columns(["planned_revenue"])
    draft_name = f"budget_plan_{next_year}.csv"
    out[draft_name] = draft
    entries.append(_entry("file_budget_plan", "schema:missing_column", 1, draft_name))
    return out, entries


class Ga4Defects:
    """Hook for the GA4 writer, called per chunk of a day's events: unknown event names, future timestamps and
    null event_name on page_view rows (not a null user_pseudo_id: consent mode exports those, they are valid);
    after writing, :meth:`finish` cuts one file's last line mid-JSON. Days written in worker processes report
    their counts through :meth:`take_counts` (in the worker) and :meth:`add_counts` (here)."""

    def __init__(self, seed: int, start: date, days: int, gzipped: bool = False) -> None:
        self.seed = seed
        self.start = start
        self.gzipped = gzipped
        self.truncated_day = start + timedelta(days=days // 2)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()  # days may be written by several threads

    def __call__(self, day: date, table: pa.Table) -> pa.Table:
        n = table.num_rows
        if n < 2:
            return table
        first_ts = int(table.column("event_timestamp")[0].as_py())
        rng = np.random.default_rng([self.seed, 103, (day - self.start).days, first_ts])
        names = table.column("event_name").to_numpy(zero_copy_only=False)
        # Never a chunk's last row: it may be the file's last line, the one truncated (one rule per row).
        pool = np.flatnonzero(names[:-1] == "page_view")
        k = min(_share(n, 0.004), len(pool) // 3)
        if k == 0:
            return table
        chosen = rng.choice(pool, 3 * k, replace=False)
        bad_name, future, no_name = (chosen[i * k:(i + 1) * k] for i in range(3))

        def mask(rows: np.ndarray) -> pa.Array:
            m = np.zeros(n, dtype=bool)
            m[rows] = True
            return pa.array(m)

        bogus = pa.array(np.array(BOGUS_EVENT_NAMES, dtype=object)[rng.integers(0, 3, n)], pa.string())
        names_column = pc.if_else(mask(bad_name), bogus, table.column("event_name"))
        table = table.set_column(table.schema.get_field_index("event_name"), "event_name",
                                 pc.if_else(mask(no_name), pa.nulls(n, pa.string()), names_column))
        ts = table.column("event_timestamp")
        table = table.set_column(table.schema.get_field_index("event_timestamp"), "event_timestamp",
                                 pc.if_else(mask(future), pc.add(ts, FUTURE_SHIFT_SECONDS * 1_000_000), ts))
        where = event_file_name(day, self.gzipped)
        with self._lock:
            for rule in ("known_event_name:event_name", "not_future:event_timestamp", "not_null:event_name"):
                self.counts[where, rule] += k
        return table

    def take_counts(self) -> Counter[tuple[str, str]]:
        """The counts so far, reset to none."""
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts

    def add_counts(self, counts: object) -> None:
        if not isinstance(counts, Counter):
            raise TypeError(f"expected the Counter take_counts returns, got {type(counts).__name__}")
        with self._lock:
            self.counts.update(counts)

    def finish(self, ga4_dir: Path) -> list[Entry]:
        # A compressed export is cut in its text and compressed again: a valid gzip stream with a broken last line.
        path = ga4_dir / event_file_name(self.truncated_day, self.gzipped)
        with open_export(path, "rb") as fh:
            body = fh.read().rstrip(b"\n")
        last_start = body.rfind(b"\n") + 1
        with open_export(path) as fh:
            fh.write(body[: last_start + (len(body) - last_start) // 2])
        entries = [_entry("ga4_events", rule, count, where) for (where, rule), count in sorted(self.counts.items())]
        return [*entries, _entry("ga4_events", "parse:truncated", 1, path.name)]
