"""Running the inbox extract on a test's data directory and reading back what loaded."""

from __future__ import annotations

from pathlib import Path

import duckdb

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractReport, run_source


def run_inbox(data_dir: Path, window: Window) -> ExtractReport:
    """One inbox extract over ``data_dir/inbox`` into ``data_dir/wh.duckdb``."""
    return run_source("inbox", None, window, data_dir=data_dir, warehouse=data_dir / "wh.duckdb")


def query(data_dir: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the test's warehouse, opened read-only."""
    con = duckdb.connect(str(data_dir / "wh.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
