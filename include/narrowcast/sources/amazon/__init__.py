"""Amazon Selling Partner API source: orders and order items (Orders API v0) by last-update time.

Connection ``narrowcast_amazon``: ``base_url`` = the regional endpoint, e.g.
``https://sellingpartnerapi-eu.amazon.com`` (sandbox ``http://127.0.0.1:<port>/amazon``), ``password`` = an LWA
access token (sent as ``x-amz-access-token``), extra ``marketplace_ids`` (list or comma-separated, e.g.
``A1PA6795UKMFR9``) and ``seller_id`` (the merchant token, used by the listings destination).
"""

from narrowcast.sources.amazon.client import AmazonClient
from narrowcast.sources.amazon.extract import ENTITIES, extract

__all__ = ["AmazonClient", "ENTITIES", "extract"]
