"""Whether an inbox file is complete: written to the end (settled or marked done) and not cut at its last line.

Exporters and uploads write a file for a while; reading it meanwhile would load its first rows as if they were
all. A file is ready when a completion marker (``<file>.done`` or ``<file>.ok``) sits next to it, or when its
size and modification time have not changed for the settle interval (``NARROWCAST_INBOX_SETTLE_SECONDS``). A
file that is not ready is left for the next run. A writer that died mid-row leaves a last line without a
newline whose last field is shorter than the same field of every other row: :class:`LastFieldWatch` sees that.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from narrowcast import settings

MARKER_SUFFIXES = (".done", ".ok")
_DECIMALS = re.compile(r"\d[.,](\d+)")


@dataclass(frozen=True)
class Snapshot:
    """A file's size and modification time, compared before and after reading it."""

    size: int
    mtime: float

    @classmethod
    def of(cls, path: Path) -> Snapshot:
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime)


def unchanged(path: Path, seen: Snapshot) -> bool:
    try:
        return Snapshot.of(path) == seen
    except OSError:  # removed or replaced meanwhile
        return False


def is_marker(path: Path) -> bool:
    return path.suffix in MARKER_SUFFIXES


def has_marker(path: Path) -> bool:
    return any(path.with_name(path.name + suffix).is_file() for suffix in MARKER_SUFFIXES)


def unsettled_for(path: Path, seen: Snapshot, *, now: float | None = None, settle: float | None = None) -> float:
    """Seconds the file must still stay unchanged before it is read (0: ready now)."""
    if has_marker(path):
        return 0.0
    interval = settings.INBOX_SETTLE_SECONDS if settle is None else settle
    age = (time.time() if now is None else now) - seen.mtime
    return max(0.0, interval - age)


def ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return True
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


class LastFieldWatch:
    """The shape of a column's values over the rows seen so far, to tell whether a final value was cut short."""

    def __init__(self) -> None:
        self.rows = 0
        self.any_empty = False
        self.lengths: set[int] = set()
        self.decimals: set[int] | None = set()  # digits after the decimal separator; None once a value has none

    def see(self, value: str) -> None:
        self.rows += 1
        if not value:
            self.any_empty = True
            return
        if len(self.lengths) < 2:
            self.lengths.add(len(value))
        if self.decimals is not None:
            match = _DECIMALS.search(value)
            if match is None or match.end() != len(value):
                self.decimals = None
            else:
                self.decimals.add(len(match.group(1)))
                if len(self.decimals) > 1:
                    self.decimals = None

    def looks_cut(self, value: str) -> bool:
        """True when ``value`` lacks what the column's every other value has (a value, its decimals, its length)."""
        if self.rows == 0:
            return False
        if not value:
            return not self.any_empty
        if self.decimals and self.lengths:
            (places,) = self.decimals
            match = _DECIMALS.search(value)
            if match is None or match.end() != len(value) or len(match.group(1)) != places:
                return True
        return len(self.lengths) == 1 and len(value) < next(iter(self.lengths))
