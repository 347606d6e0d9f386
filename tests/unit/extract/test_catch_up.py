"""Scheduled extract runs start at the stored watermark: downtime leaves no gap, a crash mid-catch-up resumes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from narrowcast.contracts.extraction import ExtractContext
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.extract import catch_up_windows, run_catching_up
from narrowcast_airflow.defaults import catches_up

DAY1 = datetime(2024, 3, 1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class FakeShop:
    """A fake Shopify source: one customer updated at the start of every hour of the window it is asked for."""

    def __init__(self, fail_at: datetime | None = None) -> None:
        self.windows: list[Window] = []
        self.fail_at = fail_at

    def __call__(self, context: ExtractContext) -> Iterator[Page]:
        self.windows.append(context.window)
        if context.window.start == self.fail_at:
            raise ConnectionError("shop API unreachable")
        moment, customers = context.window.start, []
        while moment < context.window.end:
            customers.append({"id": int(moment.timestamp()), "updated_at": moment.isoformat()})
            moment += HOUR
        yield Page("shop_customers", customers, f"customers since {context.window.start.isoformat()}")


def _state(warehouse: Path) -> tuple[int, set[datetime]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        customers = con.execute("select count(*) from raw.shop_customers").fetchone()[0]
        marks = {r[0] for r in con.execute("select watermark from meta.watermarks where source = 'shopify'").fetchall()}
        return customers, marks
    finally:
        con.close()


def _run(tmp_path: Path, interval: Window, source: FakeShop) -> None:
    run_catching_up("shopify", None, interval, data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb", extractor=source,
                    now=datetime(2024, 4, 1, tzinfo=UTC))


def test_a_run_after_three_days_of_downtime_extracts_all_three_days_in_bounded_windows(tmp_path: Path) -> None:
    # GIVEN the hourly run ending at DAY1 loaded, then the scheduler was down for three days
    _run(tmp_path, Window(DAY1 - HOUR, DAY1), FakeShop())
    # WHEN the next scheduled run comes for the hour ending three days later
    shop = FakeShop()
    _run(tmp_path, Window(DAY1 + 3 * DAY - HOUR, DAY1 + 3 * DAY), shop)
    # THEN it read from the watermark in windows of one day (the source's bound), in order
    assert shop.windows == [Window(DAY1, DAY1 + DAY), Window(DAY1 + DAY, DAY1 + 2 * DAY),
                            Window(DAY1 + 2 * DAY, DAY1 + 3 * DAY)]
    # AND every hour of the gap loaded, and every entity's watermark is at the interval's end
    assert _state(tmp_path / "wh.duckdb") == (1 + 72, {DAY1 + 3 * DAY})


def test_a_failure_in_the_second_window_keeps_the_first_and_the_next_run_resumes_after_it(tmp_path: Path) -> None:
    _run(tmp_path, Window(DAY1 - HOUR, DAY1), FakeShop())
    # GIVEN the catch-up fails in its second window
    with pytest.raises(ConnectionError):
        _run(tmp_path, Window(DAY1 + 3 * DAY - HOUR, DAY1 + 3 * DAY), FakeShop(fail_at=DAY1 + DAY))
    # THEN the first window's day stays loaded and the watermark is at its end
    assert _state(tmp_path / "wh.duckdb") == (1 + 24, {DAY1 + DAY})
    # WHEN the next hourly run comes
    shop = FakeShop()
    _run(tmp_path, Window(DAY1 + 3 * DAY, DAY1 + 3 * DAY + HOUR), shop)
    # THEN it resumes at the watermark and reaches its interval's end
    assert shop.windows == [Window(DAY1 + DAY, DAY1 + 2 * DAY), Window(DAY1 + 2 * DAY, DAY1 + 3 * DAY),
                            Window(DAY1 + 3 * DAY, DAY1 + 3 * DAY + HOUR)]
    assert _state(tmp_path / "wh.duckdb") == (1 + 72 + 1, {DAY1 + 3 * DAY + HOUR})


@pytest.mark.parametrize(("watermark", "expected"), [
    pytest.param(None, [Window(DAY1, DAY1 + HOUR)], id="a first run reads its data interval"),
    pytest.param(DAY1, [Window(DAY1, DAY1 + HOUR)], id="a run on time reads its data interval"),
    pytest.param(DAY1 + DAY, [Window(DAY1, DAY1 + HOUR)], id="a rerun behind the watermark reads its interval again"),
    pytest.param(DAY1 - DAY - HOUR, [Window(DAY1 - DAY - HOUR, DAY1 - HOUR), Window(DAY1 - HOUR, DAY1 + HOUR)],
                 id="a gap longer than the bound is split and the last window ends at the interval's end"),
])
def test_catch_up_windows(watermark: datetime | None, expected: list[Window]) -> None:
    assert catch_up_windows(watermark, Window(DAY1, DAY1 + HOUR), DAY) == expected


@pytest.mark.parametrize(("run_type", "conf", "expected"), [
    pytest.param("scheduled", {}, True, id="a scheduled run catches up"),
    pytest.param("manual", {}, True, id="a manual run without a window catches up"),
    pytest.param("manual", {"start": "2024-01-01", "end": "2024-02-01"}, False, id="a run conf window is read exactly"),
    pytest.param("backfill", {}, False, id="a backfill reads its data interval exactly"),
])
def test_which_runs_start_at_the_watermark(run_type: str, conf: dict, expected: bool) -> None:
    assert catches_up({"dag_run": SimpleNamespace(run_type=run_type, conf=conf)}) is expected
