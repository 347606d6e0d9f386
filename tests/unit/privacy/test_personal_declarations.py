"""The personal-data declarations the purge relies on are consistent with the tables that carry them."""

from __future__ import annotations

import pytest

from narrowcast.sources.registry import ENTITIES

DECLARING = [spec for spec in ENTITIES.values() if spec.personal]


def test_every_table_with_an_email_column_declares_it_personal():
    undeclared = [f"{s.name}.{c}" for s in ENTITIES.values() for c in s.columns
                  if "email" in c and c not in s.personal]
    assert undeclared == []


@pytest.mark.parametrize("spec", DECLARING, ids=[s.name for s in DECLARING])
def test_personal_columns_exist_are_not_keys_and_the_person_can_be_found(spec):
    assert set(spec.personal) <= set(spec.columns)
    # Blanking a key column would merge or lose rows; the erasure blanks values, never identities of rows.
    assert not set(spec.personal) & set(spec.key)
    assert spec.subject_email or spec.subject_id
    assert {c for c in (spec.subject_email, spec.subject_id) if c} <= set(spec.columns)
