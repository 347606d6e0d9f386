"""Activation (reverse ETL): send audiences and listings from the warehouse marts to ad, e-mail and
marketplace APIs, sending only what changed since the destination last confirmed it.

Public API for the DAGs: :func:`load_syncs`, :func:`run_sync`, :func:`run_group` (and the CLI
``python -m narrowcast.activation run <sync_id|--group g> [--dry-run]``).
"""

from narrowcast.activation.engine import run_group, run_sync
from narrowcast.activation.report import SyncFailed, SyncReport
from narrowcast.activation.spec import SyncConfigError, SyncSpec, load_syncs

__all__ = ["SyncConfigError", "SyncFailed", "SyncReport", "SyncSpec", "load_syncs", "run_group", "run_sync"]
