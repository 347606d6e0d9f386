"""Project-wide settings: where local state lives and which defaults apply, read from the environment.

One settings module for the whole package (no other module reads ``os.environ`` for these values).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and how to fix it."""


@dataclass(frozen=True)
class Paths:
    """Every folder Narrowcast writes, all under one data directory."""

    data_dir: Path

    @property
    def world(self) -> Path:
        """Synthetic shop produced by the generator: what the sandbox APIs serve."""
        return self.data_dir / "world"

    @property
    def inbox(self) -> Path:
        """File drops (orders export, ERP stock, budget plan, listings, privacy requests)."""
        return self.data_dir / "inbox"

    @property
    def ga4_exports(self) -> Path:
        """GA4 BigQuery-export files delivered per day (NDJSON or Parquet)."""
        return self.data_dir / "exports" / "ga4"

    @property
    def landing(self) -> Path:
        """Immutable landing zone: Parquet partitioned by source/entity/date/batch."""
        return self.data_dir / "landing"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def warehouse(self) -> Path:
        """The embedded DuckDB warehouse file."""
        return Path(os.environ.get("NARROWCAST_WAREHOUSE", self.warehouse_dir / "narrowcast.duckdb"))

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def alerts(self) -> Path:
        """Default alert sink: one JSON line per alert."""
        return self.logs / "alerts.jsonl"

    def ensure(self) -> Paths:
        for folder in (self.world, self.inbox, self.ga4_exports, self.landing, self.warehouse_dir, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def data_dir() -> Path:
    """The data directory from ``NARROWCAST_DATA_DIR`` (default ``./data`` in the project)."""
    raw = os.environ.get("NARROWCAST_DATA_DIR")
    return Path(raw).expanduser().resolve() if raw else PROJECT_ROOT / "data"


def paths() -> Paths:
    return Paths(data_dir())


def require_data_dir() -> Paths:
    """Paths, failing with a one-line fix when the data directory does not exist yet."""
    p = paths()
    if not p.data_dir.is_dir():
        raise ConfigError(
            f"data directory {p.data_dir} does not exist: run `make demo` (or `narrowcast generate`) first, "
            "or point NARROWCAST_DATA_DIR at an existing directory"
        )
    return p


WAREHOUSE_ENGINES = ("duckdb", "postgres")


def warehouse_engine() -> str:
    """The warehouse engine every stage uses (``NARROWCAST_WAREHOUSE_ENGINE``: ``duckdb``, the default, or
    ``postgres``); the dbt target follows it unless ``NARROWCAST_DBT_TARGET`` says otherwise."""
    raw = os.environ.get("NARROWCAST_WAREHOUSE_ENGINE", "").strip().lower() or "duckdb"
    if raw not in WAREHOUSE_ENGINES:
        raise ConfigError(f"NARROWCAST_WAREHOUSE_ENGINE={raw!r} is not one of {', '.join(WAREHOUSE_ENGINES)}")
    return raw


@dataclass(frozen=True)
class PostgresSettings:
    """Where the PostgreSQL warehouse is: the same ``NARROWCAST_PG_*`` variables dbt's ``postgres`` target reads.

    ``schema`` is dbt's target schema (models and marts); the package's own schemas (raw, meta, activation) sit
    beside it in the same database.
    """

    host: str
    port: int
    user: str
    password: str
    dbname: str
    schema: str

    def connect_kwargs(self) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password,
                "dbname": self.dbname}


def postgres() -> PostgresSettings:
    """The PostgreSQL warehouse's settings (defaults as in ``dbt_project/profiles.yml``)."""
    return PostgresSettings(
        host=os.environ.get("NARROWCAST_PG_HOST") or "127.0.0.1",
        port=env_int("NARROWCAST_PG_PORT", 5432),
        user=os.environ.get("NARROWCAST_PG_USER") or "narrowcast",
        password=os.environ.get("NARROWCAST_PG_PASSWORD", ""),
        dbname=os.environ.get("NARROWCAST_PG_DBNAME") or "narrowcast",
        schema=os.environ.get("NARROWCAST_PG_SCHEMA") or "main",
    )


def marts_schema() -> str:
    """The schema dbt builds the models and marts in: ``main`` on DuckDB, ``NARROWCAST_PG_SCHEMA`` on PostgreSQL."""
    return postgres().schema if warehouse_engine() == "postgres" else "main"


def dbt_target() -> str:
    """The dbt profile target: ``NARROWCAST_DBT_TARGET``, else the warehouse engine's name."""
    return os.environ.get("NARROWCAST_DBT_TARGET") or warehouse_engine()


def source_modules() -> tuple[str, ...]:
    """Modules outside ``narrowcast.sources`` that declare a ``SOURCE`` (``NARROWCAST_SOURCE_MODULES``, comma-separated)."""
    raw = os.environ.get("NARROWCAST_SOURCE_MODULES", "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def selected_sources() -> tuple[str, ...] | None:
    """The sources the merchant uses (``NARROWCAST_SOURCES``, comma-separated), or None when unset: every source
    whose connection is set. Names are checked against the declared sources by
    :mod:`narrowcast.sources.enabled`, which callers ask instead of reading this."""
    raw = os.environ.get("NARROWCAST_SOURCES", "")
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    return names or None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not true or false")


# Quality gate: share of failing rows above which a batch fails the task.
QUARANTINE_THRESHOLD = env_float("NARROWCAST_QUARANTINE_THRESHOLD", 0.05)
# Timestamps up to this far in the future are tolerated (clock skew).
FUTURE_TOLERANCE_MINUTES = env_int("NARROWCAST_FUTURE_TOLERANCE_MINUTES", 60)
# Inbox: a file is read once its size and modification time have been unchanged this long (or it has a
# <file>.done / <file>.ok marker), so a file still being written is never read half-way.
INBOX_SETTLE_SECONDS = env_float("NARROWCAST_INBOX_SETTLE_SECONDS", 30.0)
# Activation: share of rejected rows above which a sync run fails loudly.
REJECTED_THRESHOLD = env_float("NARROWCAST_REJECTED_THRESHOLD", 0.05)
# Activation: share of a mirror sync's confirmed members one run may remove without confirmation (per sync:
# ``max_remove_share`` in its YAML).
MAX_REMOVE_SHARE = env_float("NARROWCAST_MAX_REMOVE_SHARE", 0.2)
# Default sandbox address (every AIRFLOW_CONN_* of the demo points here).
SANDBOX_HOST = os.environ.get("NARROWCAST_SANDBOX_HOST", "127.0.0.1")
SANDBOX_PORT = env_int("NARROWCAST_SANDBOX_PORT", 8765)
# Loopback ports of `make ui` (Airflow) and `make docs` (dbt docs).
UI_PORT = env_int("NARROWCAST_UI_PORT", 8080)
DOCS_PORT = env_int("NARROWCAST_DOCS_PORT", 8081)
