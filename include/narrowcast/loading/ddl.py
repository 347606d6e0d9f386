"""Create the raw tables (from the source registry's types) and the ``meta.*`` bookkeeping tables."""

from __future__ import annotations

import weakref

from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import META_COLUMNS, EntitySpec
from narrowcast.warehouse import Warehouse


def _columns(spec: str) -> dict[str, str]:
    return dict(part.split() for part in spec.split(","))


# The bookkeeping tables: columns (in the contracts' type spelling) and primary key.
META_TABLES: dict[str, dict[str, str]] = {
    "meta.batches": _columns(
        "batch_id VARCHAR, source VARCHAR, entity VARCHAR, interval_start TIMESTAMP, interval_end TIMESTAMP, "
        "received BIGINT, loaded BIGINT, quarantined BIGINT, status VARCHAR, landed_path VARCHAR, "
        "started_at TIMESTAMP, finished_at TIMESTAMP, error VARCHAR"
    ),
    "meta.quarantine": _columns(
        "batch_id VARCHAR, source VARCHAR, entity VARCHAR, rule VARCHAR, column_name VARCHAR, source_ref VARCHAR, "
        "record VARCHAR, quarantined_at TIMESTAMP"
    ),
    "meta.files": _columns(
        "file_name VARCHAR, checksum VARCHAR, size_bytes BIGINT, kind VARCHAR, rows BIGINT, loaded_at TIMESTAMP, "
        "batch_id VARCHAR, status VARCHAR, error VARCHAR"
    ),
    "meta.watermarks": _columns("source VARCHAR, entity VARCHAR, watermark TIMESTAMP, updated_at TIMESTAMP"),
}
META_KEYS: dict[str, tuple[str, ...]] = {"meta.batches": ("batch_id",), "meta.watermarks": ("source", "entity")}


# The tables each open session has made sure of. A run loads many batches in one session and each load asks
# again; outside a transaction the DDL commits at once, and nothing drops these tables while a session is open.
_ENSURED: weakref.WeakKeyDictionary[Warehouse, set[str]] = weakref.WeakKeyDictionary()


def _ensured(wh: Warehouse) -> set[str]:
    return _ENSURED.setdefault(wh, set())


def ensure_meta_tables(wh: Warehouse) -> None:
    if "meta.*" in _ensured(wh):
        return
    wh.ensure_schema("meta")
    for table, columns in META_TABLES.items():
        body = ", ".join(f"{name} {wh.dialect.type_name(sql_type)}" for name, sql_type in columns.items())
        if table in META_KEYS:
            body += f", primary key ({', '.join(META_KEYS[table])})"
        wh.execute(f"create table if not exists {table} ({body})")
    _ensured(wh).add("meta.*")


def ensure_raw_table(wh: Warehouse, spec: EntitySpec) -> None:
    """Create ``raw.<entity>``, or add the columns a newer registry declares (never drops or retypes one)."""
    if spec.table in _ensured(wh):
        return
    wh.ensure_schema("raw")
    columns = {name: wh.dialect.type_name(sql_type) for name, sql_type in {**spec.columns, **META_COLUMNS}.items()}
    body = ", ".join(f"{quote_ident(name)} {sql_type}" for name, sql_type in columns.items())
    wh.execute(f"create table if not exists {spec.table} ({body})")
    existing = wh.column_names("raw", spec.name)
    for name, sql_type in columns.items():
        if name not in existing:
            wh.execute(f"alter table {spec.table} add column {quote_ident(name)} {sql_type}")
    _ensured(wh).add(spec.table)
