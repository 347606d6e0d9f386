"""
### Activate stock and prices: listing feed → eBay, Amazon and the shop

List once, sync everywhere, withdraw at zero stock (or keep the listing alive at 0 where the marketplace's rule
says `zero_stock: keep_listed`: eBay's out-of-stock option). Runs every 10 minutes, and at once when dbt publishes a new
`marketplace_listing_feed` or a new ERP stock file lands. First rebuilds the feed together with every model it
reads (latest ERP snapshot, products, open orders of every channel, the marketplace seeds) and their
tests, so the push never republishes the stock of the last `transform`, and a failed build pushes nothing
(available = ERP on-hand − open orders, per-marketplace share/max/buffer, price rules). Then pushes only the
quantities and prices that changed: eBay `bulk_update_price_quantity` (withdraw/publish offers; a listing
back from 0 is read and relisted if eBay ended it), Amazon
`patchListingsItem` (or a JSON_LISTINGS_FEED for large changes), Shopify inventory levels.
Run conf `{"dry_run": true}` plans without sending; `{"confirm_removals": ["<sync_id>"]}` lets a sync withdraw
more than its `max_remove_share` of the listings (refused otherwise). An invalid sync YAML disables only its sync:
its mapped task fails at once naming the file and key (and alerts), the other stock pushes run.

The feed's dbt build writes the warehouse and runs in the one-slot `narrowcast_warehouse` pool. The syncs run side
by side outside it: each holds the warehouse only in short sessions, never while a marketplace paces it, and the
syncs of one connection (one seller account's rate budget) send one after another.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from narrowcast_airflow.assets import MART_ASSETS, raw_asset
from narrowcast_airflow.dbt_selections import INVENTORY_BUILD
from narrowcast_airflow.defaults import (
    RUN_DATE,
    WAREHOUSE_POOL,
    dbt_dates_env,
    dbt_env,
    default_args,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = Path(os.environ.get("NARROWCAST_DBT_PROJECT_DIR", PROJECT_ROOT / "dbt_project"))
DBT = Path(sys.executable).parent / "dbt"


@dag(
    dag_id="activate_inventory",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/10 * * * *", timezone="UTC"),
        assets=MART_ASSETS["marketplace_listing_feed"] | raw_asset("file_erp_stock"),
    ),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "activate", "marketplaces"],
    doc_md=__doc__,
)
def activate_inventory():
    refresh_feed = BashOperator(
        task_id="refresh_listing_feed",
        bash_command=(
            # The profile named as transform's dbt commands name it, so dbt reuses their saved parse.
            f"{DBT} build {' '.join(INVENTORY_BUILD)} --project-dir {DBT_DIR} --profiles-dir {DBT_DIR} --profile narrowcast"
            " --target ${NARROWCAST_DBT_TARGET:-${NARROWCAST_WAREHOUSE_ENGINE:-duckdb}}"
        ),
        env={**dbt_env(), **dbt_dates_env(RUN_DATE)},
        append_env=True,
        pool=WAREHOUSE_POOL,
    )

    @task
    def inventory_syncs() -> list[str]:
        from narrowcast_airflow.tasks import list_sync_ids

        return list_sync_ids("inventory")

    @task(map_index_template="{{ sync_id }}")
    def sync(sync_id: str, **context):
        from narrowcast_airflow.tasks import run_sync

        return run_sync(sync_id, context)

    syncs = inventory_syncs()
    refresh_feed >> syncs
    sync.expand(sync_id=syncs)


activate_inventory()
