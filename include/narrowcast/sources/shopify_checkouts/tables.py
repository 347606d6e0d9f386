"""The abandoned-checkout source declares its raw tables: checkouts, their lines, and the orders that recover them.

A checkout seen by polling and by webhook is one row (key ``id``): the GraphQL ``AbandonedCheckout`` id's number
is the REST checkout ``id`` the webhooks carry. ``keep_stored`` keeps what only one of the two ways tells (the
webhook's ``token`` and ``buyer_accepts_marketing``) when the other brings the checkout again.
"""

from __future__ import annotations

from datetime import timedelta

from narrowcast.contracts.extraction import imported
from narrowcast.contracts.tables import (
    MONEY,
    EntitySpec,
    SourceSpec,
    money_columns,
    text_columns,
    timestamp_columns,
)

WEBHOOK_DIR = "landing/webhooks/shopify"

SHOP_ABANDONED_CHECKOUTS = EntitySpec(
    "shop_abandoned_checkouts",
    {
        "id": "BIGINT",
        **text_columns("token", "name", "email"),
        "customer_id": "BIGINT",
        "accepts_marketing": "BOOLEAN",
        **text_columns("recovery_url", "currency", "presentment_currency"),
        "total_price": MONEY,
        "total_price_presentment": MONEY,
        **timestamp_columns("created_at", "updated_at", "completed_at"),
        "seen_via": "VARCHAR",
    },
    key=("id",),
    required=("updated_at",),
    non_negative=("total_price", "total_price_presentment"),
    not_future=("created_at", "updated_at", "completed_at"),
    currency_columns=("currency", "presentment_currency"),
    accepted_values={"seen_via": ("poll", "webhook")},
    keep_stored=("token", "email", "customer_id", "accepts_marketing"),
    notes={"token": "REST checkout token (webhooks only)", "recovery_url": "abandonedCheckoutUrl",
           "accepts_marketing": "the buyer's e-mail marketing consent as the shop states it",
           "total_price_presentment": "cart value in presentment_currency, the buyer's currency",
           "seen_via": "'poll'/'webhook': which way brought the latest version"},
    personal=("email", "accepts_marketing"),
    subject_email="email",
    subject_id="customer_id",
)

SHOP_ABANDONED_CHECKOUT_LINES = EntitySpec(
    "shop_abandoned_checkout_lines",
    {
        "checkout_id": "BIGINT",
        "position": "INTEGER",
        **text_columns("sku", "title", "variant_title"),
        **dict.fromkeys(("product_id", "variant_id"), "BIGINT"),
        "quantity": "INTEGER",
        **money_columns("price", "price_presentment", "line_total_presentment"),
        "image_url": "VARCHAR",
    },
    key=("checkout_id", "position"),
    # Every version of a checkout brings all its lines: they replace the stored ones (a removed item goes).
    partition_column="checkout_id",
    required=("checkout_id",),
    non_negative=("quantity", "price", "price_presentment", "line_total_presentment"),
    notes={"position": "1-based order of the line in the checkout", "price": "unit price, shop currency",
           "price_presentment": "unit price, presentment currency",
           "line_total_presentment": "line total after line discounts, presentment currency"},
    parent=("shop_abandoned_checkouts", {"checkout_id": "id"}),
)

SHOP_CHECKOUT_ORDERS = EntitySpec(
    "shop_checkout_orders",
    {
        "id": "BIGINT",
        "checkout_id": "BIGINT",
        "checkout_token": "VARCHAR",
        "customer_id": "BIGINT",
        "email": "VARCHAR",
        **timestamp_columns("created_at", "updated_at"),
        "seen_via": "VARCHAR",
    },
    key=("id",),
    required=("created_at",),
    not_future=("created_at", "updated_at"),
    accepted_values={"seen_via": ("poll", "webhook")},
    keep_stored=("checkout_id", "checkout_token"),
    notes={"checkout_id": "REST checkout id the order completed (orders/create webhook only)"},
    personal=("email",),
    subject_email="email",
    subject_id="customer_id",
)


SOURCE = SourceSpec(
    "shopify_checkouts",
    imported("narrowcast.sources.shopify_checkouts.extract:extract"),
    (SHOP_ABANDONED_CHECKOUTS, SHOP_ABANDONED_CHECKOUT_LINES, SHOP_CHECKOUT_ORDERS),
    # Each run reads again the last minutes of the previous one: a checkout written in Shopify just before a
    # window closed but indexed for search just after is still read.
    lookback=timedelta(minutes=10),
    connection_id="narrowcast_shopify",
    input_dir=WEBHOOK_DIR,
)
