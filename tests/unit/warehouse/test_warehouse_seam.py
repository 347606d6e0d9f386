"""Every SQL of the pipeline goes through the warehouse seam: no module outside ``narrowcast.warehouse`` opens
DuckDB itself, except the few that use an in-memory DuckDB as a local file parser."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "include" / "narrowcast"

# Packages that are not the pipeline: they never run warehouse SQL for it.
NOT_THE_PIPELINE = ("sandbox", "datagen")
ALLOWED = {
    # Parses a GA4 export day with an in-memory DuckDB (JSON and Parquet readers) before anything is landed;
    # it never opens the warehouse.
    "sources/ga4/reader.py": "in-memory DuckDB as a local file parser",
    # Batch.write_query lands a query of that same in-memory parser as Parquet; LandingZone.split_off copies one
    # file's landed rows into a batch of their own with an in-memory DuckDB (Parquet to Parquet, never the warehouse).
    "landing/zone.py": "the GA4 parser's in-memory connection; landed Parquet copied with an in-memory DuckDB",
}


def _imports_duckdb(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "duckdb" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "duckdb":
            return True
    return False


def test_only_the_warehouse_package_imports_duckdb():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("warehouse", *NOT_THE_PIPELINE) or rel.as_posix() in ALLOWED:
            continue
        if _imports_duckdb(path):
            offenders.append(rel.as_posix())
    assert offenders == [], f"open the warehouse through narrowcast.warehouse instead: {offenders}"


def test_the_allowed_exceptions_still_exist_and_still_need_it():
    # A stale exception would let a new warehouse user slip through under its name.
    stale = [rel for rel in ALLOWED if not (PACKAGE / rel).is_file() or not _imports_duckdb(PACKAGE / rel)]
    assert stale == []


def test_the_check_recognises_every_spelling_of_the_import(tmp_path):
    for source in ("import duckdb", "import duckdb as db", "from duckdb import connect", "def f():\n    import duckdb"):
        module = tmp_path / "m.py"
        module.write_text(source + "\n")
        assert _imports_duckdb(module), source
    module.write_text("import duckdb_extensions_not_this\nx = 'import duckdb'\n")
    assert not _imports_duckdb(module)
