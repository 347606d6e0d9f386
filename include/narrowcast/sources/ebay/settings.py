"""eBay Sell Fulfillment API constants."""

CONN_ID = "narrowcast_ebay"
ORDERS_PATH = "sell/fulfillment/v1/order"
# getOrders accepts 1..1000 per page (default 50).
PAGE_LIMIT = 200
