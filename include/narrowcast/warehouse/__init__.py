"""The warehouse seam: every SQL the package runs goes through a :class:`Warehouse` (DuckDB by default, or
PostgreSQL: ``narrowcast.warehouse.postgres.PostgresWarehouse``, chosen by ``NARROWCAST_WAREHOUSE_ENGINE``).

Engine differences live in two places only: the :class:`Dialect` (how SQL is spelled) and the engine's
:class:`Warehouse` subclass (how its driver opens, moves Arrow data and tunes bulk inserts).
"""

from narrowcast.warehouse.connection import (
    connect,
    in_memory,
    local_duckdb,
    read_only,
    warm_up_frames,
    writer_turn,
)
from narrowcast.warehouse.dialect import Dialect, DuckDBDialect, PostgresDialect, sql_string
from narrowcast.warehouse.warehouse import (
    STATEMENT_ERRORS,
    DuckDBWarehouse,
    UndefinedObject,
    Warehouse,
    WarehouseBusy,
    WarehouseError,
)

__all__ = [
    "STATEMENT_ERRORS",
    "Dialect",
    "DuckDBDialect",
    "DuckDBWarehouse",
    "PostgresDialect",
    "UndefinedObject",
    "Warehouse",
    "WarehouseBusy",
    "WarehouseError",
    "connect",
    "in_memory",
    "local_duckdb",
    "read_only",
    "sql_string",
    "warm_up_frames",
    "writer_turn",
]
