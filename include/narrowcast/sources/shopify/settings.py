"""Shopify Admin REST constants of the shop source."""

# Shopify's maximum page size for orders, customers and products.
PAGE_LIMIT = 250
