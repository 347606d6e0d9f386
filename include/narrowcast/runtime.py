"""The local runtime: the environment Airflow, dbt and the sandbox run with, in one place.

``make demo``, ``make ui`` and the end-to-end tests all build their environment here, so the Airflow home,
folders, telemetry switches and the default (sandbox) connections are defined once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from narrowcast import settings
from narrowcast.local_credentials import (
    LOCAL_API_TOKEN,
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
)

TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__CORE__ALLOW_TELEMETRY": "False",
}

# Extra fields of each sandbox connection; the same keys a user fills in for the real service.
SANDBOX_CONNECTIONS: dict[str, tuple[str, dict[str, object]]] = {
    "narrowcast_shopify": ("shopify", {"api_version": "2026-10", "location_id": "1"}),
    "narrowcast_meta": ("meta", {"api_version": "v27.0", "ad_account_id": "act_1048576200001"}),
    "narrowcast_google_ads": (
        "google_ads",
        {"api_version": "v26", "developer_token": "sandbox-developer-token", "customer_id": "4815162342",
         "login_customer_id": "4815162342"},
    ),
    "narrowcast_ebay": ("ebay", {"marketplace_id": "EBAY_DE"}),
    "narrowcast_amazon": ("amazon", {"marketplace_ids": "A1PA6795UKMFR9,A13V1IB3VIYZZH,A1F83G8C2ARO7P,APJ6JRA9NG5V4,A1RKKUPIHCS9HS",
                           "marketplace_id": "A1PA6795UKMFR9", "seller_id": "A2SANDBOXSELLER"}),
    "narrowcast_klaviyo": ("klaviyo", {"revision": "2026-10-15"}),
}

# The APIs whose real access tokens expire within hours authenticate with a refresh-token grant, against the
# sandbox's token endpoint for that vendor, exactly as a deployment does against the real one.
SANDBOX_TOKEN_ENDPOINTS = {
    "narrowcast_amazon": "oauth/amazon/auth/o2/token",
    "narrowcast_ebay": "oauth/ebay/identity/v1/oauth2/token",
    "narrowcast_google_ads": "oauth/google/token",
}


def sandbox_url() -> str:
    return f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"


def sandbox_connection_json(conn_id: str, base_url: str | None = None) -> str:
    """The ``AIRFLOW_CONN_*`` value (Airflow's JSON form) pointing ``conn_id`` at the sandbox."""
    prefix, extra = SANDBOX_CONNECTIONS[conn_id]
    base = base_url or sandbox_url()
    if conn_id in SANDBOX_TOKEN_ENDPOINTS:
        return json.dumps({
            "conn_type": "http", "host": f"{base}/{prefix}", "login": LOCAL_CLIENT_ID, "password": LOCAL_CLIENT_SECRET,
            "extra": {**extra, "refresh_token": LOCAL_REFRESH_TOKEN,
                      "token_url": f"{base}/{SANDBOX_TOKEN_ENDPOINTS[conn_id]}"},
        })
    return json.dumps({"conn_type": "http", "host": f"{base}/{prefix}", "password": LOCAL_API_TOKEN, "extra": extra})


def airflow_env(
    base: Mapping[str, str] | None = None,
    *,
    airflow_home: Path | None = None,
    data_dir: Path | None = None,
    sandbox: str | None = None,
) -> dict[str, str]:
    """Environment for every Airflow/dbt process of the local runtime.

    Values already set in ``base`` win (a user's real ``AIRFLOW_CONN_*`` is never overwritten).
    """
    env = dict(os.environ if base is None else base)
    root = settings.PROJECT_ROOT
    defaults = {
        "AIRFLOW_HOME": str(airflow_home or root / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "NARROWCAST_DATA_DIR": str(data_dir or settings.data_dir()),
        "NARROWCAST_DBT_PROJECT_DIR": str(root / "dbt_project"),
        "NARROWCAST_RETRY_DELAY_SECONDS": "5",
        "DBT_PROFILES_DIR": str(root / "dbt_project"),
        **TELEMETRY_OFF,
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    env["NARROWCAST_WAREHOUSE"] = env.get("NARROWCAST_WAREHOUSE") or str(
        Path(env["NARROWCAST_DATA_DIR"]) / "warehouse" / "narrowcast.duckdb"
    )
    include = str(root / "include")
    if include not in env.get("PYTHONPATH", "").split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (include, env.get("PYTHONPATH", "")) if p)
    for conn_id in SANDBOX_CONNECTIONS:
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        if not env.get(key):
            env[key] = sandbox_connection_json(conn_id, sandbox)
    return env
