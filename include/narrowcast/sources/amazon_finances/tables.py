"""The Amazon Finances source declares its raw tables (transactions, item breakdowns) and how they load.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import MONEY, EntitySpec, SourceSpec, text_columns, timestamp_columns
from narrowcast.sources.amazon_finances.settings import WINDOW_LAG

AMAZON_FINANCE_TRANSACTIONS = EntitySpec(
    "amazon_finance_transactions",
    {
        "transaction_id": "VARCHAR",
        **text_columns("transaction_type", "transaction_status", "description", "order_id", "marketplace_id"),
        **timestamp_columns("posted_date"),
        # Signed as Amazon posts it: a sale is positive, a refund or a fee-only charge negative.
        "total_amount": MONEY,
        "currency": "VARCHAR",
    },
    key=("transaction_id",),
    not_future=("posted_date",),
    currency_columns=("currency",),
)

AMAZON_FINANCE_BREAKDOWNS = EntitySpec(
    "amazon_finance_breakdowns",
    {
        "transaction_id": "VARCHAR",
        # 1-based position of the item in the transaction; 0 = the transaction's own breakdowns, kept only for a
        # transaction without items so nothing is counted twice.
        "item_number": "INTEGER",
        "sku": "VARCHAR",
        "quantity": "INTEGER",
        # The breakdown types from the top down to the leaf, joined by " > " ("AmazonFees > Commission").
        "breakdown_path": "VARCHAR",
        "amount": MONEY,
        "currency": "VARCHAR",
    },
    key=("transaction_id", "item_number", "breakdown_path"),
    currency_columns=("currency",),
    parent=("amazon_finance_transactions", {"transaction_id": "transaction_id"}),
)

SOURCE = SourceSpec(
    "amazon_finances",
    connection_pages("narrowcast.sources.amazon_finances.extract:extract"),
    (AMAZON_FINANCE_TRANSACTIONS, AMAZON_FINANCE_BREAKDOWNS),
    lookback=WINDOW_LAG,
    connection_id="narrowcast_amazon",
)
