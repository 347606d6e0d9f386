"""The run date the transform and stock-feed dbt builds pass as ``as_of_date``, rendered as Airflow renders it."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import jinja2
import pytest
from airflow.sdk.definitions._internal.templater import FILTERS

from narrowcast_airflow.defaults import RUN_DATE, TRANSFORM_DATES_ENV

RUN_AFTER = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)
INTERVAL_END = datetime(2026, 9, 5, tzinfo=UTC)


def render(**context: object) -> str:
    # Airflow renders task templates with StrictUndefined: a name missing from the context is an error.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    return env.from_string("{{ " + RUN_DATE + " }}").render(dag_run=SimpleNamespace(run_after=RUN_AFTER), **context)


@pytest.mark.parametrize("context, expected", [
    pytest.param({"data_interval_end": INTERVAL_END}, "2026-09-05", id="a scheduled run uses its interval end"),
    pytest.param({}, "2026-12-06", id="an asset-triggered run without an interval uses the day it runs"),
    pytest.param({"data_interval_end": None}, "2026-12-06", id="a run with an empty interval uses the day it runs"),
])
def test_the_run_date_renders_for_every_kind_of_run(context, expected):
    assert render(**context) == expected


def test_a_bare_interval_end_fails_in_a_run_without_one():
    # What the expression replaces: the strict templates reject it in an asset-triggered run.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ data_interval_end | ds }}").render()


@pytest.mark.parametrize("conf, expected", [
    pytest.param({}, "2026-09-02", id="a daily run tests the rows since its first rebuilt day"),
    pytest.param({"as_of_date": "2026-10-31"}, "2026-10-28", id="a run pinned to a date tests from three days before it"),
    pytest.param({"full_refresh": True}, "1900-01-01", id="a full refresh tests every row"),
])
def test_the_transform_passes_the_data_test_window_of_its_kind_of_run(conf, expected):
    # NARROWCAST_DATA_TESTS_SINCE_DATE: the scoped data tests read rows on or after it (docs/scaling.md).
    from airflow.sdk.execution_time import macros

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    rendered = env.from_string(TRANSFORM_DATES_ENV["NARROWCAST_DATA_TESTS_SINCE_DATE"]).render(
        dag_run=SimpleNamespace(run_after=RUN_AFTER, conf=conf), data_interval_end=INTERVAL_END, macros=macros)
    assert rendered == expected
