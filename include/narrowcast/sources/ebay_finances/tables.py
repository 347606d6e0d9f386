"""The eBay Finances source declares its raw tables (transactions, marketplace fee lines) and how they load.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import MONEY, EntitySpec, SourceSpec, text_columns, timestamp_columns

EBAY_FINANCE_TRANSACTIONS = EntitySpec(
    "ebay_finance_transactions",
    {
        "transaction_id": "VARCHAR",
        **text_columns("transaction_type", "transaction_status", "booking_entry", "order_id"),
        **timestamp_columns("transaction_date"),
        # amount is what the transaction moved (CREDIT or DEBIT per booking_entry); fees as eBay charged them.
        "amount": MONEY,
        "total_fee_amount": MONEY,
        "currency": "VARCHAR",
    },
    # A refund carries the sale's transaction id in some markets: the type keeps the two apart.
    key=("transaction_id", "transaction_type"),
    non_negative=("amount", "total_fee_amount"),
    not_future=("transaction_date",),
    currency_columns=("currency",),
)

EBAY_FINANCE_FEE_LINES = EntitySpec(
    "ebay_finance_fee_lines",
    {
        "transaction_id": "VARCHAR",
        "transaction_type": "VARCHAR",
        "line_item_id": "VARCHAR",
        "fee_type": "VARCHAR",
        "fee_amount": MONEY,
        "currency": "VARCHAR",
    },
    key=("transaction_id", "transaction_type", "line_item_id", "fee_type"),
    currency_columns=("currency",),
    parent=("ebay_finance_transactions", {"transaction_id": "transaction_id", "transaction_type": "transaction_type"}),
)

SOURCE = SourceSpec(
    "ebay_finances",
    connection_pages("narrowcast.sources.ebay_finances.extract:extract"),
    (EBAY_FINANCE_TRANSACTIONS, EBAY_FINANCE_FEE_LINES),
    connection_id="narrowcast_ebay",
)
