"""What an extract task needs, imported by an Airflow executor worker once, before it forks task processes.

Airflow 3 starts every task by forking a long-lived worker process: a LocalExecutor worker (a child of the
scheduler) or a Celery pool process (a child of ``airflow celery worker``). Whatever the worker imported before
it forks, each task process inherits copy-on-write. Importing this module there gives every task Great
Expectations with the quality gate's context built and warmed by a first validation, DuckDB's pandas
conversion warmed (:func:`narrowcast.extract.prepare`), pandas, pyarrow, DuckDB and the extract runner, instead of each task importing them again (about 3 CPU seconds).

How a deployment imports it (:data:`narrowcast.runtime.LOCAL_EXECUTOR_PRELOAD`,
:data:`narrowcast.runtime.CELERY_WORKER_PRELOAD`; ``docs/scaling.md``):

- LocalExecutor: ``[scheduler] mp_start_method = forkserver`` and ``[scheduler] mp_forkserver_preload``
  naming this module. The scheduler then starts its executor workers from a forkserver process that imported
  this module first; the scheduler process itself imports nothing more.
- CeleryExecutor: ``[celery] celery_config_options`` pointing at
  :data:`narrowcast_airflow.celery_config.CELERY_CONFIG`, whose Celery ``imports`` names this module, which
  ``airflow celery worker`` imports before it starts its pool. The scheduler reads the same configuration but
  imports nothing from it (Celery imports ``imports`` only in a worker).

The api-server, dag-processor and triggerer never read either setting.
"""

from __future__ import annotations

import logging

import duckdb  # noqa: F401 - imported for the task processes forked after this
import pandas  # noqa: F401
import pyarrow  # noqa: F401
import pyarrow.parquet  # noqa: F401

from narrowcast.extract import prepare

# GX logs each public function it registers at import, at INFO; a Celery worker has set up INFO logging by now.
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
prepare()
