"""
### Transform: the dbt project (staging → intermediate → marts), rendered by Cosmos

Runs when any raw dataset is updated. Cosmos renders every dbt model, seed and test as an Airflow task from the
manifest produced at setup (`make manifest`, `LoadMode.DBT_MANIFEST`: no `dbt ls` at parse time). dbt writes the
DuckDB warehouse, so the dbt tasks run in the one-slot `narrowcast_warehouse` pool.

Run conf: `{"as_of_date": "2026-10-31"}` pins the date RFM recency and segment windows are computed at
(default: the data interval end; for an asset-triggered run, the day it runs). `{"full_refresh": true}` rebuilds
incremental models from scratch and tests every row (a daily run tests the large incremental models' rebuilt days
only). `{"build": "audience_history"}` (one-task build mode) builds part of the project and publishes nothing
(`narrowcast_airflow.dbt_selections`).

The mart assets are published only when every model and test succeeded, so activation never runs after a
failed dbt build; then the analysts' map is refreshed (Docs → dbt docs in this UI: the manifest the build wrote,
compiled SQL included, with a catalog read afresh; `narrowcast_airflow.dbt_docs`) and the profile read API's
snapshot is exported (docs/serve.md).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from narrowcast_airflow.assets import ALL_RAW_ASSETS, MART_ASSETS
from narrowcast_airflow.dbt_docs import docs_bash_command, keep_build_manifest_args
from narrowcast_airflow.dbt_selections import refuse_partial_build, select_partial_build, unpublished_reason
from narrowcast_airflow.defaults import TRANSFORM_DATES_ENV, WAREHOUSE_POOL, dbt_env, default_args

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = Path(os.environ.get("NARROWCAST_DBT_PROJECT_DIR", PROJECT_ROOT / "dbt_project"))
# The dbt target follows the warehouse engine unless set on its own.
DBT_TARGET = os.environ.get("NARROWCAST_DBT_TARGET") or os.environ.get("NARROWCAST_WAREHOUSE_ENGINE") or "duckdb"
DBT_BIN = Path(sys.executable).parent / "dbt"
SAVED_PARSE = DBT_DIR / "target" / "partial_parse.msgpack"
# watcher: one `dbt build` process reports each node to its task (fast, one DuckDB writer);
# local: one dbt process per node, serialised by the one-slot pool;
# build: one task runs `dbt build` (no task per node: for executors that start a process per task, such as
# Celery workers, where a few hundred node tasks cost more than the build). Chosen by
# NARROWCAST_DBT_EXECUTION_MODE (.env.example).
ONE_BUILD_TASK = os.environ.get("NARROWCAST_DBT_EXECUTION_MODE", "watcher") == "build"
EXECUTION_MODE = ExecutionMode(
    "local" if ONE_BUILD_TASK else os.environ.get("NARROWCAST_DBT_EXECUTION_MODE", "watcher"))


def _any(assets):
    schedule = assets[0]
    for asset in assets[1:]:
        schedule = schedule | asset
    return schedule


@dag(
    dag_id="transform",
    schedule=_any(ALL_RAW_ASSETS),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "transform", "dbt"],
    doc_md=__doc__,
)
def transform():
    profile_config = ProfileConfig(profile_name="narrowcast", target_name=DBT_TARGET,
                                   profiles_yml_filepath=DBT_DIR / "profiles.yml")
    operator_args = {
        "pool": WAREHOUSE_POOL,
        "full_refresh": "{{ dag_run.conf.get('full_refresh', False) }}",
        "install_deps": False,
        "pre_execute": select_partial_build if ONE_BUILD_TASK else refuse_partial_build,
    }
    keep_manifest = keep_build_manifest_args(DBT_DIR)  # the build's manifest, for the docs step
    if ONE_BUILD_TASK:
        from cosmos.operators.local import DbtBuildLocalOperator

        dbt = DbtBuildLocalOperator(
            task_id="dbt_build",
            project_dir=str(DBT_DIR),
            profile_config=profile_config,
            # dbt runs in a copy of the project: it reads the project's saved parse, which a new day's dates (in the
            # environment, read only when dbt executes) leave valid.
            env={**dbt_env(), **TRANSFORM_DATES_ENV, "DBT_PARTIAL_PARSE_FILE_PATH": str(SAVED_PARSE)},
            append_env=True,
            # A dbt subprocess releases the DuckDB file when it exits; in-process dbt-duckdb keeps it open.
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(DBT_BIN),
            **operator_args,
            **keep_manifest,
        )
    else:
        dbt = DbtTaskGroup(
            group_id="dbt",
            project_config=ProjectConfig(dbt_project_path=DBT_DIR, manifest_path=DBT_DIR / "target" / "manifest.json",
                                         env_vars={**dbt_env(), **TRANSFORM_DATES_ENV}),
            profile_config=profile_config,
            execution_config=ExecutionConfig(
                execution_mode=EXECUTION_MODE,
                # A dbt subprocess releases the DuckDB file when it exits; in-process dbt-duckdb keeps it open.
                invocation_mode=InvocationMode.SUBPROCESS,
                dbt_executable_path=str(DBT_BIN),
            ),
            render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_EACH,
                                       exclude=["path:models/exposures"]),
            operator_args=operator_args,
        )

    @task(outlets=list(MART_ASSETS.values()))
    def publish_marts(dag_run=None) -> list[str]:
        """Marks every mart asset updated (only reached when all dbt models and tests passed)."""
        if reason := unpublished_reason(dag_run.conf):
            raise AirflowSkipException(reason)  # so are the docs and the profile snapshot after it
        return sorted(MART_ASSETS)

    docs = BashOperator(
        task_id="generate_dbt_docs",
        bash_command=docs_bash_command(DBT_BIN, DBT_DIR, DBT_TARGET),
        env={**dbt_env(), **TRANSFORM_DATES_ENV},
        append_env=True,
        pool=WAREHOUSE_POOL,
    )

    if not ONE_BUILD_TASK and EXECUTION_MODE == ExecutionMode.WATCHER:
        # Node tasks read the producer's per-node results. Ordering them after it keeps the one DuckDB writer
        # alone and lets sequential runners (`airflow dags test`) run the producer first.
        producer = next(t for t in dbt.get_roots() if t.task_id.endswith("dbt_producer_watcher"))
        producer.callback, producer.callback_args = keep_manifest["callback"], keep_manifest["callback_args"]
        for root in dbt.get_roots():
            if root is not producer:
                producer >> root

    @task(pool=WAREHOUSE_POOL)
    def export_profile_snapshot() -> int:
        """Refreshes the read-only snapshot the profile read API answers from (`narrowcast serve profiles`)."""
        from narrowcast.serve.profile_snapshot import export_from_warehouse

        return export_from_warehouse()

    dbt >> publish_marts() >> [docs, export_profile_snapshot()]


transform()
