"""Etsy payment account source: the shop's ledger entries that are fees, each tied to its receipt.

Connection ``narrowcast_etsy`` (the receipts source's; scope ``transactions_r`` covers the ledger and the
payments). Entries come from ``getShopPaymentAccountLedgerEntries`` by creation time; an entry that refers to a
payment rather than a receipt is tied to its receipt through ``getPaymentAccountLedgerEntryPayments``.
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "EtsyFinancesClient"]
__getattr__ = lazy_exports(__name__, {"EtsyFinancesClient": "client", "ENTITIES": "extract", "extract": "extract"})
