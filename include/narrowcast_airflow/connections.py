"""Airflow connection → :class:`narrowcast.contracts.connections.Connection` (read inside tasks, never at parse time)."""

from __future__ import annotations

from narrowcast.contracts.connections import Connection

CONNECTION_IDS = (
    "narrowcast_shopify",
    "narrowcast_meta",
    "narrowcast_google_ads",
    "narrowcast_ebay",
    "narrowcast_amazon",
    "narrowcast_klaviyo",
)


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


def get_connections(conn_ids: tuple[str, ...] = CONNECTION_IDS) -> dict[str, Connection]:
    """Every connection that is defined; missing ones are left out (the sync that needs one says so)."""
    from airflow.exceptions import AirflowNotFoundException

    found: dict[str, Connection] = {}
    for conn_id in conn_ids:
        try:
            found[conn_id] = get_connection(conn_id)
        except AirflowNotFoundException:
            continue
    return found
