"""Another process holding a DuckDB warehouse's write lock, for tests of writers that must wait for it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from narrowcast.warehouse import connect


def hold_the_file(path: Path, then: str = "") -> subprocess.Popen:
    """Another process holding ``path``'s write lock, once it has printed ``held``, until a line on its stdin
    (then it runs ``then``). Creates the file when it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path):
        pass
    return subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
                               f"sys.stdin.readline(); {then or 'pass'}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@contextlib.contextmanager
def held_for(path: Path, seconds: float) -> Iterator[None]:
    """Inside the block another process holds ``path``'s write lock; it lets go ``seconds`` after the block
    starts."""
    holder = hold_the_file(path, then=f"time.sleep({seconds}); c.close()")
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.stdin.write("\n")
        holder.stdin.flush()
        yield
    finally:
        holder.communicate(timeout=30)
