"""Etsy source: shop receipts (orders) and their transactions (order lines) by last-modified time.

Connection ``narrowcast_etsy`` (see ``narrowcast.apis.etsy``): ``base_url`` = ``https://openapi.etsy.com``
(sandbox ``http://127.0.0.1:<port>/etsy``), ``login`` = keystring, ``password`` = shared secret, extras
``shop_id`` and ``refresh_token`` (scope ``transactions_r``).
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "EtsyClient"]
__getattr__ = lazy_exports(__name__, {"EtsyClient": "client", "ENTITIES": "extract", "extract": "extract"})
