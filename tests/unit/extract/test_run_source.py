"""The extract runner end to end on fake extractors: idempotent reruns, backfills, counts, watermarks, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from narrowcast.contracts.extraction import ExtractContext
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed, main, run_source

START = datetime(2024, 3, 1, tzinfo=UTC)


def _day(offset: int, days: int = 1) -> Window:
    return Window(START + timedelta(days=offset), START + timedelta(days=offset + days))


def meta_insights(context: ExtractContext) -> Iterator[Page]:
    """A fake Meta Insights extractor: one row per campaign and day, spend depending on the day only."""
    day = context.window.start.date()
    while day < context.window.end.date():
        yield Page(
            "meta_ad_insights",
            [
                {
                    "account_id": "1001", "campaign_id": str(c), "campaign_name": f"c{c}",
                    "date_start": day.isoformat(), "date_stop": day.isoformat(), "impressions": "1000",
                    "clicks": "10", "spend": f"{day.day + c}.50", "purchases": "1", "purchase_value": "99.00",
                    "account_currency": "EUR",
                }
                for c in (1, 2)
            ],
            f"GET /v27.0/act_1001/insights since={day} page 1",
        )
        day += timedelta(days=1)


def _rows(warehouse: Path, table: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            f"select * exclude (_batch_id, _loaded_at, _source) from raw.{table} order by all"
        ).fetchall()
    finally:
        con.close()


def test_running_the_same_interval_twice_leaves_identical_raw_rows(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    first = run_source("meta_ads", None, _day(10), data_dir=tmp_path, warehouse=warehouse, extractor=meta_insights)
    after_first = _rows(warehouse, "meta_ad_insights")
    second = run_source("meta_ads", None, _day(10), data_dir=tmp_path, warehouse=warehouse, extractor=meta_insights)
    assert _rows(warehouse, "meta_ad_insights") == after_first
    assert len(after_first) == 2 * 8  # the day plus the 7-day restatement lookback, two campaigns
    assert first.entities["meta_ad_insights"].batch_ids != second.entities["meta_ad_insights"].batch_ids
    assert second.entities["meta_ad_insights"].batch_ids[0].endswith(".r002")


def test_a_five_day_backfill_day_by_day_equals_one_five_day_run(tmp_path: Path) -> None:
    daily, once = tmp_path / "daily.duckdb", tmp_path / "once.duckdb"
    for offset in range(5):
        run_source("meta_ads", None, _day(offset), data_dir=tmp_path / "d", warehouse=daily, extractor=meta_insights)
    run_source("meta_ads", None, _day(0, days=5), data_dir=tmp_path / "o", warehouse=once, extractor=meta_insights)
    assert _rows(daily, "meta_ad_insights") == _rows(once, "meta_ad_insights")


def test_restated_days_replace_the_old_figures(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    run_source("meta_ads", None, _day(0), data_dir=tmp_path, warehouse=warehouse, extractor=meta_insights)

    def restated(context: ExtractContext) -> Iterator[Page]:
        for page in meta_insights(context):
            yield Page(page.entity, [r | {"spend": "0.01"} for r in page.records], page.source_ref)

    run_source("meta_ads", None, _day(1), data_dir=tmp_path, warehouse=warehouse, extractor=restated)
    spend_by_day: dict[date, set[Decimal]] = {}
    for row in _rows(warehouse, "meta_ad_insights"):
        spend_by_day.setdefault(row[3], set()).add(row[7])
    # the second run's window (Mar 2 with 7 days of lookback) is replaced whole, the day before it is untouched
    assert {d for d, s in spend_by_day.items() if s == {Decimal("0.01")}} == {
        date(2024, 2, 24) + timedelta(days=i) for i in range(8)
    }
    assert spend_by_day[date(2024, 2, 23)] == {Decimal("24.50"), Decimal("25.50")}  # day 23 + campaign 1 or 2


def shop_pages(context: ExtractContext) -> Iterator[Page]:
    orders = [
        {"id": i, "order_number": 1000 + i, "customer_id": 50 + i, "email": f"c{i}@example.com",
         "created_at": "2024-03-01T09:00:00-05:00", "updated_at": "2024-03-01T09:00:00-05:00", "currency": "EUR",
         "subtotal_price": "20.00", "total_discounts": "0.00", "total_price": "-1.00" if i == 3 else "25.00",
         "test": False}
        for i in range(1, 5)
    ]
    yield Page("shop_orders", orders[:2], "GET orders.json page 1")
    yield Page("shop_orders", orders[2:], "GET orders.json page 2")
    yield Page("shop_order_lines", [{"id": 10 + i, "order_id": i, "quantity": 2, "price": "10.00"} for i in range(1, 5)],
               "GET orders.json page 1")


def test_received_equals_loaded_plus_quarantined_in_report_and_meta_batches(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    report = run_source("shopify", None, _day(0), data_dir=tmp_path, warehouse=warehouse, extractor=shop_pages,
                        threshold=0.5)
    orders = report.entities["shop_orders"]
    assert (orders.received, orders.loaded, orders.quarantined) == (4, 3, 1)
    assert orders.rule_counts == {"non_negative:total_price": 1}
    con = duckdb.connect(str(warehouse), read_only=True)
    batches = con.execute("select entity, received, loaded, quarantined, status from meta.batches order by entity").fetchall()
    assert all(received == loaded + quarantined for _, received, loaded, quarantined, _ in batches)
    assert ("shop_orders", 4, 3, 1, "loaded") in batches
    rule, ref, record = con.execute("select rule, source_ref, record from meta.quarantine").fetchone()
    assert (rule, ref, json.loads(record)["id"]) == ("non_negative:total_price", "GET orders.json page 2", 3)
    # offsets are converted to UTC
    assert con.execute("select created_at from raw.shop_orders where id = 1").fetchone()[0] == datetime(2024, 3, 1, 14)
    marks = con.execute("select entity, watermark from meta.watermarks where entity = 'shop_orders'").fetchall()
    assert marks == [("shop_orders", datetime(2024, 3, 2))]
    con.close()


def test_a_batch_over_the_threshold_fails_the_run_loads_nothing_of_it_and_keeps_the_watermark(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    with pytest.raises(ExtractFailed, match=r"rule non_negative:total_price: 1 row\(s\) in GET orders.json page 2 \(sample keys: id=3\)"):
        run_source("shopify", None, _day(0), data_dir=tmp_path, warehouse=warehouse, extractor=shop_pages, threshold=0.05)
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from raw.shop_orders").fetchone()[0] == 0
    assert con.execute("select count(*) from raw.shop_order_lines").fetchone()[0] == 4
    assert con.execute("select status from meta.batches where entity = 'shop_orders'").fetchone()[0] == "failed"
    assert con.execute("select count(*) from meta.watermarks where entity = 'shop_orders'").fetchone()[0] == 0
    con.close()


def test_the_cli_runs_a_source_and_prints_its_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exports = tmp_path / "exports" / "ga4"
    exports.mkdir(parents=True)
    (exports / "events_20240301.ndjson").write_text(
        json.dumps({"event_date": "20240301", "event_timestamp": "1709280000000000", "event_name": "page_view",
                    "user_pseudo_id": "1.2", "event_params": [{"key": "ga_session_id", "value": {"int_value": "7"}}]})
        + "\n"
    )
    code = main(["ga4", "--start", "2024-03-01", "--end", "2024-03-02", "--data-dir", str(tmp_path),
                 "--warehouse", str(tmp_path / "wh.duckdb")])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["entities"]["ga4_events"]["loaded"] == 1
    assert report["entities"]["ga4_event_params"]["loaded"] == 1
    assert report["extracted_window"]["start"] == "2024-02-27T00:00:00"
