"""Money amounts as ``Decimal``, parsed with an error that names the bad value and where it was."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def parse_money(value: Any, *, where: str = "value") -> Decimal:
    """Money as ``Decimal`` (APIs send strings such as ``"19.90"``); a clear error names the bad value."""
    if isinstance(value, Decimal):
        return value
    if value is None or value == "":
        raise ValueError(f"{where}: money amount is missing")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{where}: {value!r} is not a money amount") from exc
