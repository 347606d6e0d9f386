"""
### Extract marketplace orders (eBay Fulfillment getOrders, Amazon SP-API Orders searchOrders, Etsy getShopReceipts)

Orders modified since the stored watermark up to the data interval's end, at most a day per window (eBay `filter=lastmodifieddate:[..]`, Amazon `lastUpdatedAfter/Before`
with `paginationToken` paging, items in the same answer; Orders v0 `getOrders` + `getOrderItems` for a connection
pinning it; Etsy `min_last_modified`/`max_last_modified` with `limit`/`offset`, transactions in the receipt),
merged on order and line ids. Open (unshipped) marketplace orders
reduce the stock every marketplace may publish, so this runs often. The same connections read each order's fees:
eBay Finances `getTransactions` (apiz host, `sell.finances` scope), Amazon Finances 2024-06-19 `listTransactions`
and Etsy's payment account ledger (`getShopPaymentAccountLedgerEntries` by `min_created`/`max_created`, fee entries
tied to receipts, through `getPaymentAccountLedgerEntryPayments` where an entry names a payment).

Connections: `narrowcast_ebay`, `narrowcast_amazon`, `narrowcast_etsy`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, task

from narrowcast_airflow.assets import raw_assets
from narrowcast_airflow.defaults import WAREHOUSE_POOL, default_args


@dag(
    dag_id="extract_marketplace_orders",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=datetime(2026, 8, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["narrowcast", "extract", "marketplaces"],
    doc_md=__doc__,
)
def extract_marketplace_orders():
    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("ebay"))
    def extract_ebay(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("ebay", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("amazon"))
    def extract_amazon(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("amazon", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("etsy"))
    def extract_etsy(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("etsy", context)

    # Fees per order (eBay Finances getTransactions, Amazon Finances listTransactions, Etsy ledger entries) for the
    # margin marts.
    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("ebay_finances"))
    def extract_ebay_finances(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("ebay_finances", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("amazon_finances"))
    def extract_amazon_finances(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("amazon_finances", context)

    @task(pool=WAREHOUSE_POOL, outlets=raw_assets("etsy_finances"))
    def extract_etsy_finances(**context):
        from narrowcast_airflow.tasks import run_extract

        yield from run_extract("etsy_finances", context)

    extract_ebay()
    extract_amazon()
    extract_etsy()
    extract_ebay_finances()
    extract_amazon_finances()
    extract_etsy_finances()


extract_marketplace_orders()
