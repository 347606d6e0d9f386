"""Shopify abandoned checkouts for the real-time path: polled through the GraphQL Admin API's
``abandonedCheckouts`` and read from the landed ``checkouts/*`` and ``orders/create`` webhooks.

A source of its own (not part of ``shopify``): it runs every few minutes with its own watermark, and the hourly
shop extract must not replace or wait for it. Connection ``narrowcast_shopify``, as the shop source.
"""
