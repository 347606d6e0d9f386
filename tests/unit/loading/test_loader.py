"""The loader: typed staging, merge by key, replace by partition, quarantine and bookkeeping in one transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone
from narrowcast.loading.loader import load_batch, window_dates
from narrowcast.loading.staging import stage_batch
from narrowcast.sources.registry import entity
from narrowcast.warehouse import DuckDBWarehouse

WINDOW = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
NO_FAILURES = pa.table({"_row": pa.array([], pa.int64()), "rule": pa.array([], pa.string()),
                        "column_name": pa.array([], pa.string())})


def _load(con: duckdb.DuckDBPyConnection, zone: LandingZone, name: str, records: list[dict], window: Window = WINDOW,
          failures: pa.Table = NO_FAILURES):
    batch = zone.new_batch("test", name, window)
    batch.write_records(records, "page 1")
    wh = DuckDBWarehouse(con)
    return load_batch(wh, stage_batch(wh, batch, entity(name)), failures, replace_window=window)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(datetime(2024, 1, 1), datetime(2024, 1, 3), [date(2024, 1, 1), date(2024, 1, 2)], id="two whole days"),
        pytest.param(datetime(2024, 1, 1, 6), datetime(2024, 1, 2, 6), [date(2024, 1, 1), date(2024, 1, 2)], id="a day across midnight"),
        pytest.param(datetime(2024, 1, 1), datetime(2024, 1, 1, 1), [date(2024, 1, 1)], id="one hour"),
    ],
)
def test_window_dates_are_the_days_a_half_open_window_touches(start: datetime, end: datetime, expected: list[date]) -> None:
    assert window_dates(Window(start, end)) == expected


def test_merge_replaces_rows_by_key_and_keeps_the_others(tmp_path: Path) -> None:
    zone, con = LandingZone(tmp_path), duckdb.connect()
    _load(con, zone, "shop_order_lines", [{"id": 1, "order_id": 9, "quantity": 1}, {"id": 2, "order_id": 9, "quantity": 1}])
    _load(con, zone, "shop_order_lines", [{"id": 2, "order_id": 9, "quantity": 5}])
    assert con.execute("select id, quantity from raw.shop_order_lines order by id").fetchall() == [(1, 1), (2, 5)]


@pytest.mark.parametrize("setting", [True, False])
def test_the_load_leaves_the_callers_insertion_order_setting_as_it_found_it(tmp_path: Path, setting: bool) -> None:
    zone, con = LandingZone(tmp_path), duckdb.connect()
    con.execute(f"set preserve_insertion_order = {str(setting).lower()}")
    _load(con, zone, "shop_order_lines", [{"id": i, "order_id": 9, "quantity": 1} for i in range(3)])
    assert con.execute("select current_setting('preserve_insertion_order')").fetchone()[0] is setting
    assert con.execute("select count(*) from raw.shop_order_lines").fetchone()[0] == 3


def test_replace_partition_replaces_every_date_of_the_window_even_when_the_batch_has_none(tmp_path: Path) -> None:
    zone, con = LandingZone(tmp_path), duckdb.connect()
    row = {"customer_id": 1, "campaign_id": 2, "segments_date": "2024-01-01", "cost_micros": 5}
    _load(con, zone, "google_ads_campaign_stats", [row, row | {"segments_date": "2024-01-02"}],
          Window(datetime(2024, 1, 1), datetime(2024, 1, 3)))
    _load(con, zone, "google_ads_campaign_stats", [], WINDOW)  # the platform now reports nothing for Jan 1
    assert con.execute("select segments_date from raw.google_ads_campaign_stats").fetchall() == [(date(2024, 1, 2),)]


def test_quarantined_rows_are_not_loaded_and_are_recorded_with_their_rule_and_record(tmp_path: Path) -> None:
    zone, con = LandingZone(tmp_path), duckdb.connect()
    failures = pa.table({"_row": pa.array([1], pa.int64()), "rule": ["non_negative:quantity"], "column_name": ["quantity"]})
    result = _load(con, zone, "shop_order_lines", [{"id": 1, "order_id": 9, "quantity": 1},
                                                   {"id": 2, "order_id": 9, "quantity": -1}], failures=failures)
    assert (result.received, result.loaded, result.quarantined) == (2, 1, 1)
    assert con.execute("select id from raw.shop_order_lines").fetchall() == [(1,)]
    assert con.execute("select rule, source_ref, record::json->>'id' from meta.quarantine").fetchall() == [
        ("non_negative:quantity", "page 1", "2")
    ]
    assert con.execute("select received, loaded, quarantined, status from meta.batches").fetchall() == [(2, 1, 1, "loaded")]


def test_staging_types_values_converts_offsets_to_utc_and_flags_what_does_not_cast(tmp_path: Path) -> None:
    batch = LandingZone(tmp_path).new_batch("test", "shop_orders", WINDOW)
    batch.write_records(
        [{"id": "1", "created_at": "2024-01-01T12:00:00+02:00", "total_price": "9.99"},
         {"id": "x", "created_at": "2024-01-01 12:00:00", "total_price": ""}],
        "page 1",
    )
    con = duckdb.connect()
    staged = stage_batch(DuckDBWarehouse(con), batch, entity("shop_orders"))
    assert con.execute(f"select id, created_at, total_price::varchar, __type_id, __type_total_price, cancelled_at "
                       f"from {staged.view} order by _row").fetchall() == [
        (1, datetime(2024, 1, 1, 10), "9.99", False, False, None),
        (None, datetime(2024, 1, 1, 12), None, True, False, None),
    ]


def test_a_merge_never_overwrites_a_stored_ebay_buyer_email_with_null(tmp_path: Path) -> None:
    # GIVEN an eBay order loaded while getOrders still returned the buyer's e-mail
    zone, con = LandingZone(tmp_path), duckdb.connect()
    order = {"order_id": "12-34567-89012", "buyer_username": "b1", "total": "10.00", "currency": "EUR"}
    _load(con, zone, "ebay_orders", [order | {"buyer_email": "a1b2@members.ebay.com", "order_payment_status": "PAID"}])
    # WHEN the order changes after 14 days, when eBay no longer returns the e-mail
    _load(con, zone, "ebay_orders", [order | {"buyer_email": None, "order_payment_status": "FULLY_REFUNDED"}])
    # THEN the new values replace the old ones, except the e-mail the table already held
    assert con.execute("select buyer_email, order_payment_status from raw.ebay_orders").fetchall() == [
        ("a1b2@members.ebay.com", "FULLY_REFUNDED")]
    # AND a later e-mail (non-null) still replaces the stored one
    _load(con, zone, "ebay_orders", [order | {"buyer_email": "c3d4@members.ebay.com"}])
    assert con.execute("select buyer_email from raw.ebay_orders").fetchall() == [("c3d4@members.ebay.com",)]


def test_a_batch_loaded_again_keeps_one_bookkeeping_row_with_the_last_loads_figures(tmp_path: Path) -> None:
    """A retried task loads the same landed batch (same id) again: its ``meta.batches`` row is replaced, never
    doubled, and the rows it loaded are not loaded twice."""
    zone, con = LandingZone(tmp_path), duckdb.connect()
    batch = zone.new_batch("test", "shop_order_lines", WINDOW)
    batch.write_records([{"id": 1, "order_id": 9, "quantity": 1}, {"id": 2, "order_id": 9, "quantity": -1}], "page 1")
    wh = DuckDBWarehouse(con)
    one_bad = pa.table({"_row": pa.array([1], pa.int64()), "rule": ["non_negative:quantity"],
                        "column_name": ["quantity"]})
    load_batch(wh, stage_batch(wh, batch, entity("shop_order_lines")), one_bad, replace_window=WINDOW)
    load_batch(wh, stage_batch(wh, batch, entity("shop_order_lines")), NO_FAILURES, replace_window=WINDOW)
    assert con.execute("select batch_id, received, loaded, quarantined, status from meta.batches").fetchall() == [
        (batch.batch_id, 2, 2, 0, "loaded")]
    assert con.execute("select id from raw.shop_order_lines order by id").fetchall() == [(1,), (2,)]
