"""Bodies of Narrowcast's Airflow tasks: each is one or two calls into the ``narrowcast`` package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow.sdk import Metadata

from narrowcast_airflow.assets import raw_asset
from narrowcast_airflow.connections import get_connection, get_connections
from narrowcast_airflow.defaults import catches_up, window_from_context
from narrowcast_airflow.notifiers import NarrowcastFailureNotifier


def run_extract(source: str, context: dict[str, Any]) -> Iterator[Metadata]:
    """Extract one source (over its declared connection) for the run's window; emit row counts as asset metadata.

    A scheduled run reads from the source's stored watermark to the data interval's end (``catches_up``).
    """
    from narrowcast.extract import run_catching_up, run_source
    from narrowcast.sources.registry import source as source_spec

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
        yield Metadata(raw_asset(entity), {
            "received": sum(c.received for c in counts),
            "loaded": sum(c.loaded for c in counts),
            "quarantined": sum(c.quarantined for c in counts),
            "window_start": reports[0].window.start.isoformat(),
            "window_end": reports[-1].window.end.isoformat(),
        })


def list_sync_ids(group: str) -> list[str]:
    from narrowcast.activation import load_syncs

    return [spec.id for spec in load_syncs() if spec.schedule == group and spec.enabled]


def run_sync(sync_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """Run one sync over the connection it declares; dry-run when the run conf says so. Returns the report (XCom)."""
    from narrowcast.activation import run_sync as run
    from narrowcast.activation.engine import resolve

    conf = (context.get("dag_run").conf if context.get("dag_run") else None) or {}
    spec = resolve(sync_id)
    report = run(spec, connections=get_connections([spec.connection]), dry_run=bool(conf.get("dry_run", False)))
    return report.as_dict()
