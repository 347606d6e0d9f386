"""Loads the project's DAG folder in a DagBag and prints what the policy tests check, as JSON.

Run in a subprocess with its own AIRFLOW_HOME so the tests never touch a real Airflow installation.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

dags_folder = Path(sys.argv[1])
started = time.monotonic()
bag = DagBag(dag_folder=str(dags_folder))
elapsed = time.monotonic() - started
out = {"import_errors": {k: str(v)[:2000] for k, v in bag.import_errors.items()}, "seconds": elapsed, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "fileloc": dag.fileloc,
        "tags": sorted(dag.tags or []),
        "doc_md": dag.doc_md or "",
        "max_active_runs": dag.max_active_runs,
        "tasks": [
            {
                "task_id": t.task_id,
                "retries": t.retries,
                "owner": t.owner,
                "pool": t.pool,
                "has_failure_callback": bool(getattr(t, "on_failure_callback", None)),
                "outlets": [{"type": type(o).__name__, "name": o.name} for o in (t.outlets or [])],
            }
            for t in dag.tasks
        ],
    }
print(json.dumps(out))
