"""Etsy receipts through dbt: orders and lines in int_orders/int_order_lines, unshipped units held back from
stock, and an Etsy listing in the feed the Etsy sync reads."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pytest
from dbt_invocation import run_dbt
from dbt_raw_schema import columns

pytestmark = pytest.mark.e2e  # one `dbt build` of the orders and stock-feed chain on its own warehouse


def insert(con: duckdb.DuckDBPyConnection, table: str, *rows: tuple) -> None:
    names = ", ".join(f'"{name}"' for name in columns(table))
    placeholders = ", ".join(["?"] * len(columns(table)))
    con.executemany(f"insert into raw.{table} ({names}) values ({placeholders})",
                    [(*row, "etsy-batch", fixture.LOADED_AT, "fixture") for row in rows])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fixture.build(tmp_path_factory.mktemp("etsy") / "warehouse.duckdb")
    ts = fixture._ts
    with duckdb.connect(str(path)) as con:
        # receipt 1: two TEA-02 at 12.00 less 2.00 discount, paid, not shipped; receipt 2: canceled
        insert(con, "etsy_receipts",
               ("1", ts("2026-03-20 10:00:00"), ts("2026-03-20 10:05:00"), "paid", True, False, "901", None,
                "30.90", "22.00", "24.00", "4.90", "0.00", "4.00", "2.00", "EUR"),
               ("2", ts("2026-03-21 10:00:00"), ts("2026-03-22 10:00:00"), "canceled", True, False, "902", None,
                "12.00", "12.00", "12.00", "0.00", "0.00", "0.00", "0.00", "EUR"))
        insert(con, "etsy_receipt_transactions",
               ("11", "1", "7001", "70011", "TEA-02", 2, "12.00", "4.90", None),
               ("21", "2", "7001", "70011", "TEA-02", 1, "12.00", "0.00", None))
        insert(con, "file_marketplace_listings", ("TEA-02", "etsy", "7001", True, "marketplace_listings.csv"))
    run_dbt(["build", "--select", "+int_orders", "+marketplace_listing_feed", "--indirect-selection", "cautious"], warehouse=path,
            target_path=tmp_path_factory.mktemp("etsy_target"), as_of_date=fixture.AS_OF_DATE)
    return path


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_an_etsy_receipt_is_an_order_of_the_etsy_marketplace_with_its_discount(warehouse):
    assert query(warehouse, """select order_key, source_channel, is_own_shop, gross_revenue, discounts,
                                      net_revenue, total_price, customer_id, email_normalized, is_valid
                               from main.int_orders where order_source = 'etsy' order by order_key""") == [
        ("etsy:1", "marketplace", False, D("24.00"), D("2.00"), D("22.00"), D("30.90"), None, None, True),
        ("etsy:2", "marketplace", False, D("12.00"), D("0.00"), D("12.00"), D("12.00"), None, None, False)]


def test_an_etsy_transaction_is_an_order_line_at_unit_price_times_quantity(warehouse):
    assert query(warehouse, """select order_line_key, sku, quantity, net_line_revenue from main.int_order_lines
                               where order_source = 'etsy' order by 1""") == [
        ("etsy:1#11", "TEA-02", 2, D("24.00")), ("etsy:2#21", "TEA-02", 1, D("12.00"))]


def test_unshipped_etsy_units_are_held_back_and_the_etsy_listing_reaches_the_feed(warehouse):
    [(open_quantity,)] = query(warehouse, "select open_order_quantity from main.int_open_order_quantities "
                                          "where sku = 'TEA-02'")
    [(feed_open, listing_id, currency)] = query(
        warehouse, "select open_order_quantity, listing_id, currency from main.marketplace_listing_feed "
                   "where sku = 'TEA-02' and marketplace = 'etsy'")
    # The fixture's own open TEA-02 orders are 4 (see test_stock_feed_freshness); the paid Etsy receipt adds 2,
    # the canceled one nothing.
    assert open_quantity == feed_open == 6
    assert (listing_id, currency) == ("7001", "EUR")
