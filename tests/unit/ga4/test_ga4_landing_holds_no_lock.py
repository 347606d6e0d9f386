"""An extract reads which export files it already loaded up front and lands the new ones (reading, hashing,
flattening: the slow part) without holding the DuckDB file, so another writer is not locked out meanwhile.

GIVEN a GA4 export loaded by an earlier run and a new day's export, WHEN the next run is landing the new file and
another process writes the warehouse, THEN that process gets the file at once, and the run still skips the loaded
file and loads the new one.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from ga4_export_lines import ndjson, page_view_event

import narrowcast.extract as extract
from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source

JAN = datetime(2024, 1, 1, tzinfo=UTC)
OTHER_WRITER = """
import sys
from narrowcast.warehouse import connect
with connect(sys.argv[1], lock_wait_seconds=2) as wh:
    wh.execute("create table if not exists main.other_writer (note varchar)")
    wh.execute("insert into main.other_writer values ('written while the extract landed files')")
"""


def _export(exports: Path, day: int, events: int) -> None:
    base = int((JAN + timedelta(days=day - 1, hours=10)).timestamp() * 1_000_000)
    (exports / f"events_202401{day:02d}.ndjson").write_text(ndjson(
        [page_view_event(event_date=f"202401{day:02d}", ts=base + i) for i in range(events)]))


def _run(tmp_path: Path, day: int):
    return run_source("ga4", None, Window(JAN + timedelta(days=day - 1), JAN + timedelta(days=day)),
                      data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb", now=datetime(2024, 3, 1, tzinfo=UTC))


def test_another_process_writes_the_warehouse_while_an_extract_lands_files(tmp_path: Path, monkeypatch) -> None:
    exports = tmp_path / "exports" / "ga4"
    exports.mkdir(parents=True)
    _export(exports, 5, 3)
    _run(tmp_path, 6)
    _export(exports, 6, 2)
    others: list[subprocess.CompletedProcess] = []
    landing_file = extract._Run.file_batch

    def file_batch_beside_another_writer(self, file):
        if not others:  # the run has asked what it loaded before and is landing a new file
            others.append(subprocess.run([sys.executable, "-c", OTHER_WRITER, str(tmp_path / "wh.duckdb")],
                                         capture_output=True, text=True, timeout=120))
        return landing_file(self, file)

    monkeypatch.setattr(extract._Run, "file_batch", file_batch_beside_another_writer)
    report = _run(tmp_path, 7)
    assert others and others[0].returncode == 0, others[0].stderr[-2000:] if others else "no file was landed"
    assert report.entities["ga4_events"].loaded == 2  # only the new day: day 5's file is known as loaded
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        days = dict(con.execute("select event_date, count(*) from raw.ga4_events group by 1").fetchall())
        notes = con.execute("select note from main.other_writer").fetchall()
    assert days == {date(2024, 1, 5): 3, date(2024, 1, 6): 2}
    assert notes == [("written while the extract landed files",)]
