"""The deterministic holdout of ``audience_members.is_holdout``, computed outside dbt for the real-time path.

Same rule as the dbt macro ``hash_bucket``: the first 8 hex digits of MD5(customer key || salt) as an integer,
modulo 10,000, held out when below share × 10,000. Share and salt are the dbt vars ``holdout_share`` and
``holdout_salt``, read from ``dbt_project.yml`` so the two never drift apart; a customer held out of the daily
abandoned-cart audience is held out of the real-time one too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from narrowcast import settings

BUCKETS = 10_000


@dataclass(frozen=True)
class Holdout:
    share: float
    salt: str

    def holds_out(self, customer_key: str) -> bool:
        bucket = int(hashlib.md5((customer_key + self.salt).encode()).hexdigest()[:8], 16) % BUCKETS
        return bucket < int(self.share * BUCKETS)


def project_holdout(dbt_project: Path | None = None) -> Holdout:
    """The holdout the dbt project declares (vars ``holdout_share``, ``holdout_salt``)."""
    path = (dbt_project or settings.PROJECT_ROOT / "dbt_project") / "dbt_project.yml"
    variables = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {}
    return Holdout(float(variables["holdout_share"]), str(variables["holdout_salt"]))
