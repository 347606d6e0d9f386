"""The file inbox declares the raw table of each file kind and how a new file version loads.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import imported
from narrowcast.contracts.tables import MONEY, EntitySpec, SourceSpec, money_columns

# A new version of a file replaces every row the previous version loaded (partition _file_name).
FILE_ORDERS = EntitySpec(
    "file_orders",
    {
        "order_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "ordered_at": "TIMESTAMP",
        "currency": "VARCHAR",
        "total_price": MONEY,
        "email": "VARCHAR",
        "financial_status": "VARCHAR",
        "cancelled_at": "TIMESTAMP",
        **money_columns("refunded_amount", "discount_amount"),
        "sku": "VARCHAR",
        "quantity": "INTEGER",
        "line_price": MONEY,
        "line_number": "INTEGER",
        "accepts_marketing": "BOOLEAN",
        "_file_name": "VARCHAR",
    },
    key=("order_id", "line_number"),
    partition_column="_file_name",
    required=("customer_id", "ordered_at", "currency", "total_price", "_file_name"),
    non_negative=("total_price", "refunded_amount", "discount_amount", "quantity", "line_price"),
    not_future=("ordered_at", "cancelled_at"),
    currency_columns=("currency",),
    personal=("email", "accepts_marketing"),
    subject_email="email",
    subject_id="customer_id",
    notes={"accepts_marketing": "e-mail and ad consent as of the order; NULL = not stated"},
)

FILE_ERP_STOCK = EntitySpec(
    "file_erp_stock",
    {
        "sku": "VARCHAR",
        "on_hand": "INTEGER",
        "cost": MONEY,
        "warehouse": "VARCHAR",
        "snapshot_at": "TIMESTAMP",
        "_file_name": "VARCHAR",
    },
    key=("_file_name", "sku"),
    partition_column="_file_name",
    required=("on_hand", "cost", "warehouse", "snapshot_at"),
    non_negative=("cost",),
    not_future=("snapshot_at",),
)

FILE_BUDGET_PLAN = EntitySpec(
    "file_budget_plan",
    {
        "month": "VARCHAR",
        "channel": "VARCHAR",
        "planned_spend": MONEY,
        "planned_sessions": "BIGINT",
        "planned_orders": "BIGINT",
        "planned_revenue": MONEY,
        "currency": "VARCHAR",
        "_file_name": "VARCHAR",
    },
    key=("month", "channel"),
    partition_column="_file_name",
    required=("planned_spend", "planned_sessions", "planned_orders", "planned_revenue", "_file_name"),
    non_negative=("planned_spend", "planned_sessions", "planned_orders", "planned_revenue"),
    currency_columns=("currency",),
    notes={"month": "'YYYY-MM'", "currency": "ISO 4217; empty = the reporting currency (dbt var)"},
)

# The merchant's own rates, beside the ECB's in raw.fx_rates (a raw table has one owner): dbt prefers a file's
# rate over the ECB's for the same day and currency. Keyed by day and currency, so a later file's rate replaces an
# earlier file's; a new version of a file replaces every row the old version loaded.
FILE_FX_RATES = EntitySpec(
    "file_fx_rates",
    {"date": "DATE", "currency": "VARCHAR", "rate_per_eur": "DECIMAL(18,6)", "_file_name": "VARCHAR"},
    key=("date", "currency"),
    partition_column="_file_name",
    required=("rate_per_eur", "_file_name"),
    not_null=("rate_per_eur",),
    non_negative=("rate_per_eur",),
    currency_columns=("currency",),
    notes={"rate_per_eur": "units of the currency per 1 EUR (the ECB's quotation)"},
)

FILE_MARKETPLACE_LISTINGS = EntitySpec(
    "file_marketplace_listings",
    {"sku": "VARCHAR", "marketplace": "VARCHAR", "listing_id": "VARCHAR", "enabled": "BOOLEAN", "_file_name": "VARCHAR"},
    key=("sku", "marketplace"),
    partition_column="_file_name",
    required=("listing_id", "enabled", "_file_name"),
)

# A request names the person by e-mail, by customer id (text, exactly as the merchant's systems write it:
# ``C-17``, ``00017``), or both. Rows are keyed by their line in the file: two requests for one person are two
# rows, and a new version of the file replaces the old one's rows (partition ``_file_name``). One invalid row
# fails the whole file: a privacy request is never quarantined away under the threshold.
FILE_PRIVACY_REQUESTS = EntitySpec(
    "file_privacy_requests",
    {
        "customer_id": "VARCHAR",
        "email": "VARCHAR",
        "request_type": "VARCHAR",
        "requested_at": "TIMESTAMP",
        "line_number": "INTEGER",
        "_file_name": "VARCHAR",
    },
    key=("_file_name", "line_number"),
    partition_column="_file_name",
    required=("request_type", "requested_at", "_file_name"),
    not_null=("request_type", "requested_at"),
    any_not_null=("customer_id", "email"),
    accepted_values={"request_type": ("opt_out", "delete")},
    not_future=("requested_at",),
    all_or_nothing=True,
    personal=("customer_id", "email"),
    subject_email="email",
    subject_id="customer_id",
    notes={"request_type": "'opt_out' or 'delete'", "line_number": "the request's CSV line, or Parquet row"},
)

# One row per shipped order line. Keyed by the package line, so the same shipment in a later file replaces the
# earlier row instead of doubling it; a new version of a file replaces every row the old version loaded.
FILE_SHIPMENTS = EntitySpec(
    "file_shipments",
    {
        "order_id": "VARCHAR",
        "marketplace": "VARCHAR",
        "carrier": "VARCHAR",
        "tracking_number": "VARCHAR",
        "shipped_at": "TIMESTAMP",
        "sku": "VARCHAR",
        "quantity": "INTEGER",
        "_file_name": "VARCHAR",
    },
    key=("marketplace", "order_id", "tracking_number", "sku"),
    partition_column="_file_name",
    required=("carrier", "shipped_at", "quantity", "_file_name"),
    not_null=("carrier", "shipped_at", "quantity"),
    non_negative=("quantity",),
    not_future=("shipped_at",),
    notes={"marketplace": "the order's source: 'ebay', 'amazon' or 'shop'",
           "carrier": "the merchant's carrier name; the carrier_codes seed maps it per marketplace"},
)

# One row per variant SKU; a new version of a catalogue file replaces every row the previous version loaded.
FILE_CATALOGUE = EntitySpec(
    "file_catalogue",
    {
        "sku": "VARCHAR",
        "title": "VARCHAR",
        "description": "VARCHAR",
        "brand": "VARCHAR",
        "gtin": "VARCHAR",
        "mpn": "VARCHAR",
        "condition": "VARCHAR",
        "category": "VARCHAR",
        "image_urls": "VARCHAR",
        "price": MONEY,
        "currency": "VARCHAR",
        "parent_sku": "VARCHAR",
        "colour": "VARCHAR",
        "size": "VARCHAR",
        "material": "VARCHAR",
        "_file_name": "VARCHAR",
    },
    key=("_file_name", "sku"),
    partition_column="_file_name",
    required=("title", "_file_name"),
    not_null=("title",),
    non_negative=("price",),
    currency_columns=("currency",),
    notes={"image_urls": "URLs separated by '|', the first is the main image",
           "gtin": "EAN/UPC digits as text (leading zeros kept)"},
)

# One row per contact of a partner's list, keyed by its line: a new version of the file replaces every row the
# previous version loaded. A row without an e-mail or with an unknown consent basis is quarantined with its rule
# (the rest of the file loads); how each basis may be used is the seed partner_consent_uses, applied in dbt.
FILE_PARTNER_LISTS = EntitySpec(
    "file_partner_lists",
    {
        "partner_id": "VARCHAR",
        "email": "VARCHAR",
        "consent_basis": "VARCHAR",
        "allowed_uses": "VARCHAR",
        "collected_at": "TIMESTAMP",
        "line_number": "INTEGER",
        "_file_name": "VARCHAR",
    },
    key=("_file_name", "line_number"),
    partition_column="_file_name",
    required=("partner_id", "email", "consent_basis", "_file_name"),
    not_null=("partner_id", "email", "consent_basis"),
    accepted_values={"consent_basis": ("consent", "legitimate_interest", "contract")},
    not_future=("collected_at",),
    personal=("email",),
    subject_email="email",
    notes={"consent_basis": "'consent', 'legitimate_interest' or 'contract'",
           "allowed_uses": "uses the partner permits, separated by '|': 'email', 'ads'",
           "line_number": "the contact's CSV line, or Parquet row"},
)

SOURCE = SourceSpec(
    "inbox",
    imported("narrowcast.sources.files.inbox:land_inbox"),
    (FILE_ORDERS, FILE_ERP_STOCK, FILE_BUDGET_PLAN, FILE_MARKETPLACE_LISTINGS, FILE_PRIVACY_REQUESTS, FILE_FX_RATES,
     FILE_SHIPMENTS, FILE_CATALOGUE, FILE_PARTNER_LISTS),
    input_dir="inbox",
    batch_per_file=True,
)
