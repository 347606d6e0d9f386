"""Known treatment effects planted in the synthetic shop, so ``audience_uplift`` has a truth to recover.

The demo transforms once at the audience entry day (``entry_day``) and again at the end of the window: the first
run records who entered each audience then (``audience_membership_history``), the second measures their orders in
the 30 days after entry. The generator plants the effect of the geo-targeted Meta campaigns (sync ``geo_meta``,
audiences ``geo_<country>``): a treated member — in the country, consenting to ads, not held out — places one extra
web order in those 30 days with the country's planted probability; held-out members never do. One audience
(``NO_EFFECT_COUNTRY``) has none. Members of other audiences who are treated geo members carry the effect with them
(the holdout is per customer), so those audiences show a diluted share of it, as docs/uplift.md describes.
"""

from __future__ import annotations

import hashlib

import numpy as np

# Mirrors of dbt_project.yml vars holdout_share, holdout_salt and uplift_window_days (a test keeps them equal).
HOLDOUT_SHARE = 0.1
HOLDOUT_SALT = "narrowcast-holdout-v1"
UPLIFT_WINDOW_DAYS = 30
# Days before the end of the window the demo records audience membership: the 30-day outcome window fits after it.
ENTRY_DAYS_BEFORE_END = 40
# Probability of one extra order in the outcome window for a treated member, per customer country.
PLANTED_EXTRA_ORDER = {"DE": 0.15, "FR": 0.25}
NO_EFFECT_COUNTRY = "NL"


def entry_day(days: int) -> int | None:
    """Day index (from the window start) membership is recorded on, or None when the window is too short."""
    day = days - ENTRY_DAYS_BEFORE_END
    return day if day >= 7 else None


def is_holdout(customer_ids: np.ndarray) -> np.ndarray:
    """audience_members.is_holdout: the first 8 hex digits of md5(customer_id || salt) mod 10,000 below the share
    (dbt's ``hash`` is md5 on DuckDB and PostgreSQL; see macros/hash_bucket.sql)."""
    threshold = int(HOLDOUT_SHARE * 10_000)
    return np.array([int(hashlib.md5(f"{c}{HOLDOUT_SALT}".encode()).hexdigest()[:8], 16) % 10_000 < threshold
                     for c in customer_ids], dtype=bool)


def treated_geo_members(customer_ids: np.ndarray, country_codes: np.ndarray, consent_ads: np.ndarray,
                        is_test: np.ndarray) -> np.ndarray:
    """Planted probability of an extra order per customer (0 for held-out, unconsented or unplanted ones)."""
    p = np.array([PLANTED_EXTRA_ORDER.get(c, 0.0) for c in country_codes]) * (consent_ads & ~is_test)
    candidates = np.flatnonzero(p > 0)  # hash only those who could be treated
    p[candidates[is_holdout(customer_ids[candidates])]] = 0.0
    return p


def planted_orders(rng: np.random.Generator, probability: np.ndarray, created_at: np.ndarray, start_s: int,
                   end_s: int) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, created_at) of the extra orders: strictly after the entry day and within the window
    (outcome days entered_on + 1 .. entered_on + UPLIFT_WINDOW_DAYS), never before the customer existed."""
    day = entry_day(int((end_s - start_s) // 86400))
    if day is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # Three hours inside the outcome days either side, so a shop time zone never moves an order out of them.
    first = start_s + (day + 1) * 86400 + 3 * 3600
    last = min(start_s + (day + 1 + UPLIFT_WINDOW_DAYS) * 86400, end_s) - 3 * 3600
    who = np.flatnonzero((rng.random(len(probability)) < probability) & (created_at + 3600 < last))
    lo = np.maximum(first, created_at[who] + 3600)
    when = lo + (rng.random(len(who)) * (last - lo)).astype(np.int64)
    return who.astype(np.int64), when
