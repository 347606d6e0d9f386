"""Airflow failure notifier: turns a failed task or DAG run into a :class:`narrowcast.alerts.Alert` and sends it.

Use it on every DAG and task: ``default_args={"on_failure_callback": NarrowcastFailureNotifier()}`` and
``@dag(on_failure_callback=NarrowcastFailureNotifier())``. The sink comes from the Airflow connection
``narrowcast_alerts`` when it exists (http/https → webhook, smtp/email → SMTP, fs/file → JSON lines file);
without it alerts go to the default JSON lines file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.bases.notifier import BaseNotifier
from airflow.sdk.exceptions import AirflowNotFoundException

from narrowcast.alerts import Alert, send_alert
from narrowcast.contracts.connections import Connection

DEFAULT_CONN_ID = "narrowcast_alerts"
_SINK_BY_CONN_TYPE = {"smtp": "smtp", "email": "smtp", "fs": "file", "file": "file"}


def alert_from_context(context: Mapping[str, Any]) -> Alert:
    """The alert for a failure callback's context: a task failure when a task instance is present, else a DAG failure."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None) or getattr(dag_run, "dag_id", None)
    run_id = context.get("run_id") or getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None)
    exception = context.get("exception")
    if exception is not None:
        reason = f"{type(exception).__name__}: {exception}" if str(exception) else type(exception).__name__
    else:
        reason = str(context.get("reason") or "failed (the callback context carries no exception)")
    details = {
        key: getattr(ti, key)
        for key in ("try_number", "max_tries", "map_index")
        if ti is not None and isinstance(getattr(ti, key, None), int)
    }
    return Alert(
        dag_id=str(dag_id or "unknown_dag"),
        task_id=getattr(ti, "task_id", None),
        run_id=run_id,
        reason=reason,
        kind="task_failure" if ti is not None else "dag_failure",
        details=details,
    )


def to_connection(conn: Any) -> Connection:
    """A narrowcast :class:`Connection` from an Airflow connection, with ``extra.sink`` set from its type."""
    extra = dict(conn.extra_dejson or {})
    conn_type = (conn.conn_type or "").lower()
    extra.setdefault("sink", _SINK_BY_CONN_TYPE.get(conn_type, "webhook"))
    host = conn.host or ""
    if "://" in host:
        base_url = host
    elif host:
        scheme = "https" if "https" in (conn_type, (conn.schema or "").lower()) else "http"
        base_url = f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"
    else:
        base_url = ""
    if extra.get("endpoint"):
        base_url = f"{base_url.rstrip('/')}/{str(extra['endpoint']).lstrip('/')}"
    return Connection(conn.conn_id, base_url.rstrip("/"), conn.login or None, conn.password or None, extra)


class NarrowcastFailureNotifier(BaseNotifier):
    """Sends one alert per failed task (or DAG run) naming the DAG, task, run and reason."""

    template_fields = ()

    def __init__(self, conn_id: str | None = DEFAULT_CONN_ID) -> None:
        super().__init__()
        self.conn_id = conn_id

    def connection(self) -> Connection | None:
        """The alert sink's connection, or ``None`` (default file sink) when it is not defined."""
        if not self.conn_id:
            return None
        try:
            return to_connection(BaseHook.get_connection(self.conn_id))
        except AirflowNotFoundException:
            return None

    def notify(self, context: Any) -> None:
        send_alert(alert_from_context(context), self.connection())
