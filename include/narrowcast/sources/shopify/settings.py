"""Shopify Admin REST constants: API version, page size, the connection id and the raw tables it feeds."""

CONN_ID = "narrowcast_shopify"
DEFAULT_API_VERSION = "2024-10"
# Shopify's maximum page size for orders, customers and products.
PAGE_LIMIT = 250
