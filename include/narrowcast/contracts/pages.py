"""What a source yields: pages of flat records for one raw table (the extractor signature is in ``extraction``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Page:
    """One unit of extracted data: flat records for one raw table, and where they came from."""

    entity: str  # raw table name without schema, e.g. "shop_orders"
    records: list[dict[str, Any]]
    source_ref: str  # e.g. "GET /admin/api/2026-10/orders.json page 3" or "events_20240101.ndjson"
    meta: dict[str, Any] = field(default_factory=dict)

