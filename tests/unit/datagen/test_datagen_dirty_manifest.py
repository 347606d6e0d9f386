"""Dirty mode: world/defects.json states exactly the defects present in the files, one rule per bad row."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from narrowcast.datagen import GenerationReport
from narrowcast.datagen.ga4_export import KNOWN_EVENT_NAMES
from narrowcast.datagen.lead_events import LEAD_EVENT_NAMES

NOW = datetime(2030, 1, 1)  # later than any clean timestamp of the small world, earlier than every injected one


def _manifest(report: GenerationReport) -> Counter:
    entries = json.loads((report.data_dir / "world" / "defects.json").read_text(encoding="utf-8"))
    assert all(set(e) == {"target", "rule", "count", "where"} for e in entries)
    return Counter({(e["target"], e["rule"], e["where"]): e["count"] for e in entries})


def _csv(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _found_in_orders(world: Path) -> Counter:
    orders = pq.read_table(world / "orders.parquet").to_pylist()
    where = "world/orders.parquet (Shopify Admin API orders.json)"
    ids = Counter(o["order_id"] for o in orders)
    return Counter({
        ("shop_orders", "unique:id", where): sum(n - 1 for n in ids.values()),
        ("shop_orders", "non_negative:total_price", where): sum(o["total_price"] < 0 for o in orders),
        ("shop_orders", "iso_currency:currency", where): sum(o["currency"] != "EUR" for o in orders),
        ("shop_orders", "not_future:created_at", where): sum(o["created_at"] > NOW for o in orders),
    })


def _found_in_ga4(ga4: Path) -> Counter:
    found: Counter = Counter()
    now_us = int(NOW.timestamp()) * 1_000_000
    for path in sorted(ga4.glob("events_*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                found["ga4_events", "parse:truncated", path.name] += 1
                continue
            name = e.get("event_name")
            found["ga4_events", "not_null:event_name", path.name] += name is None
            found["ga4_events", "known_event_name:event_name", path.name] += name is not None and name not in (*KNOWN_EVENT_NAMES, *LEAD_EVENT_NAMES)
            found["ga4_events", "not_future:event_timestamp", path.name] += e["event_timestamp"] > now_us
    return found


def _found_in_inbox(inbox: Path) -> Counter:
    found: Counter = Counter()
    for path in sorted(inbox.glob("orders_export_*.csv")):
        _, rows = _csv(path)
        keys = Counter((r["order_id"], r["line_number"]) for r in rows)
        found["file_orders", "unique:order_id,line_number", path.name] += sum(n - 1 for n in keys.values())
        found["file_orders", "non_negative:total_price", path.name] += sum(float(r["total_price"]) < 0 for r in rows)
    expected = {"erp_stock_": ["sku", "on_hand", "cost", "warehouse", "snapshot_at"],
                "budget_plan_": ["month", "channel", "planned_spend", "planned_sessions", "planned_orders",
                                 "planned_revenue"]}
    targets = {"erp_stock_": "file_erp_stock", "budget_plan_": "file_budget_plan"}
    for prefix, columns in expected.items():
        for path in sorted(inbox.glob(f"{prefix}*.csv")):
            header, _ = _csv(path)
            found[targets[prefix], "schema:extra_column", path.name] += bool(set(header) - set(columns))
            found[targets[prefix], "schema:missing_column", path.name] += bool(set(columns) - set(header))
    return found


def test_the_manifest_counts_equal_the_defects_found_in_the_files(dirty_world: GenerationReport) -> None:
    root = dirty_world.data_dir
    found = _found_in_orders(root / "world") + _found_in_ga4(root / "exports" / "ga4") + _found_in_inbox(root / "inbox")
    manifest = _manifest(dirty_world)
    assert +found == +manifest  # unary + drops zero counts
    assert {rule for _, rule, _ in manifest} == {
        "unique:id", "non_negative:total_price", "iso_currency:currency", "not_future:created_at",
        "known_event_name:event_name", "not_future:event_timestamp", "not_null:event_name", "parse:truncated",
        "unique:order_id,line_number", "schema:extra_column", "schema:missing_column"}


def test_each_bad_order_row_breaks_exactly_one_rule(dirty_world: GenerationReport) -> None:
    orders = pq.read_table(dirty_world.data_dir / "world" / "orders.parquet").to_pylist()
    ids = Counter(o["order_id"] for o in orders)
    broken = [(o["total_price"] < 0) + (o["currency"] != "EUR") + (o["created_at"] > NOW) + (ids[o["order_id"]] > 1)
              for o in orders]
    assert max(broken) == 1
    copies: dict[int, list[dict]] = {}
    for o in orders:
        if ids[o["order_id"]] > 1:
            copies.setdefault(o["order_id"], []).append(o)
    assert copies and all(rows[0] == row for rows in copies.values() for row in rows)  # exact duplicates


def test_defects_stay_a_small_share_of_the_rows(dirty_world: GenerationReport) -> None:
    row_rules = [e for e in dirty_world.defects if not str(e["rule"]).startswith(("schema:", "parse:"))]
    bad = sum(int(e["count"]) for e in row_rules)
    assert 0 < bad <= 0.03 * dirty_world.total_rows


def test_a_clean_run_writes_no_manifest(clean_world: GenerationReport) -> None:
    assert not (clean_world.data_dir / "world" / "defects.json").exists()
    assert clean_world.defects == []
