"""Which sources this merchant uses: the one answer to "is source X enabled" for the DAGs, the CLI and the dashboard.

A source that reads an API is enabled when its connection is set (``AIRFLOW_CONN_<ID>``, or an Airflow
connection: the Airflow glue passes its own lookup as ``connected``). A source without a connection (file drops,
GA4 export files) is enabled unless the merchant narrows the list. ``NARROWCAST_SOURCES`` (comma-separated source
names, e.g. ``inbox,shopify``) narrows it: only the sources it lists are used, and a listed source that needs a
connection still needs it set. A source that is not enabled keeps its raw tables, empty (dbt's
``ensure_optional_raw_tables`` creates them), so every model still builds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from narrowcast import settings
from narrowcast.contracts.connections import connection_variable
from narrowcast.sources.registry import SOURCES

SETTING = "NARROWCAST_SOURCES"

ConnectionLookup = Callable[[str], bool]


ENABLED, NOT_CONNECTED, NOT_SELECTED = "enabled", "not connected", "not selected"


@dataclass(frozen=True)
class SourceState:
    """Whether one source is used (``status``), and if not, the one-line reason naming the fix."""

    name: str
    status: str  # ENABLED, NOT_CONNECTED (its connection is not set) or NOT_SELECTED (NARROWCAST_SOURCES omits it)
    connection_id: str | None
    reason: str | None = None  # None when enabled

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED


def connection_set_in_env(environ: Mapping[str, str] | None = None) -> ConnectionLookup:
    """The lookup outside Airflow: a connection is set when its ``AIRFLOW_CONN_<ID>`` variable is not empty."""
    env = os.environ if environ is None else environ
    return lambda conn_id: bool(env.get(connection_variable(conn_id)))


def not_connected(what: str, conn_id: str) -> str:
    """The one-line reason a source or a sync does not run without its connection, naming how to set it."""
    return f"{what} not connected: set connection {conn_id} ({connection_variable(conn_id)} or the Airflow UI)"


def selected() -> frozenset[str] | None:
    """The names ``NARROWCAST_SOURCES`` lists (None when unset); an unknown name is a :class:`ConfigError`."""
    names = settings.selected_sources()
    if names is None:
        return None
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise settings.ConfigError(
            f"{SETTING} names unknown source(s) {', '.join(repr(n) for n in unknown)}; "
            f"the sources are: {', '.join(sorted(SOURCES))}"
        )
    return frozenset(names)


def source_state(name: str, connected: ConnectionLookup | None = None) -> SourceState:
    """Is source ``name`` enabled, and if not, why (``connected`` answers whether a connection id is set)."""
    if name not in SOURCES:
        raise settings.ConfigError(f"unknown source {name!r}; the sources are: {', '.join(sorted(SOURCES))}")
    spec = SOURCES[name]
    chosen = selected()
    if chosen is not None and name not in chosen:
        return SourceState(name, NOT_SELECTED, spec.connection_id,
                           f"source {name} not selected: {SETTING}={','.join(sorted(chosen))} does not list it")
    if spec.connection_id is not None and not (connected or connection_set_in_env())(spec.connection_id):
        return SourceState(name, NOT_CONNECTED, spec.connection_id, not_connected(f"source {name}", spec.connection_id))
    return SourceState(name, ENABLED, spec.connection_id)


def source_states(connected: ConnectionLookup | None = None) -> dict[str, SourceState]:
    """Every declared source's state, by name."""
    return {name: source_state(name, connected) for name in sorted(SOURCES)}


def is_enabled(name: str, connected: ConnectionLookup | None = None) -> bool:
    return source_state(name, connected).enabled
