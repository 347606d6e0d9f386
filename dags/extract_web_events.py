"""
### Extract web events (GA4 BigQuery export files)

Reads every GA4 export file (`events_YYYYMMDD.ndjson` or `.parquet`) whose version (name + checksum, logged in
`meta.files`) has not loaded yet, whatever its day, so late and re-exported days load whenever they arrive;
validates them (known event names, no future timestamps, event name and timestamp present) and replaces each
file's own `event_date` in `raw.ga4_events`, `raw.ga4_event_params`, `raw.ga4_event_items`. The run's new files
(a backfill delivers many days) are gated and loaded together, one batch per table, each file logged and held to
the quarantine threshold on its own. A day whose export
is due but absent keeps its loaded events and raises a `missing_export` alert. A truncated or unparsable file
fails the task with its name and position, loads nothing of it, and is retried next run.

Emits the `raw.ga4_*` assets.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, task

from narrowcast_airflow.assets import raw_assets
from narrowcast_airflow.defaults import WAREHOUSE_POOL, default_args


@dag(
    dag_id="extract_web_events",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "extract", "ga4"],
    doc_md=__doc__,
)
def extract_web_events():
    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("ga4"))
    def extract_ga4(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("ga4", context)

    extract_ga4()


extract_web_events()
