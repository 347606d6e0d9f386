"""The inbox task emits an asset event only for the raw tables that received rows (the Airflow glue, without Airflow)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from narrowcast.contracts.windows import Window
from narrowcast.extract import EntityReport, ExtractReport
from narrowcast.sources.registry import source
from narrowcast_airflow import tasks
from narrowcast_airflow.assets import raw_alias, raw_asset

INBOX_TABLES = [e.name for e in source("inbox").entities]
CONTEXT = {"data_interval_start": datetime(2026, 10, 1, 12, tzinfo=UTC),
           "data_interval_end": datetime(2026, 10, 1, 12, 15, tzinfo=UTC)}


@pytest.fixture()
def inbox_received(monkeypatch: pytest.MonkeyPatch):
    """Makes the inbox extract report ``received`` rows per table (every other table: none)."""
    def arrange(received: dict[str, int]) -> None:
        def fake_run_source(name, conn, window, **_options):
            entities = {t: EntityReport(t, received=received.get(t, 0), loaded=received.get(t, 0))
                        for t in INBOX_TABLES}
            return ExtractReport(name, window, Window(window.start, window.end), entities)
        monkeypatch.setattr("narrowcast.extract.run_source", fake_run_source)
    return arrange


def test_an_empty_inbox_emits_no_asset_event(inbox_received):
    inbox_received({})
    assert list(tasks.run_extract("inbox", CONTEXT, alias=raw_alias("inbox"))) == []


def test_a_new_erp_stock_file_emits_only_the_stock_table_through_the_alias(inbox_received):
    inbox_received({"file_erp_stock": 40})
    (event,) = tasks.run_extract("inbox", CONTEXT, alias=raw_alias("inbox"))
    assert (event.asset, event.alias) == (raw_asset("file_erp_stock"), raw_alias("inbox"))
    assert (event.extra["received"], event.extra["window_end"]) == (40, "2026-10-01T12:15:00")


def test_without_an_alias_every_table_of_the_source_is_reported(inbox_received):
    inbox_received({})
    assert [e.asset for e in tasks.run_extract("inbox", CONTEXT)] == [raw_asset(t) for t in INBOX_TABLES]
