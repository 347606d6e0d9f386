"""``NARROWCAST_DBT_EXECUTION_MODE=build``: the transform DAG runs the whole dbt build as one warehouse-pool task."""

from __future__ import annotations

from build_mode import ROOT, parse_dags_in_build_mode

PARSE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag("dags/transform.py")
dag = bag.dags.get("transform")
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "tasks": {t.task_id: [t.pool, sorted(t.downstream_task_ids)] for t in dag.tasks} if dag else {},
                  "hook": getattr(dag.get_task("dbt_build")._pre_execute_hook, "__name__", None) if dag else None,
                  "callback": [dag.get_task("dbt_build").callback, dag.get_task("dbt_build").callback_args]
                  if dag else None,
                  "docs": dag.get_task("generate_dbt_docs").bash_command if dag else None}))
"""


def test_build_mode_renders_one_dbt_task_ahead_of_the_mart_assets(tmp_path):
    parsed = parse_dags_in_build_mode(PARSE, tmp_path)
    assert parsed["tasks"]["dbt_build"] == ["narrowcast_warehouse", ["publish_marts"]]
    assert set(parsed["tasks"]) == {"dbt_build", "publish_marts", "generate_dbt_docs", "export_profile_snapshot"}
    # a run conf `build` (the demo's audience-entry day) narrows that one task's dbt build
    assert parsed["hook"] == "select_partial_build"


def test_the_build_saves_its_manifest_and_the_docs_step_reuses_it_for_the_same_run(tmp_path):
    parsed = parse_dags_in_build_mode(PARSE, tmp_path)
    callback, callback_args = parsed["callback"]
    # Cosmos calls it with its copy of the project after the build (narrowcast_airflow.dbt_docs)
    assert callback == "narrowcast_airflow.dbt_docs.keep_build_manifest"
    assert callback_args == {"project_dir": str(ROOT / "dbt_project")}
    # the docs step looks for the manifest of its own run
    assert "-m narrowcast_airflow.dbt_docs " in parsed["docs"]
    assert "--run-id '{{ run_id }}'" in parsed["docs"]
