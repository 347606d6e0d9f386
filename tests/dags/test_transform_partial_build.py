"""A transform run may build part of the dbt project (run conf ``build``): only as one dbt build task, and such a
run publishes nothing (no mart asset event, no docs, no profile snapshot)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from narrowcast_airflow.dbt_selections import (
    PARTIAL_BUILDS,
    partial_build,
    refuse_partial_build,
    select_partial_build,
    unpublished_reason,
)


def _context(conf: dict) -> dict:
    return {"dag_run": SimpleNamespace(conf=conf), "task": SimpleNamespace(dbt_cmd_flags=["--fail-fast"])}


def test_the_audience_history_build_selects_the_membership_history_with_its_parents_and_no_tests() -> None:
    context = _context({"as_of_date": "2026-09-22", "build": "audience_history"})
    select_partial_build(context)
    assert context["task"].dbt_cmd_flags == ["--fail-fast", "--select", "+audience_membership_history",
                                             "--indirect-selection", "empty"]
    assert PARTIAL_BUILDS["audience_history"] == tuple(context["task"].dbt_cmd_flags[1:])


def test_a_run_without_a_partial_build_builds_everything_and_publishes() -> None:
    context = _context({"as_of_date": "2026-11-01"})
    select_partial_build(context)
    refuse_partial_build(context)
    assert context["task"].dbt_cmd_flags == ["--fail-fast"]
    assert unpublished_reason({"as_of_date": "2026-11-01"}) is None and unpublished_reason(None) is None


def test_a_partial_build_publishes_nothing() -> None:
    assert "nothing is published" in unpublished_reason({"build": "audience_history"})


def test_an_unknown_partial_build_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"build='everything_fast' is not a partial build; known: audience_history"):
        partial_build({"build": "everything_fast"})


def test_a_transform_with_a_task_per_node_refuses_a_partial_build_before_building() -> None:
    with pytest.raises(ValueError, match="needs NARROWCAST_DBT_EXECUTION_MODE=build"):
        refuse_partial_build(_context({"build": "audience_history"}))
