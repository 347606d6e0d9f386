"""
### Extract the shop: orders, customers, products (Shopify Admin REST)

Pulls records updated since the stored watermark up to the data interval's end (Shopify `updated_at_min/max`;
after downtime the gap is read in windows of at most a day, each advancing the watermark), lands them as
Parquet, validates them with the Great Expectations quality gate (bad rows go to `meta.quarantine`) and merges
them into `raw.shop_*` on their ids — re-running an interval changes nothing. Backfill with
`airflow backfill create --dag-id extract_shop --from-date ... --to-date ...`, or trigger with run conf
`{"start": "2026-08-01", "end": "2026-11-01"}` for an arbitrary window.

Newsletter sign-ups made in Klaviyo (its sign-up forms, Quick Add, integrations) ride along: the events of
Klaviyo's "Subscribed to Email Marketing" and "Subscribed to List" metrics (`GET /api/events` filtered on the
metric and the event datetime, cursor pages through `links.next`), merged on the event id into
`raw.klaviyo_subscription_events`; `int_leads` counts them as newsletter sign-ups.

Connections: `narrowcast_shopify`, `narrowcast_klaviyo`. Emits the `raw.shop_*` and
`raw.klaviyo_subscription_events` assets (row counts in the asset-event extra).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, task

from narrowcast_airflow.assets import raw_assets
from narrowcast_airflow.defaults import WAREHOUSE_POOL, default_args


@dag(
    dag_id="extract_shop",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "extract", "shopify", "klaviyo"],
    doc_md=__doc__,
)
def extract_shop():
    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("shopify"))
    def extract_shopify(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("shopify", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("klaviyo"))
    def extract_klaviyo(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("klaviyo", context)

    extract_shopify()
    extract_klaviyo()


extract_shop()
