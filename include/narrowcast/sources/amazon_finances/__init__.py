"""Amazon SP-API Finances source: transactions (``listTransactions``, Finances 2024-06-19) and their breakdowns.

Connection ``narrowcast_amazon`` (the orders source's), with the Finance and Accounting role. Version 2024-06-19
is Amazon's current Finances model: v0 ``listFinancialEvents`` (ShipmentEventList[].ShipmentItemList[].ItemFeeList)
is still served, but 2024-06-19 returns every transaction type in one shape with its item breakdowns, and is
the one Amazon extends (``apis/versions.py``).
"""

from narrowcast.sources.lazy_exports import lazy_exports

__all__ = ["ENTITIES", "extract", "AmazonFinancesClient"]
__getattr__ = lazy_exports(__name__, {"AmazonFinancesClient": "client", "ENTITIES": "extract", "extract": "extract"})
