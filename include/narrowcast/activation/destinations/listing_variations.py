"""A variant row's variation aspects as the listing marts hand them over, checked against a marketplace's limit.

The mart sends ``varies_by`` (the aspects a product's variants differ in) and ``aspects`` (this variant's values)
as JSON objects; the warehouse may deliver them as text or decoded. Etsy and the shop each take a limited number of
variation properties or options, so a product varying by more is refused before any call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def json_object(value: Any, name: str) -> dict[str, Any]:
    """``value`` (JSON text or an already decoded object) as a dict; empty for NULL or ''."""
    if value in (None, ""):
        return {}
    decoded = json.loads(value) if isinstance(value, str) else value
    if not isinstance(decoded, dict):
        raise ValueError(f"{name} is not a JSON object: {str(value)[:80]}")
    return decoded


def variation_aspects(payload: Mapping[str, Any], *, marketplace: str, limit: int,
                      limit_text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(varies_by, aspects) of a variant row; raises when it varies by nothing or by more than ``limit`` aspects
    (``limit_text`` says the marketplace's rule, e.g. "Etsy takes at most 2 variation properties")."""
    varies_by = json_object(payload.get("varies_by"), "varies_by")
    aspects = json_object(payload.get("aspects"), "aspects")
    if not varies_by:
        raise ValueError(f"its variants differ in no aspect the catalogue maps for {marketplace} (varies_by is empty)")
    if len(varies_by) > limit:
        raise ValueError(f"varies by {len(varies_by)} aspects ({', '.join(sorted(varies_by))}); {limit_text}")
    return varies_by, aspects
