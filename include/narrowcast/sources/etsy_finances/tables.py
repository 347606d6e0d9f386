"""The Etsy finances source declares its raw table (the payment account ledger's fee entries) and how it loads.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import MONEY, EntitySpec, SourceSpec, text_columns

# PaymentAccountLedgerEntry (Etsy Open API v3): entry_id, ledger_id, sequence_number, amount (integer, minor units),
# currency, description, balance, create_date, ledger_type, reference_type, reference_id. Entries are never
# changed once written, so a rerun of a window merges the same rows.
ETSY_LEDGER_FEES = EntitySpec(
    "etsy_ledger_fees",
    {
        **text_columns("entry_id", "ledger_id"),
        "sequence_number": "BIGINT",
        **text_columns("ledger_type", "description", "reference_type", "reference_id", "receipt_id"),
        "fee_amount": MONEY,
        "currency": "VARCHAR",
        "created_at": "TIMESTAMP",
    },
    key=("entry_id",),
    required=("ledger_type", "fee_amount", "created_at"),
    not_null=("ledger_type", "fee_amount", "created_at"),
    not_future=("created_at",),
    currency_columns=("currency",),
    notes={"fee_amount": "the entry's amount (minor units) negated: positive = a fee charged, negative = one "
                         "credited back",
           "receipt_id": "the receipt the fee is for: reference_id of a receipt entry, or the receipt of the "
                         "payment a payment entry refers to; null for fees of no order (listing fees)"},
)

SOURCE = SourceSpec(
    "etsy_finances",
    connection_pages("narrowcast.sources.etsy_finances.extract:extract"),
    (ETSY_LEDGER_FEES,),
    connection_id="narrowcast_etsy",
)
