"""
### Real-time abandoned checkouts → Klaviyo (every 2 minutes)

Loads the abandoned checkouts and orders changed since the last run (Shopify `abandonedCheckouts` and `orders`,
plus the landed `checkouts/*` and `orders/create` webhooks) into `raw.shop_abandoned_checkouts`,
`raw.shop_abandoned_checkout_lines` and `raw.shop_checkout_orders`, then sends one Klaviyo event (metric
"Checkout Abandoned") per checkout that has been quiet for an hour, was not recovered, has e-mail consent and is
not in the holdout, with its items, recovery URL and a unique discount code created in the shop (recorded in
`activation.discount_codes`). No dbt build: only the rows the trigger needs.

A schedule, not an asset watcher: Airflow 3.3's file triggers for `AssetWatcher` (`FileDeleteTrigger`,
`DirectoryFileDeleteTrigger`) delete the file they see, and the webhook inbox is never emptied; and a checkout
qualifies when an hour passes without a change, which no event announces. The interval bounds the delay from
qualifying to the event (at most ~2 minutes plus the run). Emits no asset, so it never starts the daily build.

Connections: `narrowcast_shopify`, `narrowcast_klaviyo` (the task skips without them). Settings:
`NARROWCAST_ABANDONED_CHECKOUT_QUIET_MINUTES` (60), `_METRIC`, `_MAX_AGE_HOURS` (48), `_CAMPAIGN`
(`abandoned_cart`, whose row in the `audiences` seed sets the discount).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronTriggerTimetable, dag, task

from narrowcast_airflow.defaults import WAREHOUSE_POOL, default_args


@dag(
    dag_id="realtime_abandoned_checkouts",
    schedule=CronTriggerTimetable("*/2 * * * *", timezone="UTC"),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "realtime", "shopify", "klaviyo"],
    doc_md=__doc__,
)
def realtime_abandoned_checkouts():
    @task(pool=WAREHOUSE_POOL)
    def send_abandoned_checkouts() -> dict:
        from narrowcast_airflow.realtime import run_abandoned_checkouts

        return run_abandoned_checkouts()

    send_abandoned_checkouts()


realtime_abandoned_checkouts()
