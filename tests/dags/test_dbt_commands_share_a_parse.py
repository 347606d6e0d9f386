"""Every dbt command of the DAGs gets the same dates in its environment for the same run date, passes no vars, and
the demo parses with that environment, so each reuses the saved parse (dbt parses the whole project again whenever
its vars differ from the saved parse's, and only the files that read a changed environment variable otherwise)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import jinja2
from airflow.sdk.definitions._internal.templater import FILTERS
from airflow.sdk.execution_time.macros import ds_add
from build_mode import parse_dags_in_build_mode

from narrowcast import demo

ROOT = Path(__file__).resolve().parents[2]
PARSE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag("dags")
build = bag.dags["transform"].get_task("dbt_build")
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "build_vars": build.vars, "build_env": dict(build.env or {}),
                  "docs": bag.dags["transform"].get_task("generate_dbt_docs").bash_command,
                  "docs_env": dict(bag.dags["transform"].get_task("generate_dbt_docs").env or {}),
                  "refresh": bag.dags["activate_inventory"].get_task("refresh_listing_feed").bash_command,
                  "refresh_env": dict(bag.dags["activate_inventory"].get_task("refresh_listing_feed").env or {})}))
"""


def render(template: str, conf: dict, interval_end: datetime) -> str:
    # Airflow renders task templates with StrictUndefined and its own filters (``ds``) and macros (``ds_add``).
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    run = SimpleNamespace(conf=conf, run_after=datetime(2026, 12, 6, 3, 30, tzinfo=UTC))
    return env.from_string(template).render(dag_run=run, data_interval_end=interval_end, run_id="manual__probe",
                                            macros=SimpleNamespace(ds_add=ds_add))


def dates_of(env: dict[str, str], conf: dict, interval_end: datetime) -> dict[str, str]:
    from narrowcast_airflow.defaults import DBT_DATE_VARIABLES

    return {name: render(value, conf, interval_end) for name, value in env.items() if name in DBT_DATE_VARIABLES}


def test_the_demos_final_dbt_commands_get_the_dates_it_parsed_with_and_no_vars(tmp_path):
    parsed = parse_dags_in_build_mode(PARSE, tmp_path)

    end = date(2026, 11, 1)
    world = demo.WorldArgs(customers=50, days=92, start="2026-08-01", seed=1)
    assert world.end == end
    final_runs = {run["dag_id"]: run for run in demo.pipeline_plan(world)}
    interval_end = datetime.fromisoformat(final_runs["transform"]["logical_date"]).replace(tzinfo=UTC)
    parsed_with = demo.dbt_parse_env(end)
    assert parsed_with == {"NARROWCAST_AS_OF_DATE": "2026-11-01", "NARROWCAST_DATA_TESTS_SINCE_DATE": "2026-10-29",
                           "NARROWCAST_DBT_SCOPED_TESTS": "true"}

    transform_conf = final_runs["transform"]["conf"]
    assert dates_of(parsed["build_env"], transform_conf, interval_end) == parsed_with
    assert dates_of(parsed["docs_env"], transform_conf, interval_end) == parsed_with
    assert dates_of(parsed["refresh_env"], final_runs["activate_inventory"]["conf"], interval_end) == parsed_with
    # No vars: a var that changes from day to day would make dbt parse the whole project again.
    assert not parsed["build_vars"]
    assert "--vars" not in parsed["docs"] and "--vars" not in parsed["refresh"]
    # Cosmos runs the build in a copy of the project: dbt is pointed at the project's saved parse.
    assert parsed["build_env"]["DBT_PARTIAL_PARSE_FILE_PATH"] == str(ROOT / "dbt_project" / "target"
                                                                     / "partial_parse.msgpack")


def test_a_full_refresh_tests_every_row():
    from narrowcast_airflow.defaults import TRANSFORM_DATES_ENV

    dates = dates_of(TRANSFORM_DATES_ENV, {"full_refresh": True, "as_of_date": "2026-11-01"},
                     datetime(2026, 11, 1, tzinfo=UTC))
    assert dates == {"NARROWCAST_AS_OF_DATE": "2026-11-01", "NARROWCAST_DATA_TESTS_SINCE_DATE": "1900-01-01",
                     "NARROWCAST_DBT_SCOPED_TESTS": "false"}
