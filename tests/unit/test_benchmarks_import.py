"""Every benchmark script still imports what it measures: a refactor that renames a function it calls breaks the
test suite, not the next person who runs ``make bench``."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.name)
def test_the_benchmark_script_imports_everything_it_uses(script: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    # Runs the module's top level (its imports and definitions), not its main().
    namespace = runpy.run_path(str(script), run_name="benchmark_import_check")
    assert callable(namespace.get("main")), f"{script.name} has no main()"
