"""In the default watcher mode the transform's dbt build is the producer task: it saves its manifest for the docs
step, as the one build task does in build mode (narrowcast_airflow.dbt_docs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARSE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag("dags/transform.py")
dag = bag.dags["transform"]
producer = next(t for t in dag.tasks if t.task_id.endswith("dbt_producer_watcher"))
others = [t.task_id for t in dag.tasks if getattr(t, "callback", None) and t is not producer]
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "producer": [producer.callback, producer.callback_args], "others": others}))
"""


def test_the_watcher_producer_saves_its_manifest_and_no_node_task_does(tmp_path):
    sys.path.insert(0, str(ROOT / "include"))
    from narrowcast.runtime import airflow_env

    env = airflow_env(airflow_home=tmp_path / "airflow", data_dir=tmp_path / "data")
    env.pop("NARROWCAST_DBT_EXECUTION_MODE", None)
    proc = subprocess.run([sys.executable, "-c", PARSE], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    callback, callback_args = parsed["producer"]
    assert callback == "narrowcast_airflow.dbt_docs.keep_build_manifest"
    assert callback_args["project_dir"] == str(ROOT / "dbt_project")
    # a node task that ran dbt for one node would save a manifest compiled for that node alone
    assert parsed["others"] == []
