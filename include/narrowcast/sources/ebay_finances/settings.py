"""eBay Sell Finances API constants of the finances source."""

from narrowcast.apis.ebay import FINANCES

TRANSACTIONS_PATH = f"{FINANCES}/transaction"
# getTransactions pages by limit/offset; 200 keeps a page small (sell_finances_v1_oas3 allows more).
PAGE_LIMIT = 200
