"""Bodies of Narrowcast's Airflow tasks: each is one or two calls into the ``narrowcast`` package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow.sdk import AssetAlias, Metadata
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from narrowcast_airflow.assets import raw_asset
from narrowcast_airflow.connections import connection_defined, get_connection, get_connections
from narrowcast_airflow.defaults import catches_up, window_from_context
from narrowcast_airflow.notifiers import NarrowcastFailureNotifier


def run_extract(source: str, context: dict[str, Any], alias: AssetAlias | None = None) -> Iterator[Metadata]:
    """Extract one source (over its declared connection) for the run's window; emit row counts as asset metadata.

    A scheduled run reads from the source's stored watermark to the data interval's end (``catches_up``). With
    ``alias`` (the task's outlet, see :func:`~narrowcast_airflow.assets.raw_alias`) an asset event is emitted only
    for the tables that received rows, so a run that found nothing new triggers nothing downstream.

    A source the merchant does not use (:mod:`narrowcast.sources.enabled`: its connection is not set, or
    ``NARROWCAST_SOURCES`` omits it) skips the task with the reason: visible in the UI, not a failure, no alert.
    """
    from narrowcast.extract import run_catching_up, run_source
    from narrowcast.sources.enabled import source_state
    from narrowcast.sources.registry import source as source_spec

    state = source_state(source, connected=connection_defined)
    if not state.enabled:
        raise AirflowSkipException(state.reason)
    conn_id = source_spec(source).connection_id
    conn = get_connection(conn_id) if conn_id else None
    window = window_from_context(context)
    alerts = NarrowcastFailureNotifier().connection()  # the sink failure alerts use, for what a run tolerates
    if catches_up(context):
        reports = run_catching_up(source, conn, window, alerts=alerts)
    else:
        reports = [run_source(source, conn, window, alerts=alerts)]
    for entity in reports[0].entities:
        counts = [report.entities[entity] for report in reports]
        received = sum(c.received for c in counts)
        if alias is not None and not received:
            continue
        yield Metadata(raw_asset(entity), alias=alias, extra={
            "received": received,
            "loaded": sum(c.loaded for c in counts),
            "quarantined": sum(c.quarantined for c in counts),
            "window_start": reports[0].window.start.isoformat(),
            "window_end": reports[-1].window.end.isoformat(),
        })


def list_sync_ids(group: str) -> list[str]:
    """The group's enabled syncs and its invalid declarations: each invalid one becomes a failed task of its own."""
    from narrowcast.activation.spec import read_syncs

    specs, invalid = read_syncs().in_group(group)
    return sorted([spec.id for spec in specs] + [i.id for i in invalid])


def run_sync(sync_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """Run one sync over the connection it declares; returns the report (XCom).

    Run conf: ``{"dry_run": true}`` plans without sending; ``{"confirm_removals": ["<sync_id>"]}`` (or ``true``
    for every sync of the run) lets a mirror sync remove more than its ``max_remove_share`` of the members.
    """
    from narrowcast.activation import SyncConfigError
    from narrowcast.activation import run_sync as run
    from narrowcast.activation.engine import removals_confirmed, resolve
    from narrowcast.activation.report import RemovalsNotConfirmed
    from narrowcast.sources.enabled import not_connected

    conf = (context.get("dag_run").conf if context.get("dag_run") else None) or {}
    try:
        spec = resolve(sync_id)
    except SyncConfigError as exc:
        # No retry can fix a declaration: fail at once, and the failure alert names the file and the key.
        raise AirflowFailException(f"sync {sync_id} is disabled until its declaration is fixed: {exc}") from exc
    dry_run = bool(conf.get("dry_run", False))
    if not dry_run and not connection_defined(spec.connection):
        # A merchant without this destination: the sync is skipped with the fix, not failed (a dry run needs none).
        raise AirflowSkipException(not_connected(f"sync {sync_id}: destination {spec.destination}", spec.connection))
    try:
        report = run(spec, connections=get_connections([spec.connection]), dry_run=dry_run,
                     confirm_removals=removals_confirmed(conf.get("confirm_removals"), sync_id))
    except RemovalsNotConfirmed as exc:
        # A retry would be refused the same way: only a person confirming (run conf) can let it through.
        raise AirflowFailException(str(exc)) from exc
    return report.as_dict()
