"""The shipped lines of one marketplace shipment as the ``marketplace_shipments`` mart hands them over.

The mart sends ``line_items`` as a JSON array of ``{"line_item_id", "quantity"}`` (the marketplace's own line
ids); the warehouse may deliver it as text or as a decoded list. Each marketplace destination renames the id to
its API's field (eBay ``lineItemId``, Amazon ``orderItemId``).
"""

from __future__ import annotations

import json
from typing import Any


def shipped_lines(value: Any, id_field: str) -> list[dict[str, Any]]:
    """``value`` as the API's line list: ``[{id_field: "<line id>", "quantity": <int>}]``."""
    lines = json.loads(value) if isinstance(value, str) else list(value or [])
    return [{id_field: str(line["line_item_id"]), "quantity": int(line["quantity"])} for line in lines]
