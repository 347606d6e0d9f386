"""Amazon Selling Partner API source: orders and order items (Orders API v2026-01-01, or v0) by last-update time.

Connection ``narrowcast_amazon``: ``base_url`` = the regional endpoint, e.g.
``https://sellingpartnerapi-eu.amazon.com`` (sandbox ``http://127.0.0.1:<port>/amazon``), ``password`` = an LWA
access token (sent as ``x-amz-access-token``), extra ``marketplace_ids`` (list or comma-separated, e.g.
``A1PA6795UKMFR9``), ``seller_id`` (the merchant token, used by the listings destination), optional
``api_version`` (``v0`` keeps the deprecated Orders API v0 until its removal on 2027-03-27) and
``restricted_roles``.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "AmazonClient"]
__getattr__ = lazy_exports(__name__, {"AmazonClient": "client", "ENTITIES": "extract", "extract": "extract"})
