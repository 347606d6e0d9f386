"""eBay Sell Finances source: monetary transactions (``getTransactions``) and the marketplace fees of each order line.

Connection ``narrowcast_ebay`` (the orders source's): the user access token needs the ``sell.finances`` scope as
well. The Finances API lives on eBay's ``apiz`` host: the client swaps ``api.`` for ``apiz.`` in the connection's
base URL unless extra ``finances_base_url`` names one. eBay requires digital signatures on Finances calls made
for EU and UK sellers (the ``Important`` note on every method of sell_finances_v1_oas3); this client does not
sign yet, so such a seller's calls are refused.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "EbayFinancesClient"]
__getattr__ = lazy_exports(__name__, {"EbayFinancesClient": "client", "ENTITIES": "extract", "extract": "extract"})
