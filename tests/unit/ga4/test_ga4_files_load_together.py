"""A run's GA4 export files (a backfill of many days) load together: one gate pass and one load per table, each
file still logged in meta.files, held to the quarantine threshold on its own and named in every error."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from ga4_export_lines import ndjson, page_view_event

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed, run_source

JAN = datetime(2024, 1, 1, tzinfo=UTC)
RUN = Window(datetime(2024, 1, 9, tzinfo=UTC), datetime(2024, 1, 10, tzinfo=UTC))


def _page_views(day: int, n: int, *, unnamed: int = 0) -> list[dict]:
    """``n`` page views of January ``day``, the last ``unnamed`` of them without an event name (GA4 always
    writes one: the gate's ``not_null:event_name``)."""
    base = int((JAN + timedelta(days=day - 1, hours=10)).timestamp() * 1_000_000)
    events = [page_view_event(event_date=f"202401{day:02d}", ts=base + i) for i in range(n)]
    for event in events[n - unnamed:]:
        event["event_name"] = None
    return events


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports" / "ga4"
    folder.mkdir(parents=True)
    return folder


def _export(exports: Path, day: int, events: list[dict]) -> None:
    (exports / f"events_202401{day:02d}.ndjson").write_text(ndjson(events))


def _run(tmp_path: Path, threshold: float | None = None):
    return run_source("ga4", None, RUN, data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb", threshold=threshold,
                      now=datetime(2024, 3, 1, tzinfo=UTC))


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_backfill_of_several_days_loads_one_batch_per_table_and_logs_each_file(tmp_path: Path, exports: Path) -> None:
    # GIVEN three days of exports arrive at once, one of them with an event the gate quarantines
    _export(exports, 4, _page_views(4, 2))
    _export(exports, 5, _page_views(5, 3))
    _export(exports, 6, _page_views(6, 40, unnamed=1))
    # WHEN one run loads them
    report = _run(tmp_path)
    # THEN each table took one batch, its figures the sum of the files'
    assert len(report.entities["ga4_events"].batch_ids) == 1
    assert _query(tmp_path, "select entity, received, loaded, quarantined, status from meta.batches order by 1") == [
        ("ga4_event_items", 0, 0, 0, "loaded"),
        ("ga4_event_params", 90, 90, 0, "loaded"),
        ("ga4_events", 45, 44, 1, "loaded"),
    ]
    # AND every file is logged per table with its own rows, under that table's batch
    events_batch = report.entities["ga4_events"].batch_ids[0]
    assert _query(tmp_path, "select file_name, rows, batch_id, status from meta.files where kind = 'ga4_events' "
                            "order by 1") == [
        ("events_20240104.ndjson", 2, events_batch, "loaded"),
        ("events_20240105.ndjson", 3, events_batch, "loaded"),
        ("events_20240106.ndjson", 40, events_batch, "loaded"),
    ]
    # AND the quarantined event names its file and line
    assert _query(tmp_path, "select rule, source_ref from meta.quarantine") == [
        ("not_null:event_name", "events_20240106.ndjson:40"),
    ]
    assert dict(_query(tmp_path, "select event_date, count(*) from raw.ga4_events group by 1")) == {
        date(2024, 1, 4): 2, date(2024, 1, 5): 3, date(2024, 1, 6): 39,
    }
    # AND a second run finds nothing new
    assert _run(tmp_path).entities["ga4_events"].batch_ids == []


def test_a_file_above_the_threshold_fails_alone_though_the_run_s_files_together_are_below_it(
    tmp_path: Path, exports: Path
) -> None:
    # GIVEN Jan 6 loaded once
    _export(exports, 6, _page_views(6, 2))
    _run(tmp_path, threshold=0.25)
    # AND then two clean days arrive with a re-export of Jan 6 whose events mostly lack a name:
    # 3 of Jan 6's 4 events fail (75 %), 3 of the run's 14 (21 %)
    _export(exports, 4, _page_views(4, 5))
    _export(exports, 5, _page_views(5, 5))
    _export(exports, 6, _page_views(6, 4, unnamed=3))
    # WHEN the run loads them with a 25 % threshold THEN it fails naming Jan 6's file
    with pytest.raises(ExtractFailed, match=r"ga4_events batch .* above the 25.0% threshold.*events_20240106\.ndjson"):
        _run(tmp_path, threshold=0.25)
    # AND Jan 4 and 5 loaded, Jan 6 keeps its first version
    assert dict(_query(tmp_path, "select event_date, count(*) from raw.ga4_events group by 1")) == {
        date(2024, 1, 4): 5, date(2024, 1, 5): 5, date(2024, 1, 6): 2,
    }
    # AND meta.files logs the re-export failed (retried next run) and the clean days loaded, each in its own batch
    logged = _query(tmp_path, "select file_name, status, batch_id from meta.files where kind = 'ga4_events' "
                              "order by loaded_at, file_name")
    assert [(name, status) for name, status, _ in logged] == [
        ("events_20240106.ndjson", "loaded"),
        ("events_20240104.ndjson", "loaded"),
        ("events_20240105.ndjson", "loaded"),
        ("events_20240106.ndjson", "failed"),
    ]
    assert len({batch for _, _, batch in logged[1:]}) == 3
