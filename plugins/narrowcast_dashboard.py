"""Airflow UI plugin: the Narrowcast marketing dashboard and the project's dbt docs, shown inside the Airflow UI.

The FastAPI app (``narrowcast.dashboard.app``) is mounted on the API server under ``/narrowcast``; two external
views with a ``url_route`` render it in an iframe inside the UI: the dashboard at the top of the nav and the
dbt docs under Docs. Both need the same login as the Airflow UI.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

from airflow.api_fastapi.core_api.security import requires_authenticated
from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends

try:
    from narrowcast.dashboard.app import create_app
except ModuleNotFoundError:  # package not installed: use the repo's include/ folder, like the DAGs do
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))
    from narrowcast.dashboard.app import create_app

URL_PREFIX = "/narrowcast"
# Behind a reverse proxy the API server lives under a sub-path (AIRFLOW__API__BASE_URL); hrefs must include it.
API_BASE_PATH = urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")

_ICON_SVG = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='currentColor' "
    "stroke-width='2' stroke-linecap='round'><path d='M4 20V10M10 20V4M16 20v-7M22 20H2'/></svg>"
)
ICON = "data:image/svg+xml," + quote(_ICON_SVG)


def _connection_defined(conn_id: str) -> bool:
    """Whether a connection is set in any of Airflow's places (environment, secrets backend, the UI's metadata
    database): the dashboard's Sources panel says which sources are not connected from this."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return False
    return True


class NarrowcastDashboardPlugin(AirflowPlugin):
    """Registers the dashboard app and its two views (dashboard, dbt docs)."""

    name = "narrowcast_dashboard"
    # Same login as the UI: the iframe sends the UI's JWT cookie, API clients a Bearer token.
    fastapi_apps = [{
        "app": create_app(dependencies=[Depends(requires_authenticated())], connected=_connection_defined),
        "url_prefix": URL_PREFIX,
        "name": "Narrowcast dashboard",
    }]
    external_views = [
        {
            "name": "Marketing",
            "href": f"{API_BASE_PATH}{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "narrowcast-dashboard",
            "nav_top_level": True,
            "icon": ICON,
        },
        {
            "name": "dbt docs (Narrowcast)",
            "href": f"{API_BASE_PATH}{URL_PREFIX}/dbt-docs/",
            "destination": "nav",
            "category": "docs",
            "url_route": "narrowcast-dbt-docs",
        },
    ]
