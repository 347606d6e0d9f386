"""Airflow connection → :class:`narrowcast.contracts.connections.Connection` (read inside tasks, never at parse time).

Which connections exist is declared where they are used: each source's ``connection_id``, each destination's
``connection_id`` and each sync's ``connection``; nothing here lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from narrowcast.contracts.connections import Connection


def declared_connection_ids() -> tuple[str, ...]:
    """Every connection a source, a destination or a sync declaration names, sorted."""
    from narrowcast.activation.destinations import DESTINATIONS
    from narrowcast.activation.spec import read_syncs
    from narrowcast.sources.registry import SOURCES

    ids = {s.connection_id for s in SOURCES.values()}
    ids |= {getattr(cls, "connection_id", None) for cls in DESTINATIONS.values()}
    ids |= {spec.connection for spec in read_syncs().specs}  # an invalid declaration is disabled, not fatal
    return tuple(sorted(i for i in ids if i))


def get_connection(conn_id: str) -> Connection:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    host = conn.host or ""
    if "://" not in host:
        scheme = "https" if (conn.conn_type or "") == "https" else "http"
        port = f":{conn.port}" if conn.port else ""
        path = f"/{conn.schema}" if conn.schema else ""
        host = f"{scheme}://{host}{port}{path}"
    return Connection(conn_id, host.rstrip("/"), conn.login, conn.password, dict(conn.extra_dejson or {}))


def connection_defined(conn_id: str) -> bool:
    """The connection is set (``AIRFLOW_CONN_*``, a secrets backend or the metadata database): what decides
    whether a source or a sync runs (see :mod:`narrowcast.sources.enabled`)."""
    from airflow.exceptions import AirflowNotFoundException

    try:
        get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def get_connections(conn_ids: Iterable[str] | None = None) -> dict[str, Connection]:
    """The given connections (default: every declared one) that are defined; missing ones are left out (the sync
    that needs one says so)."""
    from airflow.exceptions import AirflowNotFoundException

    found: dict[str, Connection] = {}
    for conn_id in declared_connection_ids() if conn_ids is None else conn_ids:
        try:
            found[conn_id] = get_connection(conn_id)
        except AirflowNotFoundException:
            continue
    return found
