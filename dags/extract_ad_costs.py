"""
### Extract ad costs (Meta Marketing API Insights, Google Ads searchStream) and exchange rates (ECB)

Daily campaign stats from the stored watermark to the data interval's end plus a 7-day restatement lookback (ad platforms revise recent
days): Meta `act_{id}/insights?level=campaign&time_increment=1` and Google Ads GAQL over `campaign` with
`metrics.cost_micros`. Each day in the window is replaced in `raw.meta_ad_insights` /
`raw.google_ads_campaign_stats`, so re-runs and restatements never duplicate.

The ECB's euro reference rates of the same days (and of every day back to the watermark: a first run or a
backfill of years reads the ECB's whole history file once) replace their days in `raw.fx_rates`, so spend and
revenue in other currencies convert at their day's rate.

Campaign metadata rides along on the same connections: Meta campaigns and ad sets created or changed since the
watermark, plus every active one (`objective`, custom-audience targeting), merged into `raw.meta_campaigns` /
`raw.meta_ad_sets`; every Google Ads campaign's channel type and bidding and its user-list criteria, merged
into `raw.google_ads_campaigns` / `raw.google_ads_campaign_criteria`. The seed `campaign_type_rules` turns
them into prospecting / remarketing / brand.

Connections: `narrowcast_meta`, `narrowcast_google_ads`, `narrowcast_ecb`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, task

from narrowcast_airflow.assets import raw_assets
from narrowcast_airflow.defaults import WAREHOUSE_POOL, default_args


@dag(
    dag_id="extract_ad_costs",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "extract", "ads", "fx"],
    doc_md=__doc__,
)
def extract_ad_costs():
    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("meta_ads"))
    def extract_meta(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("meta_ads", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("google_ads"))
    def extract_google_ads(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("google_ads", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("meta_campaigns"))
    def extract_meta_campaigns(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("meta_campaigns", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("google_ads_campaigns"))
    def extract_google_ads_campaigns(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("google_ads_campaigns", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("ecb"))
    def extract_fx_rates(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("ecb", context)

    extract_meta()
    extract_google_ads()
    extract_meta_campaigns()
    extract_google_ads_campaigns()
    extract_fx_rates()


extract_ad_costs()
