"""Run as a script by ``test_worker_preload.py``; prints, as one JSON line, what each process found imported.

``local``: as ``airflow scheduler`` starts, it applies its multiprocessing settings (``set_component_mp_start_method``),
then its LocalExecutor starts each worker as a ``multiprocessing.Process``; the worker's supervisor starts each task
with ``os.fork``. Done here with Airflow's own functions: the scheduler's, the worker's and the task's view.

``celery``: the CeleryExecutor's app as the scheduler builds it, then a worker as ``airflow celery worker`` builds
it (Celery's ``WorkController``), before its pool starts.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys

HEAVY = ("great_expectations", "pandas", "pyarrow", "duckdb", "narrowcast.extract")


def imported() -> dict[str, object]:
    """Looked up before anything is imported here, so only what this process inherited counts."""
    found: dict[str, object] = {name: name in sys.modules for name in HEAVY}
    expectations = sys.modules.get("narrowcast.quality.expectations")
    found["gate_context_built"] = bool(expectations and expectations._batch_definition.cache_info().currsize)
    return found


def worker(results: multiprocessing.SimpleQueue) -> None:
    read, write = os.pipe()
    pid = os.fork()  # as the task supervisor starts a task process
    if pid == 0:
        os.write(write, json.dumps(imported()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    results.put({"worker": imported(), "task": json.loads(os.read(read, 65536))})


def local_executor() -> dict[str, object]:
    from airflow.executors.local_executor import LocalExecutor
    from airflow.utils.process_utils import resolve_mp_start_method, set_component_mp_start_method

    set_component_mp_start_method("scheduler")
    executor = LocalExecutor(parallelism=1)
    results: multiprocessing.SimpleQueue = multiprocessing.SimpleQueue()
    process = multiprocessing.Process(target=worker, args=(results,))
    process.start()
    seen = results.get()
    process.join()
    return {
        **seen,
        "scheduler": imported(),
        "executor_forks_workers": executor.is_mp_using_fork,
        "start_method": {c: resolve_mp_start_method(c) for c in ("scheduler", "dag_processor", "triggerer")},
    }


def celery_worker() -> dict[str, object]:
    from airflow.providers.celery.executors.celery_executor import app

    scheduler = imported()
    worker = app.WorkController(pool_cls="prefork", concurrency=1, hostname="probe@localhost")
    return {"scheduler": scheduler, "worker": imported(), "pool_started": getattr(worker.pool, "_pool", None) is not None}


if __name__ == "__main__":
    print(json.dumps(local_executor() if sys.argv[1] == "local" else celery_worker()))
