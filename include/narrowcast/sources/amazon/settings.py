"""Amazon Selling Partner API (Orders v0) constants of the orders source."""

from datetime import timedelta

# getOrders returns at most 100 orders per page.
PAGE_LIMIT = 100
# getOrders: LastUpdatedBefore must be at least this long before the time of the request.
SETTLE_TIME = timedelta(minutes=2)
