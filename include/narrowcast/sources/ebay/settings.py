"""eBay Sell Fulfillment API constants of the orders source."""

from narrowcast.apis.ebay import FULFILLMENT

ORDERS_PATH = f"{FULFILLMENT}/order"
# getOrders accepts 1..1000 per page (default 50).
PAGE_LIMIT = 200
