"""Connection settings for an external system, independent of Airflow.

The DAG layer turns an Airflow connection (``AIRFLOW_CONN_NARROWCAST_*``) into a :class:`Connection`
with :meth:`Connection.from_uri`; the package itself never reads Airflow.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class Connection:
    """Where an API lives and how to authenticate. ``password`` holds the token or key (never logged)."""

    conn_id: str
    base_url: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> Connection:
        """Parse an Airflow connection URI (``http://:token@host:port/path?__extra__=...``) or its JSON form."""
        if uri.lstrip().startswith("{"):
            raw = json.loads(uri)
            scheme = raw.get("conn_type") or "http"
            host = raw.get("host") or ""
            if "://" not in host:
                port = f":{raw['port']}" if raw.get("port") else ""
                host = f"{_scheme(scheme)}://{host}{port}{'/' + raw['schema'] if raw.get('schema') else ''}"
            extra = raw.get("extra") or {}
            if isinstance(extra, str):
                extra = json.loads(extra) if extra else {}
            return cls(conn_id, host.rstrip("/"), raw.get("login"), raw.get("password"), extra)
        parts = urlsplit(uri)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "__extra__" in query:
            extra = json.loads(query.pop("__extra__"))
        else:
            extra = query
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        path = parts.path or ""
        base = f"{_scheme(parts.scheme)}://{host}{port}{path}".rstrip("/")
        return cls(
            conn_id,
            base,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            extra,
        )

    def require(self, key: str) -> Any:
        """An ``extra`` field the connector cannot work without; the error names the connection and field."""
        if key not in self.extra or self.extra[key] in (None, ""):
            raise ValueError(f"connection {self.conn_id!r} has no extra field {key!r}; add it to the connection's extra JSON")
        return self.extra[key]

    def require_password(self, what: str) -> str:
        """The connection's secret (``what`` names it, e.g. "the OAuth access token"); the error names the connection."""
        if not self.password:
            raise ValueError(f"connection {self.conn_id!r} has no password; put {what} there")
        return self.password


ENV_PREFIX = "AIRFLOW_CONN_"


class ConnectionNotUsable(ValueError):
    """An ``AIRFLOW_CONN_*`` variable is missing or unreadable; the message names the variable, never its value."""


def connection_variable(conn_id: str) -> str:
    """The environment variable Airflow reads a connection from."""
    return f"{ENV_PREFIX}{conn_id.upper()}"


def connections_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Connection]:
    """Every connection set as ``AIRFLOW_CONN_<ID>``, keyed by the lower-case id Airflow gives it.

    The command-line tools read connections this way, as Airflow does, so one URI serves both.
    """
    env = os.environ if environ is None else environ
    found = {}
    for name, uri in sorted(env.items()):
        if name.startswith(ENV_PREFIX) and uri:
            conn_id = name[len(ENV_PREFIX):].lower()
            try:
                found[conn_id] = Connection.from_uri(conn_id, uri)
            except ValueError:
                # The parser's message may quote the value, and the value holds the token.
                raise ConnectionNotUsable(f"{name} is not an Airflow connection URI or JSON object") from None
    return found


def _scheme(conn_type: str) -> str:
    return "https" if conn_type in ("https",) else "http"
