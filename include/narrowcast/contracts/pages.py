"""What a source yields: pages of flat records for one raw table, and the extractor signature."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window


@dataclass
class Page:
    """One unit of extracted data: flat records for one raw table, and where they came from."""

    entity: str  # raw table name without schema, e.g. "shop_orders"
    records: list[dict[str, Any]]
    source_ref: str  # e.g. "GET /admin/api/2026-10/orders.json page 3" or "events_20240101.ndjson"
    meta: dict[str, Any] = field(default_factory=dict)


class Extractor(Protocol):
    """What every API source module exposes as ``extract``."""

    def __call__(self, conn: Connection, window: Window) -> Iterator[Page]: ...
