"""Shopify source through the GraphQL Admin API: orders with lines and refunds, customers, products.

Connection ``narrowcast_shopify``: ``base_url`` = the shop URL (``https://{shop}.myshopify.com``; in the
sandbox ``http://127.0.0.1:<port>/shopify``), ``password`` = the Admin API access token (sent as
``X-Shopify-Access-Token``), extra ``api_version`` (default in ``narrowcast.apis.versions``), extra
``read_fulfillments`` (true: also the orders' fulfillments and note attributes, a shipment source). Long windows, and
short ones whose count says they hold many rows, are read with bulk operations, the others with paged queries
(``settings.BULK_WINDOW``, ``settings.BULK_ABOVE_*``); the REST → GraphQL field mapping is in ``records``.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "ShopifyClient"]
__getattr__ = lazy_exports(__name__, {"ShopifyClient": "client", "ENTITIES": "extract", "extract": "extract"})
