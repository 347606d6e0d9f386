"""The Amazon SP-API source declares its raw tables (orders, order items) and how they load.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import MONEY, EntitySpec, SourceSpec, text_columns, timestamp_columns
from narrowcast.sources.amazon.settings import WINDOW_LAG

# Marketplace order ids are strings in the real API ("902-3159896-1390916").
AMAZON_ORDERS = EntitySpec(
    "amazon_orders",
    {
        "amazon_order_id": "VARCHAR",
        **timestamp_columns("purchase_date", "last_update_date"),
        **text_columns("order_status", "marketplace_id", "buyer_email"),
        "order_total": MONEY,
        "currency": "VARCHAR",
    },
    key=("amazon_order_id",),
    non_negative=("order_total",),
    not_future=("purchase_date", "last_update_date"),
    currency_columns=("currency",),
    personal=("buyer_email",),
    subject_email="buyer_email",
)

AMAZON_ORDER_ITEMS = EntitySpec(
    "amazon_order_items",
    {
        "order_item_id": "VARCHAR",
        "amazon_order_id": "VARCHAR",
        "seller_sku": "VARCHAR",
        "quantity_ordered": "INTEGER",
        "quantity_shipped": "INTEGER",
        "item_price": MONEY,
    },
    key=("order_item_id",),
    required=("amazon_order_id",),
    non_negative=("quantity_ordered", "quantity_shipped", "item_price"),
    parent=("amazon_orders", {"amazon_order_id": "amazon_order_id"}),
)

SOURCE = SourceSpec(
    "amazon",
    connection_pages("narrowcast.sources.amazon.extract:extract"),
    (AMAZON_ORDERS, AMAZON_ORDER_ITEMS),
    # A window ending in the last minutes is cut short (extract.request_window): the next run re-reads that span.
    lookback=WINDOW_LAG,
    connection_id="narrowcast_amazon",
)
