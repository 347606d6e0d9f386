"""Every audience sync leaves the holdout out, and the seed the uplift marts read matches the declarations.

GIVEN the sync declarations, THEN each sync of audience_members or partner_audience_members filters
``is_holdout: false`` (else its held-out members would be sent and the control group would be treated too), and
``dbt_project/seeds/audience_syncs.csv`` is exactly what ``python -m narrowcast.activation.audience_syncs`` writes from them.
"""

from __future__ import annotations

import pytest

from narrowcast.activation import audience_syncs
from narrowcast.activation.spec import load_syncs, parse_sync


def test_every_audience_sync_excludes_the_holdout() -> None:
    audience = [s for s in load_syncs() if s.model in ("audience_members", "partner_audience_members")]
    assert {s.model for s in audience} == {"audience_members", "partner_audience_members"}
    assert [s.id for s in audience if s.filter.get("is_holdout") is not False] == []


def test_the_audience_syncs_seed_is_current() -> None:
    assert audience_syncs.SEED_PATH.read_text(encoding="utf-8") == audience_syncs.render(load_syncs()), (
        "run python -m narrowcast.activation.audience_syncs")


def _sync(filter_: dict) -> dict:
    return {"id": "probe", "description": "d", "model": "audience_members", "destination": "klaviyo",
            "connection": "narrowcast_klaviyo", "object": "list_members", "target": {"list_id": "L"},
            "mode": "mirror", "key": "customer_id", "fields": {"email": "email", "external_id": "customer_id"}, "pii": ["email"],
            "schedule": "audiences", "filter": filter_}


def test_seed_rows_name_the_audience_pattern_and_consent() -> None:
    like = parse_sync(_sync({"audience_id": {"like": "geo_%"}, "consent_email": True, "is_holdout": False}))
    exact = parse_sync(_sync({"audience_id": "lapsed", "is_holdout": False}))
    rows = {r["audience_match"]: r for r in audience_syncs.seed_rows([like, exact])}
    assert (rows["like"]["audience_pattern"], rows["like"]["consent_column"]) == ("geo_%", "consent_email")
    assert (rows["exact"]["audience_pattern"], rows["exact"]["consent_column"]) == ("lapsed", "none")


def test_a_filter_the_uplift_marts_cannot_express_is_a_clear_error() -> None:
    spec = parse_sync(_sync({"audience_id": ["a", "b"], "is_holdout": False}))
    with pytest.raises(audience_syncs.AudienceSyncError, match="sync probe: filter audience_id"):
        audience_syncs.seed_rows([spec])
