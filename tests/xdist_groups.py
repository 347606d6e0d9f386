"""Which tests run together on one pytest-xdist worker (``scripts/test.sh`` runs two; tests/conftest.py schedules).

Each worker builds the session fixtures its tests need, so every test of an expensive session fixture goes to one
worker and the fixture is built once; every other test module goes whole to one worker (its module fixtures built
once too):
- the dbt fixture warehouse (a ``dbt build`` of tests/dbt/dbt_fixture_warehouse.py);
- the DAG folder: the e2e tests of the ``pipeline`` fixture (the demo, then Airflow on its data) rewrite
  dbt_project/target/manifest.json while the DAG tests parse the folder (the transform DAG reads that manifest),
  so they share one worker. Other e2e modules (own data dir, own dbt target, no Airflow) run as modules.
"""

from __future__ import annotations

# Fixture (a test's whole fixture closure counts) -> group; checked in this order.
HEAVY_FIXTURE_GROUPS = {"built_warehouse": "dbt-fixture-warehouse", "pipeline": "dag-folder"}
PATH_GROUPS = {"tests/dags/": "dag-folder"}


def work_group(nodeid: str, fixturenames: list[str]) -> str:
    """The unit of work a test belongs to: its heavy fixture's group, its folder's, else its module."""
    for fixture, group in HEAVY_FIXTURE_GROUPS.items():
        if fixture in fixturenames:
            return group
    for prefix, group in PATH_GROUPS.items():
        if nodeid.startswith(prefix):
            return group
    return nodeid.split("::", 1)[0]
