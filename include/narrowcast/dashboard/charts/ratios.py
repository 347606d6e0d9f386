"""The dashboard's ratios, recomputed from summed components of the bucket shown.

A week's ROAS is revenue / spend of that week, never an average of daily ratios.
"""

from __future__ import annotations

from typing import Any


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` to four places, or ``None`` where either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def add_ratios(row: dict[str, Any], revenue: float | None, gross_margin: float | None,
               new_customers: int | None) -> None:
    """ROAS, ROI, CAC and AOV of a row holding ``spend``, ``revenue`` and ``orders``."""
    spend = row["spend"]
    row["roas"] = ratio(revenue, spend)
    row["roi"] = ratio(None if gross_margin is None else gross_margin - (spend or 0), spend)
    # Unpaid channels acquire customers without spend: no CAC rather than a misleading 0.
    row["cac"] = ratio(spend, new_customers) if spend else None
    row["aov"] = ratio(row["revenue"], row["orders"])
