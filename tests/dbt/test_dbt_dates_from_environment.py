"""A DAG's dbt command gets its run dates in the environment (``narrowcast_airflow.defaults.dbt_dates_env``), not as
dbt vars, so the next day's command re-parses only the files that read them. What the dates drive at run time
must still follow the environment after a parse made with other dates: the reference date of the marts and the
window of the scoped data tests, both read only when dbt executes (so a change of either re-parses nothing)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from dbt_invocation import PROJECT_DIR

DBT = Path(sys.executable).with_name("dbt")
SCOPED_TEST = "unique_stg_shop__orders_order_id"


def _dbt(project: Path, args: list[str], dates: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NARROWCAST_")}
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1", "NARROWCAST_DBT_TARGET": "duckdb",
                "NARROWCAST_WAREHOUSE": str(project / "warehouse.duckdb"), **dates})
    done = subprocess.run([str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def _compiled(project: Path, name: str) -> str:
    return next((project / "target" / "compiled").rglob(f"{name}*.sql")).read_text()


def _dates(as_of: str, since: str) -> dict[str, str]:
    return {"NARROWCAST_AS_OF_DATE": as_of, "NARROWCAST_DATA_TESTS_SINCE_DATE": since,
            "NARROWCAST_DBT_SCOPED_TESTS": "true"}


def test_a_days_dates_reach_the_sql_after_a_partial_parse_made_on_another_day(tmp_path: Path) -> None:
    # GIVEN the project parsed with one day's dates, as the demo's set-up and each day's first command parse it
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    _dbt(project, ["parse"], _dates("2026-11-01", "2026-10-29"))
    # (a daily run leaves the tests of the project's own lists out: dbt_project.yml, data_tests: project_lists)
    nodes = json.loads((project / "target" / "manifest.json").read_text())["nodes"].values()
    assert not [n for n in nodes if n["resource_type"] == "test" and n["fqn"][1] == "project_lists"]

    # WHEN the next command runs with another day's dates
    out = _dbt(project, ["compile", "--select", "customer_rfm", SCOPED_TEST], _dates("2026-09-22", "2026-09-19"))

    # THEN dbt did not parse the project again, and the SQL holds the new day's dates
    assert "Unable to do partial parsing" not in out, out[-3000:]
    assert "cast('2026-09-22' as date)" in _compiled(project, "customer_rfm")
    assert "'2026-11-01'" not in _compiled(project, "customer_rfm")
    assert re.search(r"loaded_at >= '2026-09-19'", _compiled(project, SCOPED_TEST))

    # WHEN a person passes the date as a var (the command line the README shows), THEN the var wins
    _dbt(project, ["compile", "--select", "customer_rfm", "--vars", "{as_of_date: '2026-08-15'}"],
         _dates("2026-09-22", "2026-09-19"))
    assert "cast('2026-08-15' as date)" in _compiled(project, "customer_rfm")
