"""The warehouse raw tables as DDL for building test warehouses, taken from the sources' declarations.

The loader creates the same tables from the same declarations (``narrowcast.sources.registry``), so a test
warehouse can never drift from what production loads; every table also carries the loader's audit columns.
"""

from __future__ import annotations

from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import META_COLUMNS
from narrowcast.sources.registry import ENTITIES

AUDIT_COLUMNS: dict[str, str] = dict(META_COLUMNS)

RAW_TABLES: dict[str, dict[str, str]] = {name: dict(spec.columns) for name, spec in ENTITIES.items()}


def columns(table: str) -> dict[str, str]:
    """Every column of a raw table (declared columns, then the audit columns) with its DuckDB type."""
    if table not in RAW_TABLES:
        raise KeyError(f"raw.{table} is declared by no source (known: {', '.join(sorted(RAW_TABLES))})")
    return {**RAW_TABLES[table], **AUDIT_COLUMNS}


def create_table_sql(table: str) -> str:
    body = ", ".join(f"{quote_ident(name)} {kind}" for name, kind in columns(table).items())
    return f"create or replace table raw.{table} ({body})"
