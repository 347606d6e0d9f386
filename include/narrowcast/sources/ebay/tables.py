"""The eBay source declares its raw tables (orders, order lines) and how they load.

The registry (``narrowcast.sources.registry``) collects ``SOURCE``; the loader, the quality gate, the dbt raw
schema, the Airflow assets and the data contract are derived from these declarations.
"""

from __future__ import annotations

from narrowcast.contracts.extraction import connection_pages
from narrowcast.contracts.tables import MONEY, EntitySpec, SourceSpec, text_columns, timestamp_columns

# Marketplace order ids are strings in the real API ("12-34567-89012").
EBAY_ORDERS = EntitySpec(
    "ebay_orders",
    {
        "order_id": "VARCHAR",
        **timestamp_columns("creation_date", "last_modified_date"),
        **text_columns("order_fulfillment_status", "order_payment_status", "cancel_state", "buyer_username"),
        "buyer_email": "VARCHAR",
        "total": MONEY,
        **text_columns("currency", "marketplace_id"),
    },
    key=("order_id",),
    non_negative=("total",),
    not_future=("creation_date", "last_modified_date"),
    currency_columns=("currency",),
    # getOrders returns buyer.buyerRegistrationAddress.email only for 14 days after the order.
    keep_stored=("buyer_email",),
    personal=("buyer_username", "buyer_email"),
    subject_email="buyer_email",
)

EBAY_ORDER_LINES = EntitySpec(
    "ebay_order_lines",
    {
        "line_item_id": "VARCHAR",
        "order_id": "VARCHAR",
        "sku": "VARCHAR",
        "quantity": "INTEGER",
        "line_item_cost": MONEY,
        "line_item_fulfillment_status": "VARCHAR",
    },
    key=("line_item_id",),
    required=("order_id",),
    non_negative=("quantity", "line_item_cost"),
    parent=("ebay_orders", {"order_id": "order_id"}),
)

SOURCE = SourceSpec(
    "ebay",
    connection_pages("narrowcast.sources.ebay.extract:extract"),
    (EBAY_ORDERS, EBAY_ORDER_LINES),
    connection_id="narrowcast_ebay",
)
