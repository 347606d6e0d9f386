"""What a generator run produced: rows per output file and the defects injected (dirty runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


class GenerationError(ValueError):
    """Bad generator input or an unusable data directory; the message names the problem and the fix."""


@dataclass
class GenerationReport:
    data_dir: Path
    customers: int
    days: int
    start: date
    seed: int
    dirty: bool
    rows: dict[str, int] = field(default_factory=dict)  # output path relative to data_dir → rows
    defects: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        ga4 = sum(v for k, v in self.rows.items() if k.startswith("exports/ga4/"))
        world = {k.removeprefix("world/").removesuffix(".parquet"): v for k, v in self.rows.items()
                 if k.startswith("world/")}
        parts = ", ".join(f"{k} {v:,}" for k, v in world.items() if k in ("customers", "orders", "ga4_sessions"))
        return (f"generated {self.total_rows:,} rows in {self.seconds:.1f}s under {self.data_dir} "
                f"({parts}, ga4 events {ga4:,}" + (f", {len(self.defects)} defect groups" if self.dirty else "")
                + ")")
