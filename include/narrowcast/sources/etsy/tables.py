"""The Etsy source declares its raw tables (receipts, their transactions and refunds) and how they load.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import EntitySpec, SourceSpec, money_columns, text_columns, timestamp_columns

# Etsy's ids are integers; kept as text like every marketplace's order keys.
ETSY_RECEIPTS = EntitySpec(
    "etsy_receipts",
    {
        "receipt_id": "VARCHAR",
        **timestamp_columns("created_at", "updated_at"),
        "status": "VARCHAR",
        "is_paid": "BOOLEAN",
        "is_shipped": "BOOLEAN",
        **text_columns("buyer_user_id", "buyer_email"),
        **money_columns("grandtotal", "subtotal", "total_price", "total_shipping_cost", "total_tax_cost",
                        "total_vat_cost", "discount_amt"),
        "currency": "VARCHAR",
    },
    key=("receipt_id",),
    non_negative=("grandtotal", "subtotal", "total_price"),
    not_future=("created_at", "updated_at"),
    currency_columns=("currency",),
    accepted_values={"status": ("paid", "completed", "open", "payment processing", "canceled",
                                "fully refunded", "partially refunded")},
    notes={"status": "ShopReceipt.status as Etsy writes it (lowercase, with spaces)",
           "buyer_email": "ShopReceipt.buyer_email, null when Etsy does not share it; personal, never used to "
                          "link identities"},
    # A later change of the receipt may arrive without the e-mail; the stored one stays.
    keep_stored=("buyer_email",),
    personal=("buyer_email",),
    subject_email="buyer_email",
)

ETSY_RECEIPT_TRANSACTIONS = EntitySpec(
    "etsy_receipt_transactions",
    {
        **text_columns("transaction_id", "receipt_id", "listing_id", "product_id", "sku"),
        "quantity": "INTEGER",
        **money_columns("price", "shipping_cost"),
        "shipped_at": "TIMESTAMP",
    },
    key=("transaction_id",),
    required=("receipt_id",),
    non_negative=("quantity", "price"),
    notes={"price": "unit price of the listing (ShopReceiptTransaction.price), not the line total"},
    parent=("etsy_receipts", {"receipt_id": "receipt_id"}),
)

# ShopReceipt.refunds: ShopRefund records (amount Money, created_timestamp epoch seconds, reason, note_from_issuer,
# status). Etsy gives a refund no id, so the key is the receipt, the refund's time and its place among refunds of
# that same second; a receipt read again brings the same keys.
ETSY_RECEIPT_REFUNDS = EntitySpec(
    "etsy_receipt_refunds",
    {
        **text_columns("refund_key", "receipt_id"),
        "refunded_at": "TIMESTAMP",
        **money_columns("amount"),
        **text_columns("currency", "reason", "status"),
    },
    key=("refund_key",),
    required=("receipt_id", "refunded_at", "amount"),
    not_null=("receipt_id", "refunded_at", "amount"),
    non_negative=("amount",),
    not_future=("refunded_at",),
    currency_columns=("currency",),
    notes={"amount": "ShopRefund.amount (amount / divisor): the refund total, whole or partial",
           "refund_key": "receipt_id:created_timestamp:n (n counts refunds of the receipt in the same second)"},
    parent=("etsy_receipts", {"receipt_id": "receipt_id"}),
)

SOURCE = SourceSpec(
    "etsy",
    connection_pages("narrowcast.sources.etsy.extract:extract"),
    (ETSY_RECEIPTS, ETSY_RECEIPT_TRANSACTIONS, ETSY_RECEIPT_REFUNDS),
    connection_id="narrowcast_etsy",
)
