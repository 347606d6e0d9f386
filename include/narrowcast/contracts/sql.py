"""SQL identifiers and literals written safely, for the few statements built from declarations."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted (raw column names such as ``key`` or ``month`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(name: str) -> str:
    """A dotted name (``schema.table``) with each part quoted."""
    return ".".join(quote_ident(part) for part in name.split("."))
