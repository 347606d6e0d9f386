"""Constants of the shop source: page sizes of the paged queries and when a window is read in bulk instead."""

from datetime import timedelta

# A window longer than this is read with one bulk operation per resource; shorter windows (the hourly
# increments) with paged queries, which answer in seconds where a bulk operation takes at least a poll or two.
# A first load, a backfill or a catch-up after downtime spans days and goes to bulk.
BULK_WINDOW = timedelta(days=2)

# Paged queries are priced before they run and refused above 1,000 points ("A single query may not exceed a cost
# of 1,000 points", https://shopify.dev/docs/api/usage/limits); a connection costs its page size times its
# node's cost. These sizes keep each query well under the limit. An order with more lines or refunds than its
# nested page holds makes the window go to bulk, which has no such limits.
ORDERS_PAGE = 5
ORDER_LINES_PAGE = 10
ORDER_REFUNDS_PAGE = 3
REFUND_LINES_PAGE = 5
# Fulfillments are read by a query of their own over the same orders (queries.FULFILLMENT_FIELDS): an order
# costs 1 + 3 fulfillments x (1 + 2 tracking infos + 2 + 10 lines x 2) = 76 points, ten orders about 770.
FULFILLMENT_ORDERS_PAGE = 10
FULFILLMENTS_PAGE = 3
TRACKING_INFO_PAGE = 2
FULFILLMENT_LINES_PAGE = 10
CUSTOMERS_PAGE = 100
PRODUCTS_PAGE = 20
VARIANTS_PAGE = 20

# How many root objects of a bulk result go into one page of records.
BULK_PAGE_ROOTS = 1000
