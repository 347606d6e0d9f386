"""Create the raw tables (from the source registry's types) and the ``meta.*`` bookkeeping tables."""

from __future__ import annotations

import duckdb

from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import META_COLUMNS, EntitySpec

META_TABLES: dict[str, str] = {
    "meta.batches": """
        batch_id VARCHAR PRIMARY KEY, source VARCHAR, entity VARCHAR, interval_start TIMESTAMP,
        interval_end TIMESTAMP, received BIGINT, loaded BIGINT, quarantined BIGINT, status VARCHAR,
        landed_path VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, error VARCHAR
    """,
    "meta.quarantine": """
        batch_id VARCHAR, source VARCHAR, entity VARCHAR, rule VARCHAR, column_name VARCHAR,
        source_ref VARCHAR, record VARCHAR, quarantined_at TIMESTAMP
    """,
    "meta.files": """
        file_name VARCHAR, checksum VARCHAR, size_bytes BIGINT, kind VARCHAR, rows BIGINT,
        loaded_at TIMESTAMP, batch_id VARCHAR, status VARCHAR, error VARCHAR
    """,
    "meta.watermarks": """
        source VARCHAR, entity VARCHAR, watermark TIMESTAMP, updated_at TIMESTAMP, PRIMARY KEY (source, entity)
    """,
}


def ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists meta")
    for table, columns in META_TABLES.items():
        con.execute(f"create table if not exists {table} ({columns})")


def ensure_raw_table(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> None:
    """Create ``raw.<entity>``, or add the columns a newer registry declares (never drops or retypes one)."""
    con.execute("create schema if not exists raw")
    columns = {**spec.columns, **META_COLUMNS}
    body = ", ".join(f"{quote_ident(name)} {sql_type}" for name, sql_type in columns.items())
    con.execute(f"create table if not exists {spec.table} ({body})")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ?",
            [spec.name],
        ).fetchall()
    }
    for name, sql_type in columns.items():
        if name not in existing:
            con.execute(f"alter table {spec.table} add column {quote_ident(name)} {sql_type}")
