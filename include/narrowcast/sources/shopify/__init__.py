"""Shopify Admin REST source: orders with lines and refunds, customers, products.

Connection ``narrowcast_shopify``: ``base_url`` = the shop URL (``https://{shop}.myshopify.com``; in the
sandbox ``http://127.0.0.1:<port>/shopify``), ``password`` = the Admin API access token (sent as
``X-Shopify-Access-Token``), extra ``api_version`` (default ``2024-10``).
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "ShopifyClient"]
__getattr__ = lazy_exports(__name__, {"ShopifyClient": "client", "ENTITIES": "extract", "extract": "extract"})
