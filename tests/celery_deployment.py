"""The distributed (CeleryExecutor) deployment as data: its services, their commands, versions and settings.

``docker-compose.yml`` runs this deployment in containers; ``tests/e2e/celery_cluster.py`` starts the same services
as processes on loopback. Both are read against this module (``tests/unit/test_compose_matches_celery_cluster.py``),
so a setting changed in one place and not the other fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from narrowcast.runtime import CELERY_WORKER_PRELOAD

# The one-slot pool every warehouse writer runs in (DuckDB takes one writer); created by the init step.
WAREHOUSE_POOL = "narrowcast_warehouse"
WAREHOUSE_POOL_DESCRIPTION = "DuckDB takes one writer: every warehouse writer runs here"

# Server versions: the compose images' tags and the Debian packages (scripts/setup-os.sh) the test starts.
POSTGRES_MAJOR = 15
REDIS_MINOR = "7.0"
POSTGRES_IMAGE = f"postgres:{POSTGRES_MAJOR}-bookworm"
REDIS_IMAGE = f"redis:{REDIS_MINOR}-bookworm"

# The metadata database (compose: the postgres service's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB).
METADATA_USER = "airflow"
METADATA_PASSWORD = "airflow"
METADATA_DB = "airflow"
BROKER_DB = 0

# Celery workers: how many run side by side and how many tasks each runs at once.
WORKER_REPLICAS = 2
WORKER_CONCURRENCY = 4

# Airflow's long-running services (compose service name -> `airflow` arguments) and the one-off init steps.
AIRFLOW_SERVICES = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}
INIT_COMMANDS = [
    ["db", "migrate"],
    ["pools", "set", WAREHOUSE_POOL, "1", WAREHOUSE_POOL_DESCRIPTION],
]

# Settings each deployment supplies for itself: secrets (compose reads them from .env) and container paths.
SECRETS = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET")
DEPLOYMENT_LOCAL = ("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "PYTHONPATH", "NARROWCAST_DATA_DIR",
                    "NARROWCAST_DBT_PROJECT_DIR", "DBT_PROFILES_DIR")
# What the loopback test sets on top, for speed and isolation only: none of it is a deployment setting.
LOOPBACK_TUNING = {
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    "AIRFLOW__API__WORKERS": "1",
    # A busy 2-core machine answers the execution API slowly; the 5 s default timed task start-up out.
    "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    "NO_PROXY": "*",
    # The transform's dbt build as one task: each Celery task starts a process, and a few hundred node tasks
    # through the one-slot pool would take most of the suite's time. The build and its marts are the same.
    "NARROWCAST_DBT_EXECUTION_MODE": "build",
}


@dataclass(frozen=True)
class Endpoints:
    """Where the metadata database and the broker listen (compose: service names on the default ports)."""

    postgres_host: str = "postgres"
    postgres_port: int = 5432
    redis_host: str = "redis"
    redis_port: int = 6379

    @property
    def postgres(self) -> str:
        return f"{METADATA_USER}:{METADATA_PASSWORD}@{self.postgres_host}:{self.postgres_port}/{METADATA_DB}"


def airflow_settings(endpoints: Endpoints) -> dict[str, str]:
    """The settings every Airflow service of the deployment shares (compose's ``x-airflow-common`` environment,
    without :data:`SECRETS` and :data:`DEPLOYMENT_LOCAL`)."""
    # Compose leaves PostgreSQL's default port out of its URLs.
    postgres = endpoints.postgres.replace(":5432/", "/")
    redis = f"{endpoints.redis_host}:{endpoints.redis_port}"
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{postgres}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{postgres}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:@{redis}/{BROKER_DB}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        # A worker imports the task modules once, before its pool forks (narrowcast_airflow.celery_config).
        **CELERY_WORKER_PRELOAD,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "true",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "true",
    }
