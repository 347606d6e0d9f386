"""The outcome of one sync run, and the errors raised when too many rows were rejected or removals need confirming."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class SyncReport:
    """Counts for one run, as written to ``activation.sync_runs``."""

    run_id: str
    sync_id: str
    dry_run: bool
    status: str = "running"
    planned_adds: int = 0
    planned_changes: int = 0
    planned_removes: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    api_calls: int = 0
    duration_seconds: float = 0.0
    error: str | None = None
    jobs_pending: int = 0  # asynchronous jobs still without an outcome when the run ended
    jobs_failed: int = 0  # earlier jobs found failed by this run
    rows_requeued: int = 0  # rows of those jobs put back, so this run re-planned them
    members: int = 0  # mirror syncs: rows the sync state held as confirmed when the run was planned
    max_remove_share: float | None = None  # mirror syncs: the removal guard's limit for this run

    @property
    def remove_share(self) -> float:
        return self.planned_removes / self.members if self.members else 0.0

    @property
    def removals_need_confirmation(self) -> bool:
        return self.max_remove_share is not None and self.remove_share > self.max_remove_share

    def removal_counts(self) -> str:
        return (f"{self.planned_removes} of {self.members} members planned for removal "
                f"({self.remove_share:.1%} > max_remove_share {self.max_remove_share:.1%})")

    @property
    def planned(self) -> int:
        return self.planned_adds + self.planned_changes + self.planned_removes

    @property
    def rejected_share(self) -> float:
        return self.rejected / self.planned if self.planned else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.sync_id}{' (dry run)' if self.dry_run else ''}: {self.status}; planned +{self.planned_adds} "
            f"~{self.planned_changes} -{self.planned_removes}; sent {self.sent}, accepted {self.accepted}, "
            f"rejected {self.rejected}, skipped {self.skipped}; {self.api_calls} API calls in "
            f"{self.duration_seconds:.2f}s"
            + (f"; jobs: {self.jobs_pending} pending, {self.jobs_failed} failed ({self.rows_requeued} rows re-planned)"
               if self.jobs_pending or self.jobs_failed else "")
            + (f"; needs confirmation: {self.removal_counts()}"
               if self.removals_need_confirmation and self.status in ("planned", "refused") else "")
        )


class SyncFailed(RuntimeError):
    """A run finished with too many rejected rows (or could not run); state and run log are already written."""

    def __init__(self, message: str, report: SyncReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class RemovalsNotConfirmed(SyncFailed):
    """A mirror run would remove more of the destination's members than its guard allows; nothing was sent."""
