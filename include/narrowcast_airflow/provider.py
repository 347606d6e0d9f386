"""Narrowcast as an Airflow provider: registers the ``narrowcast_<service>`` connection types, so the UI offers
them and its "Test" button runs the doctor's check (entry point ``apache_airflow_provider`` in pyproject.toml)."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from narrowcast_airflow.hooks import HOOKS

    return {
        "package-name": "narrowcast",  # must equal the distribution's name, or Airflow refuses the provider
        "name": "Narrowcast",
        "description": "Connection types of the APIs Narrowcast extracts from and activates to.",
        "connection-types": [
            {"connection-type": conn_type, "hook-class-name": f"{hook.__module__}.{hook.__qualname__}",
             "hook-name": hook.hook_name}
            for conn_type, hook in HOOKS.items()
        ],
    }
