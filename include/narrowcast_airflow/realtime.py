"""Airflow glue of the real-time path: the task body of the ``realtime_abandoned_checkouts`` DAG."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from narrowcast_airflow.connections import connection_defined, get_connection

CONNECTIONS = ("narrowcast_shopify", "narrowcast_klaviyo")


def run_abandoned_checkouts() -> dict[str, Any]:
    """One run of the abandoned-checkout trigger; skipped (with the fix) while a connection is not set."""
    from narrowcast.realtime import abandoned_checkouts
    from narrowcast.sources.enabled import not_connected

    for conn_id in CONNECTIONS:
        if not connection_defined(conn_id):
            raise AirflowSkipException(not_connected("abandoned-checkout reminders", conn_id))
    report = abandoned_checkouts.run(*(get_connection(conn_id) for conn_id in CONNECTIONS))
    return report.as_dict()
