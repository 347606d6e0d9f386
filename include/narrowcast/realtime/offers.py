"""The discount a campaign's unique codes give, as the analysts set it in the ``audiences`` seed.

Columns ``discount_value_type`` ('percentage' | 'fixed_amount'), ``discount_value`` (10 = 10 % or 10.00 off),
``discount_valid_days`` (days after the issue day) and ``discount_usage_limit`` (redemptions per code) of the
campaign's row (its ``audience_id``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from narrowcast import settings

VALUE_TYPES = ("percentage", "fixed_amount")


@dataclass(frozen=True)
class Offer:
    campaign: str
    value_type: str
    value: Decimal
    valid_days: int
    usage_limit: int


def campaign_offer(campaign: str, seed: Path | None = None) -> Offer:
    """The offer of ``campaign``; a campaign without one is a configuration error (no code, no reminder)."""
    path = seed or settings.PROJECT_ROOT / "dbt_project" / "seeds" / "audiences.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        row = next((r for r in csv.DictReader(handle) if r["audience_id"] == campaign), None)
    if row is None or not row.get("discount_value_type"):
        raise settings.ConfigError(f"audience {campaign!r} has no unique-code discount in {path.name} "
                                   "(discount_value_type, discount_value, discount_valid_days, discount_usage_limit)")
    if row["discount_value_type"] not in VALUE_TYPES:
        raise settings.ConfigError(f"audience {campaign!r}: discount_value_type must be one of {', '.join(VALUE_TYPES)}")
    return Offer(campaign, row["discount_value_type"], Decimal(row["discount_value"]),
                 int(row["discount_valid_days"]), int(row["discount_usage_limit"]))
