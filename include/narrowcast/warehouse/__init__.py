"""The one way to open the warehouse (DuckDB by default)."""

from narrowcast.warehouse.connection import connect, read_only

__all__ = ["connect", "read_only"]
