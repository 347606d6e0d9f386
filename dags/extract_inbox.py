"""
### Load file drops from the inbox (orders export, ERP stock, budget plan, listings, privacy requests)

Every file in `$NARROWCAST_DATA_DIR/inbox` is loaded exactly once, recognised by name + SHA-256: a changed
file with the same name is a new version, loaded and logged in `meta.files`. A malformed file (schema drift,
truncation) fails the task naming the file and position and stays in the inbox. Only the tables that received
rows get an asset event (through the `raw-inbox` alias), so a run with an empty inbox triggers neither `transform`
nor activation; a new ERP stock file emits `raw.file_erp_stock`, which triggers the stock/price sync.
After every load, `purge_erased` erases each person with a `delete` privacy request
(`narrowcast privacy purge`), even when another file of the run failed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, task

from narrowcast_airflow.assets import raw_alias
from narrowcast_airflow.defaults import WAREHOUSE_POOL, default_args


@dag(
    dag_id="extract_inbox",
    schedule=CronDataIntervalTimetable("*/15 * * * *", timezone="UTC"),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "extract", "files"],
    doc_md=__doc__,
)
def extract_inbox():
    @task(pool=WAREHOUSE_POOL, outlets=[raw_alias("inbox")])
    def load_inbox(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("inbox", context, alias=raw_alias("inbox"))

    @task(pool=WAREHOUSE_POOL, trigger_rule="all_done")
    def purge_erased():
        from narrowcast.privacy_purge import run_purge

        run_purge()

    load_inbox() >> purge_erased()


extract_inbox()
