"""The seed ``audience_syncs``: which audience members each audience sync treats, for the uplift marts.

dbt cannot read the sync declarations, yet measuring a sync's uplift needs its treated and held-out groups: the
members of the audience(s) it sends, with the consent it requires, split by ``is_holdout``. This module writes
those facts from ``include/syncs/*.yml`` into ``dbt_project/seeds/audience_syncs.csv``; a unit test fails while the
file is stale. Run ``python -m narrowcast.activation.audience_syncs`` after adding or changing an audience sync.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterable

from narrowcast import settings
from narrowcast.activation.spec import SyncSpec, load_syncs

SEED_PATH = settings.PROJECT_ROOT / "dbt_project" / "seeds" / "audience_syncs.csv"
COLUMNS = ("sync_id", "destination", "audience_match", "audience_pattern", "consent_column", "excludes_holdout",
           "enabled")
CONSENT_COLUMNS = ("consent_email", "consent_ads")


class AudienceSyncError(ValueError):
    """An audience sync's filter cannot be expressed for the uplift marts; the message names the sync."""


def _row(spec: SyncSpec) -> dict[str, str]:
    audience = spec.filter.get("audience_id")
    if isinstance(audience, str):
        match, pattern = "exact", audience
    elif isinstance(audience, dict) and set(audience) == {"like"}:
        match, pattern = "like", str(audience["like"])
    else:
        raise AudienceSyncError(
            f"sync {spec.id}: filter audience_id must be one audience id or {{like: pattern}} to measure its uplift, "
            f"got {audience!r}")
    consents = [c for c in CONSENT_COLUMNS if spec.filter.get(c) is True]
    if len(consents) > 1:
        raise AudienceSyncError(f"sync {spec.id}: filters on both {consents}; one consent per sync")
    return {
        "sync_id": spec.id,
        "destination": spec.destination,
        "audience_match": match,
        "audience_pattern": pattern,
        "consent_column": consents[0] if consents else "none",
        "excludes_holdout": "true" if spec.filter.get("is_holdout") is False else "false",
        "enabled": "true" if spec.enabled else "false",
    }


def seed_rows(specs: Iterable[SyncSpec]) -> list[dict[str, str]]:
    """One row per sync that reads ``audience_members``, sorted by sync id."""
    return [_row(s) for s in sorted(specs, key=lambda s: s.id) if s.model == "audience_members"]


def render(specs: Iterable[SyncSpec]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(seed_rows(specs))
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the seed is stale instead of writing it")
    args = parser.parse_args(argv)
    wanted = render(load_syncs())
    current = SEED_PATH.read_text(encoding="utf-8") if SEED_PATH.exists() else ""
    if args.check:
        if current != wanted:
            print(f"{SEED_PATH} is stale: run python -m narrowcast.activation.audience_syncs", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        SEED_PATH.write_text(wanted, encoding="utf-8")
        print(f"wrote {SEED_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
