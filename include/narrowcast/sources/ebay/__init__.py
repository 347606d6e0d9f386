"""eBay Sell Fulfillment source: orders and order lines (``getOrders``) by last-modified date.

Connection ``narrowcast_ebay``: ``base_url`` = ``https://api.ebay.com`` (sandbox ``http://127.0.0.1:<port>/ebay``),
``password`` = a user access token with the ``sell.fulfillment`` scope (sent as ``Authorization: Bearer``).
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "EbayClient"]
__getattr__ = lazy_exports(__name__, {"EbayClient": "client", "ENTITIES": "extract", "extract": "extract"})
