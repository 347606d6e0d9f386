"""Amazon Selling Partner API Orders constants of the orders source (v2026-01-01 and v0 alike)."""

from datetime import timedelta

# searchOrders and getOrders return at most 100 orders per page (maxResultsPerPage / MaxResultsPerPage 1..100).
PAGE_LIMIT = 100
# lastUpdatedBefore must be at least this long before the time of the request: "at least two minutes before the
# time of the request" (orders_2026-01-01.json, searchOrders), "no later than two minutes before the time that the
# request was submitted" (ordersV0.json, getOrders).
SETTLE_TIME = timedelta(minutes=2)
# A window ends no later than this long before now: the settle time plus a minute for the difference between our
# clock and Amazon's. The source's lookback re-reads the same span, so the minutes cut off reach the next run.
WINDOW_LAG = SETTLE_TIME + timedelta(minutes=1)
