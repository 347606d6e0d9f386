"""The GraphQL documents the abandoned-checkout source sends (paged queries; the source reads minutes, never days).

Fields from the GraphQL Admin reference, 2026-10: ``AbandonedCheckout`` (id, name, abandonedCheckoutUrl,
createdAt, updatedAt, completedAt, customer, totalPriceSet, lineItems;
https://shopify.dev/docs/api/admin-graphql/latest/objects/AbandonedCheckout), ``AbandonedCheckoutLineItem``
(title, variantTitle, quantity, sku, variant, product, image, originalUnitPriceSet, discountedTotalPriceSet;
https://shopify.dev/docs/api/admin-graphql/latest/objects/AbandonedCheckoutLineItem) and ``Order``. The
checkout has no e-mail field of its own: the buyer's address and consent come from ``customer``. No
``sortKey``: the window is read whole before anything is kept, so the order of its pages does not matter.
"""

from __future__ import annotations

# A line costs about 10 points (itself, variant, product, image and two MoneyBags of two MoneyV2 each), so 5
# checkouts of up to 10 lines stay near 550, under the 1,000-point limit of one query
# (https://shopify.dev/docs/api/usage/limits). A checkout with more lines than a page holds is read again on
# its own (``CHECKOUT_LINES``).
CHECKOUTS_PAGE = 5
CHECKOUT_LINES_PAGE = 10
ORDERS_PAGE = 100

_MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
LINE_FIELDS = f"""id title variantTitle quantity sku
          variant {{ id sku }} product {{ id }} image {{ url }}
          originalUnitPriceSet {{ {_MONEY} }} discountedTotalPriceSet {{ {_MONEY} }}"""

ABANDONED_CHECKOUTS = f"""query abandonedCheckouts($first: Int!, $after: String, $query: String, $lines: Int!) {{
  abandonedCheckouts(first: $first, after: $after, query: $query) {{
    edges {{ node {{
      id name abandonedCheckoutUrl createdAt updatedAt completedAt
      customer {{ id defaultEmailAddress {{ emailAddress marketingState }} }}
      totalPriceSet {{ {_MONEY} }}
      lineItems(first: $lines) {{ edges {{ node {{ {LINE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }}
    }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

# The remaining lines of one long checkout, page by page.
CHECKOUT_LINES = f"""query abandonedCheckoutLines($first: Int!, $after: String, $query: String) {{
  abandonedCheckouts(first: 1, query: $query) {{
    edges {{ node {{ id lineItems(first: $first, after: $after) {{
      edges {{ node {{ {LINE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}
  }}
}}"""

# Orders placed in the window: what recovers a checkout before the reminder goes.
RECENT_ORDERS = """query recentOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { node { id email createdAt updatedAt customer { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
