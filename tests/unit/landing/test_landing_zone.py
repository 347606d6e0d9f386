"""The landing zone: deterministic batch ids with a run counter, immutable batches, bookkeeping columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone, records_to_table

WINDOW = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))


def test_batches_of_the_same_interval_get_the_next_run_number_under_the_interval_start_date(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    first = zone.new_batch("shopify", "shop_orders", WINDOW)
    second = zone.new_batch("shopify", "shop_orders", WINDOW)
    other = zone.new_batch("shopify", "shop_customers", WINDOW)
    assert first.batch_id == "shopify.shop_orders.20240101T000000_20240102T000000.r001"
    assert second.batch_id.endswith(".r002")
    assert other.batch_id.endswith(".r001")
    assert first.path == tmp_path / "source=shopify" / "entity=shop_orders" / "date=2024-01-01" / f"batch={first.batch_id}"


def test_pages_land_as_parquet_parts_with_bookkeeping_columns_and_batch_wide_row_numbers(tmp_path: Path) -> None:
    batch = LandingZone(tmp_path).new_batch("shopify", "shop_orders", WINDOW)
    batch.write_records([{"id": 1}, {"id": 2}], "page 1")
    assert batch.write_records([], "page 2") is None
    batch.write_records([{"id": 3}], "page 3")
    rows = [r for part in batch.parts for r in pq.read_table(part).to_pylist()]
    assert [(r["id"], r["_row"], r["_source_ref"], r["_source"], r["_batch_id"]) for r in rows] == [
        (1, 0, "page 1", "shopify", batch.batch_id),
        (2, 1, "page 1", "shopify", batch.batch_id),
        (3, 2, "page 3", "shopify", batch.batch_id),
    ]
    assert [p.name for p in batch.parts] == ["part-00000.parquet", "part-00001.parquet"]


def test_a_crashed_run_s_leftover_batch_directory_is_never_reused(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    leftover = zone.new_batch("ga4", "ga4_events", WINDOW)
    leftover.write_records([{"event_key": "a"}], "events_20240101.ndjson")  # then the run died before loading
    rerun = zone.new_batch("ga4", "ga4_events", WINDOW)
    assert rerun.path != leftover.path and rerun.batch_id.endswith(".r002")
    assert [p.name for p in leftover.path.iterdir()] == ["part-00000.parquet"]


def test_records_keep_types_but_a_column_of_mixed_types_lands_as_text_and_times_as_utc(tmp_path: Path) -> None:
    table = records_to_table(
        [
            {"id": 1, "amount": Decimal("1.50"), "at": datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), "x": 1},
            {"id": 2, "amount": Decimal("2.25"), "at": None, "x": "one", "nested": {"a": 1}},
        ]
    )
    rows = table.to_pylist()
    assert rows[0]["amount"] == Decimal("1.50")
    assert rows[0]["at"] == datetime(2024, 1, 1, 10)
    assert [r["x"] for r in rows] == ["1", "one"]
    assert rows[1]["nested"] == '{"a": 1}'
