"""Shared pytest setup: the package is importable from include/ and telemetry is off."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from xdist_groups import work_group

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "include") not in sys.path:
    sys.path.insert(0, str(ROOT / "include"))

for key, value in {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}.items():
    os.environ.setdefault(key, value)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster per test session (started on first use); tests take a database each."""
    sys.path.insert(0, str(ROOT / "tests" / "dbt"))
    from dbt_postgres_cluster import throwaway_cluster

    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_database(postgres_server: Any) -> Callable[[str], Any]:
    """Make a new, empty database in the session's cluster: its connection settings (a ``Cluster``)."""
    made: set[str] = set()

    def make(name: str) -> Any:
        dbname = "".join(c if c.isalnum() else "_" for c in name.lower())[:40] + f"_{len(made)}"
        admin = dataclasses.replace(postgres_server, dbname="postgres").connect()
        try:
            admin.autocommit = True
            admin.cursor().execute(f'create database "{dbname}"')
        finally:
            admin.close()
        made.add(dbname)
        return dataclasses.replace(postgres_server, dbname=dbname)

    return make


# Under pytest-xdist (`scripts/test.sh` runs `-n 2 --dist loadscope`) each worker builds the session fixtures
# its tests need; the scheduler below keeps each group of xdist_groups.py on one worker. Workers know each test's
# fixtures, the scheduler only node ids: each worker writes the groups of what it collected to a file the
# scheduler reads once every worker has collected.
GROUPS_FILE = "narrowcast_test_groups"
groups_file_key = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and config.getoption("dist", "no") == "loadscope":
        config.stash[groups_file_key] = Path(tempfile.mkdtemp(prefix="narrowcast-test-groups-")) / "groups.json"


def pytest_unconfigure(config: pytest.Config) -> None:
    if groups_file_key in config.stash:
        shutil.rmtree(config.stash[groups_file_key].parent, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    if groups_file_key in node.config.stash:
        node.workerinput[GROUPS_FILE] = str(node.config.stash[groups_file_key])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if groups_file_key not in config.stash:
        return None
    from xdist.scheduler import LoadScopeScheduling

    groups_file = config.stash[groups_file_key]

    class GroupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                self.groups = json.loads(groups_file.read_text())
            return self.groups.get(nodeid) or work_group(nodeid, [])

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    target = getattr(config, "workerinput", {}).get(GROUPS_FILE)
    if target is None:
        return
    groups = {item.nodeid: work_group(item.nodeid, item.fixturenames) for item in items}
    partial = Path(f"{target}.{os.getpid()}")
    partial.write_text(json.dumps(groups))
    partial.replace(target)
