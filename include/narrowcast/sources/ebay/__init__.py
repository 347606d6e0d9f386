"""eBay Sell Fulfillment source: orders and order lines (``getOrders``) by last-modified date.

Connection ``narrowcast_ebay``: ``base_url`` = ``https://api.ebay.com`` (sandbox ``http://127.0.0.1:<port>/ebay``),
``password`` = a user access token with the ``sell.fulfillment`` scope (sent as ``Authorization: Bearer``).
"""

from narrowcast.sources.ebay.client import EbayClient
from narrowcast.sources.ebay.extract import ENTITIES, extract

__all__ = ["ENTITIES", "EbayClient", "extract"]
