"""The Celery configuration of Narrowcast's CeleryExecutor: Airflow's default plus the task preload.

``[celery] celery_config_options`` names :data:`CELERY_CONFIG`. Celery imports the modules listed in ``imports``
when a worker starts, before the prefork pool forks its processes, so every task process a pool process forks
inherits :mod:`narrowcast_airflow.worker_preload`. The scheduler builds its Celery app from the same dictionary
but never imports ``imports``: only a worker does.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {
    **DEFAULT_CELERY_CONFIG,
    "imports": (*DEFAULT_CELERY_CONFIG.get("imports", ()), "narrowcast_airflow.worker_preload"),
}
