"""The Shopify source declares its raw tables (columns, keys, quality rules) and how it loads.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import (
    MONEY,
    EntitySpec,
    SourceSpec,
    money_columns,
    text_columns,
    timestamp_columns,
)

SHOP_CUSTOMERS = EntitySpec(
    "shop_customers",
    {
        "id": "BIGINT",
        **text_columns("email", "phone", "first_name", "last_name"),
        "accepts_marketing": "BOOLEAN",
        **text_columns("email_marketing_consent_state", "country_code", "province", "city"),
        **timestamp_columns("created_at", "updated_at"),
        "tags": "VARCHAR",
        "email_marketing_consent_updated_at": "TIMESTAMP",
    },
    key=("id",),
    not_future=("created_at", "updated_at"),
    notes={"email_marketing_consent_state": "'subscribed'/'not_subscribed'/'unsubscribed'"},
    personal=("email", "phone", "first_name", "last_name", "accepts_marketing", "email_marketing_consent_state",
              "email_marketing_consent_updated_at",
              "province", "city"),
    subject_email="email",
    subject_id="id",
)

SHOP_ORDERS = EntitySpec(
    "shop_orders",
    {
        "id": "BIGINT",
        "order_number": "BIGINT",
        "customer_id": "BIGINT",
        "email": "VARCHAR",
        **timestamp_columns("created_at", "updated_at", "processed_at", "cancelled_at"),
        **text_columns("financial_status", "fulfillment_status", "currency"),
        **money_columns("subtotal_price", "total_discounts", "total_tax", "total_shipping", "total_price"),
        "discount_codes": "VARCHAR",
        "test": "BOOLEAN",
        **text_columns("source_name", "landing_site", "referring_site", "billing_country_code"),
        # The currency the buyer paid in and the order total in it (GraphQL's presentmentMoney); null in rows
        # loaded before the source read them.
        "presentment_currency": "VARCHAR",
        "total_price_presentment": MONEY,
    },
    key=("id",),
    required=("created_at", "total_price"),
    non_negative=("subtotal_price", "total_discounts", "total_tax", "total_shipping", "total_price",
                  "total_price_presentment"),
    not_future=("created_at", "updated_at", "processed_at", "cancelled_at"),
    currency_columns=("currency", "presentment_currency"),
    line_totals=True,
    notes={"discount_codes": "comma-joined", "presentment_currency": "ISO 4217, the buyer's currency",
           "total_price_presentment": "total_price in presentment_currency"},
    personal=("email",),
    subject_email="email",
    subject_id="customer_id",
)

SHOP_ORDER_LINES = EntitySpec(
    "shop_order_lines",
    {
        **dict.fromkeys(("id", "order_id", "product_id", "variant_id"), "BIGINT"),
        **text_columns("sku", "title"),
        "quantity": "INTEGER",
        **money_columns("price", "total_discount"),
    },
    key=("id",),
    required=("order_id",),
    non_negative=("quantity", "price", "total_discount"),
    parent=("shop_orders", {"order_id": "id"}),
)

SHOP_REFUNDS = EntitySpec(
    "shop_refunds",
    {
        "id": "BIGINT",
        "order_id": "BIGINT",
        "created_at": "TIMESTAMP",
        "line_item_id": "BIGINT",
        "quantity": "INTEGER",
        "subtotal": MONEY,
    },
    key=("id", "line_item_id"),
    required=("order_id",),
    non_negative=("quantity", "subtotal"),
    not_future=("created_at",),
    parent=("shop_orders", {"order_id": "id"}),
)

SHOP_FULFILLMENTS = EntitySpec(
    "shop_fulfillments",
    {
        **dict.fromkeys(("fulfillment_id", "order_id"), "BIGINT"),
        "status": "VARCHAR",
        **timestamp_columns("created_at", "updated_at"),
        **text_columns("tracking_company", "tracking_number", "tracking_url", "tracking_numbers",
                       "order_source_name", "order_source_identifier"),
        "line_item_id": "BIGINT",
        "sku": "VARCHAR",
        "quantity": "INTEGER",
    },
    key=("fulfillment_id", "line_item_id"),
    required=("order_id", "created_at"),
    non_negative=("quantity",),
    not_future=("created_at", "updated_at"),
    notes={"status": "FulfillmentStatus in lower case: 'success', 'cancelled', 'error', 'failure', 'open', "
                     "'pending'",
           "tracking_number": "the fulfillment's first tracking number; all of them in tracking_numbers",
           "order_source_identifier": "Order.sourceIdentifier: the originating platform's order id"},
)

SHOP_ORDER_ATTRIBUTES = EntitySpec(
    "shop_order_attributes",
    {"order_id": "BIGINT", "customer_id": "BIGINT", "name": "VARCHAR", "value": "VARCHAR"},
    key=("order_id", "name"),
    notes={"name": "Order.customAttributes key (a note attribute), e.g. one a marketplace importer writes",
           "customer_id": "the order's customer, so an erasure request finds the attributes"},
    # Note attributes are free text the buyer or an app wrote; they may hold anything.
    personal=("value",),
    subject_id="customer_id",
)

SHOP_PRODUCTS = EntitySpec(
    "shop_products",
    {
        **dict.fromkeys(("product_id", "variant_id", "inventory_item_id"), "BIGINT"),
        **text_columns("sku", "title", "product_type", "vendor"),
        **money_columns("price", "compare_at_price"),
        "status": "VARCHAR",
        **timestamp_columns("created_at", "updated_at"),
    },
    key=("variant_id",),
    non_negative=("price", "compare_at_price"),
    not_future=("created_at", "updated_at"),
)

SOURCE = SourceSpec(
    "shopify",
    connection_pages("narrowcast.sources.shopify.extract:extract"),
    (SHOP_CUSTOMERS, SHOP_ORDERS, SHOP_ORDER_LINES, SHOP_REFUNDS, SHOP_PRODUCTS, SHOP_FULFILLMENTS,
     SHOP_ORDER_ATTRIBUTES),
    connection_id="narrowcast_shopify",
)
