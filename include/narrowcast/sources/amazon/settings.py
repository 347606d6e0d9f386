"""Amazon Selling Partner API (Orders v0) constants of the orders source."""

from datetime import timedelta

# getOrders returns at most 100 orders per page.
PAGE_LIMIT = 100
# getOrders: LastUpdatedBefore must be at least this long before the time of the request ("must be no later
# than two minutes before the time that the request was submitted", Orders API v0 reference, getOrders:
# https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-reference#getorders).
SETTLE_TIME = timedelta(minutes=2)
# A window ends no later than this long before now: the settle time plus a minute for the difference between our
# clock and Amazon's. The source's lookback re-reads the same span, so the minutes cut off reach the next run.
WINDOW_LAG = SETTLE_TIME + timedelta(minutes=1)
