"""A run never loads the children of a parent row it quarantined, so dbt's relationship tests never see an orphan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from narrowcast.contracts.extraction import ExtractContext
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source
from narrowcast.sources.registry import SOURCES

DAY = Window(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))


def shop_with_one_bad_order(context: ExtractContext) -> Iterator[Page]:
    # The children come first: the runner must still decide about the parent before them.
    yield Page("shop_order_lines", [{"id": 10 + i, "order_id": i, "quantity": 2, "price": "10.00"} for i in range(1, 31)],
               "GET orders.json page 1")
    yield Page("shop_refunds", [{"id": 900, "order_id": 3, "line_item_id": 13, "quantity": 1, "subtotal": "10.00"},
                                {"id": 901, "order_id": 4, "line_item_id": 14, "quantity": 1, "subtotal": "10.00"}],
               "GET orders.json page 1")
    yield Page("shop_orders", [
        {"id": i, "created_at": "2024-03-01T09:00:00Z", "currency": "EUR", "subtotal_price": "20.00",
         "total_price": "-1.00" if i == 3 else "25.00"}
        for i in range(1, 31)
    ], "GET orders.json page 1")


def test_a_quarantined_order_below_the_threshold_takes_its_lines_and_refunds_with_it(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    # WHEN one order in thirty fails a rule (below the 5% threshold)
    report = run_source("shopify", None, DAY, data_dir=tmp_path, warehouse=warehouse, extractor=shop_with_one_bad_order)
    # THEN the run succeeds, the order's line and refund are quarantined naming the parent, the rest loads
    assert report.entities["shop_order_lines"].rule_counts == {"parent_quarantined:order_id": 1}
    assert report.entities["shop_refunds"].rule_counts == {"parent_quarantined:order_id": 1}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        orphans = con.execute(
            """select count(*) from (select order_id from raw.shop_order_lines union all
                                     select order_id from raw.shop_refunds) c
               where c.order_id not in (select id from raw.shop_orders)"""
        ).fetchone()[0]
        assert orphans == 0
        assert con.execute("select count(*) from raw.shop_order_lines").fetchone()[0] == 29
        assert con.execute(
            "select entity, rule, column_name from meta.quarantine order by entity"
        ).fetchall() == [
            ("shop_order_lines", "parent_quarantined:order_id", "order_id"),
            ("shop_orders", "non_negative:total_price", "total_price"),
            ("shop_refunds", "parent_quarantined:order_id", "order_id"),
        ]
    finally:
        con.close()


@pytest.mark.parametrize(("child", "parent"), [
    pytest.param("shop_order_lines", "shop_orders", id="shop order lines belong to shop orders"),
    pytest.param("shop_refunds", "shop_orders", id="shop refunds belong to shop orders"),
    pytest.param("ebay_order_lines", "ebay_orders", id="ebay order lines belong to ebay orders"),
    pytest.param("amazon_order_items", "amazon_orders", id="amazon order items belong to amazon orders"),
])
def test_child_tables_declare_their_parent_in_the_same_source(child: str, parent: str) -> None:
    source = next(s for s in SOURCES.values() if child in {e.name for e in s.entities})
    declared = source.entity(child).parent
    assert declared is not None and declared[0] == parent
    parent_spec = source.entity(parent)
    assert set(declared[1].values()) == set(parent_spec.key)
    assert set(declared[1]) <= set(source.entity(child).columns)
