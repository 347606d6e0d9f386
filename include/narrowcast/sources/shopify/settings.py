"""Constants of the shop source: page sizes of the paged queries and when a window is read in bulk instead."""

from datetime import timedelta

# A window longer than this is read with one bulk operation per resource; shorter windows (the hourly
# increments) with paged queries, which answer in seconds where a bulk operation takes at least a poll or two.
# A first load, a backfill or a catch-up after downtime spans days and goes to bulk.
BULK_WINDOW = timedelta(days=2)

# A shorter window is counted first (ordersCount / customersCount / productsCount, one point each) and read in
# bulk when it holds more rows than paging reads in the time a bulk operation costs however small it is.
#
# Paging pays per row: a page is charged its actual cost, the objects it returned (Object 1 point, Connection 2 +
# its nodes, Scalar and Enum 0), and the bucket restores 100 points/s on the standard plan
# (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits). Once the bucket's first burst is spent,
# paging runs at restore rate / points per row. Points per row, by those rules, for a typical row:
#   order (queries.ORDER_FIELDS), 2 lines, no refund: Order 1 + 5 MoneyBags x 2 (bag + shopMoney) + presentment
#     money 1 + customer, billingAddress, customerJourneySummary, lastVisit 4 = 16, lineItems 2 + 2 lines x
#     (LineItem, product, variant 3 + 2 MoneyBags x 2) = 16: 32 (the daily bench's paged orders waited 0.28 s
#     an order at 100 points/s, 28 points);
#   order's fulfillments (queries.FULFILLMENT_FIELDS), one fulfillment of 2 lines: Order 1 + customer 1 + one
#     attribute 1 + Fulfillment 1 + trackingInfo 1 + fulfillmentLineItems 2 + 2 x (line + lineItem 2) = 11;
#   customer: Customer + defaultEmailAddress + defaultPhoneNumber + defaultAddress = 4;
#   product, one variant: Product 1 + variants 2 + (variant + inventoryItem 2) = 5.
# A bulk operation's fixed cost: Shopify publishes no duration, so it is the client's own poll schedule
# (ShopifyApi.bulk_poll: waits of 0.25 + 0.5 + 1 + 2 + 4 = 7.75 s before a sixth poll) and the JSONL download,
# ~8 s. Bulk is faster above 8 s x 100 points/s / points per row:
STANDARD_RESTORE_RATE = 100.0  # points/s the thresholds below assume; a shop reporting more scales them up
BULK_ABOVE_ORDERS = 25  # 8 x 100 / 32: a day of 370 orders (20,000 customers) pages ~100 s
BULK_ABOVE_FULFILLMENT_ORDERS = 72  # 8 x 100 / 11 = 72.7
BULK_ABOVE_CUSTOMERS = 200  # 8 x 100 / 4
BULK_ABOVE_PRODUCTS = 160  # 8 x 100 / 5

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
