"""GA4 export files load by name + checksum whenever they arrive; a missing file never deletes a day, it alerts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from ga4_export_lines import ndjson, page_view_event, purchase_event

from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source

JAN = datetime(2024, 1, 1, tzinfo=UTC)


def _interval(day: int) -> Window:
    """The daily data interval of January ``day``."""
    return Window(JAN + timedelta(days=day - 1), JAN + timedelta(days=day))


def _export(exports: Path, day: int, events: list[dict]) -> Path:
    path = exports / f"events_202401{day:02d}.ndjson"
    path.write_text(ndjson(events))
    return path


def _page_views(day: int, n: int) -> list[dict]:
    base = int((JAN + timedelta(days=day - 1, hours=10)).timestamp() * 1_000_000)
    return [page_view_event(event_date=f"202401{day:02d}", ts=base + i) for i in range(n)]


def _events_per_day(warehouse: Path) -> dict[date, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(con.execute("select event_date, count(*) from raw.ga4_events group by 1 order by 1").fetchall())
    finally:
        con.close()


def _alerts(data_dir: Path) -> list[dict]:
    path = data_dir / "logs" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports" / "ga4"
    folder.mkdir(parents=True)
    return folder


def _run(tmp_path: Path, day: int):
    return run_source("ga4", None, _interval(day), data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb",
                      now=datetime(2024, 3, 1, tzinfo=UTC))


def test_a_loaded_day_whose_file_is_gone_keeps_its_events_and_raises_an_alert(tmp_path: Path, exports: Path) -> None:
    # GIVEN Jan 4 and Jan 5 loaded
    _export(exports, 4, _page_views(4, 2))
    _export(exports, 5, _page_views(5, 3))
    _run(tmp_path, 6)
    # WHEN Jan 4's file has disappeared from the folder at the next run
    (exports / "events_20240104.ndjson").unlink()
    _run(tmp_path, 7)
    # THEN Jan 4's events are still loaded
    assert _events_per_day(tmp_path / "wh.duckdb") == {date(2024, 1, 4): 2, date(2024, 1, 5): 3}
    # AND the run raised an alert naming the days of its window whose export is due and absent
    last = [a for a in _alerts(tmp_path) if a["kind"] == "missing_export"][-1]
    assert last["details"]["days"] == ["2024-01-04", "2024-01-06"]
    assert "2024-01-04" in last["reason"] and "kept" in last["reason"]


def test_a_late_file_loads_whenever_it_arrives_and_replaces_only_its_day(tmp_path: Path, exports: Path) -> None:
    _export(exports, 2, _page_views(2, 2))
    _export(exports, 9, _page_views(9, 4))
    _run(tmp_path, 10)
    # GIVEN Jan 2 is re-exported a week after the 3-day lookback has passed, and Jan 3 arrives just as late
    _export(exports, 2, [*_page_views(2, 1), purchase_event(event_date="20240102", ts=1704189600000000)])
    _export(exports, 3, _page_views(3, 5))
    # WHEN the run of Jan 20 comes
    _run(tmp_path, 20)
    # THEN both load; Jan 2 is replaced by its new version, Jan 9 keeps its rows
    assert _events_per_day(tmp_path / "wh.duckdb") == {date(2024, 1, 2): 2, date(2024, 1, 3): 5, date(2024, 1, 9): 4}


def test_a_file_version_already_loaded_is_not_read_again(tmp_path: Path, exports: Path) -> None:
    _export(exports, 5, _page_views(5, 3))
    first = _run(tmp_path, 6)
    second = _run(tmp_path, 7)
    assert first.entities["ga4_events"].loaded == 3
    assert second.entities["ga4_events"].batch_ids == []
    assert _events_per_day(tmp_path / "wh.duckdb") == {date(2024, 1, 5): 3}


def test_a_day_whose_export_is_not_due_yet_raises_no_alert(tmp_path: Path, exports: Path) -> None:
    # GIVEN the run of Jan 6 (ending Jan 7 00:00) finds Jan 3..5 but not Jan 6, which GA4 writes during Jan 7
    for day in (3, 4, 5):
        _export(exports, day, _page_views(day, 1))
    _run(tmp_path, 6)
    assert [a for a in _alerts(tmp_path) if a["kind"] == "missing_export"] == []


def test_an_export_loaded_and_untouched_since_is_not_even_hashed(
    tmp_path: Path, exports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import narrowcast.sources.ga4.reader as reader

    _export(exports, 5, _page_views(5, 3))
    _run(tmp_path, 6)
    hashed: list[str] = []
    monkeypatch.setattr(reader, "sha256_of", lambda path: hashed.append(path.name) or "x")
    _run(tmp_path, 7)
    assert hashed == []


def test_a_gzip_compressed_day_loads_and_a_day_in_two_forms_is_refused(tmp_path: Path, exports: Path) -> None:
    import gzip

    from narrowcast.extract import ExtractFailed

    # GIVEN Jan 4 as NDJSON and Jan 5 as gzip-compressed NDJSON (BigQuery extract with compression GZIP)
    _export(exports, 4, _page_views(4, 2))
    (exports / "events_20240105.ndjson.gz").write_bytes(gzip.compress(ndjson(_page_views(5, 3)).encode()))
    # WHEN the run comes THEN both days load
    _run(tmp_path, 6)
    assert _events_per_day(tmp_path / "wh.duckdb") == {date(2024, 1, 4): 2, date(2024, 1, 5): 3}
    # AND a day delivered both compressed and not is refused, naming both files, and keeps what it loaded
    _export(exports, 5, _page_views(5, 1))
    with pytest.raises(ExtractFailed, match=r"both \.ndjson and \.ndjson\.gz exist; keep one"):
        _run(tmp_path, 7)
    assert _events_per_day(tmp_path / "wh.duckdb") == {date(2024, 1, 4): 2, date(2024, 1, 5): 3}
