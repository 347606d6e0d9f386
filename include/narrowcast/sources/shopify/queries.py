"""The GraphQL documents of the shop source: one selection per resource, written once and rendered either as a
paged query (``first:``/``after:`` with ``pageInfo``) or as a bulk operation's query (nested connections without
page sizes; Shopify returns every node, one JSONL line each).

Every field is from the GraphQL Admin reference (https://shopify.dev/docs/api/admin-graphql/latest/objects/Order,
``Customer``, ``Product``, ``ProductVariant``, ``LineItem``, ``Refund``, ``RefundLineItem``); the REST → GraphQL
mapping of each raw column is in :mod:`narrowcast.sources.shopify.records`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from narrowcast.sources.shopify import settings

# [lines], [refunds], [refund_lines], [variants]: nested page arguments; [more]: nested pageInfo (paged only).
ORDER_FIELDS = """id number email createdAt updatedAt processedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
      subtotalPriceSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } }
      totalTaxSet { shopMoney { amount } } totalShippingPriceSet { shopMoney { amount } }
      totalPriceSet { shopMoney { amount } presentmentMoney { amount currencyCode } }
      discountCodes test sourceName
      customer { id }
      billingAddress { countryCodeV2 }
      customerJourneySummary { lastVisit { landingPage referrerUrl } }
      lineItems[lines] {
        edges { node { id sku title quantity product { id } variant { id }
          originalUnitPriceSet { shopMoney { amount } } totalDiscountSet { shopMoney { amount } } } }[more]
      }
      refunds[refunds] {
        id createdAt
        refundLineItems[refund_lines] {
          edges { node { id quantity lineItem { id } subtotalSet { shopMoney { amount } } } }[more]
        }
      }"""

CUSTOMER_FIELDS = """id firstName lastName createdAt updatedAt tags
      defaultEmailAddress { emailAddress marketingState marketingUpdatedAt }
      defaultPhoneNumber { phoneNumber }
      defaultAddress { countryCodeV2 province city }"""

# The shipments the shop's admin (or an app) recorded on an order, and the marketplace order id an order imported
# from a marketplace carries (Order.sourceName/sourceIdentifier, customAttributes = the order's note attributes;
# Fulfillment, FulfillmentTrackingInfo, FulfillmentLineItem). Read by a query of its own: on the orders query it
# would push a page of five orders past the 1,000-point limit.
FULFILLMENT_FIELDS = """id updatedAt sourceName sourceIdentifier
      customer { id }
      customAttributes { key value }
      fulfillments[fulfillments] {
        id status createdAt updatedAt
        trackingInfo[trackingInfo] { company number url }
        fulfillmentLineItems[fulfillment_lines] {
          edges { node { id quantity lineItem { id sku } } }[more]
        }
      }"""

PRODUCT_FIELDS = """id title productType vendor status createdAt updatedAt
      variants[variants] {
        edges { node { id sku price compareAtPrice inventoryItem { id } } }[more]
      }"""


def _render(fields: str, marks: dict[str, str]) -> str:
    for name, text in marks.items():
        fields = fields.replace(f"[{name}]", text)
    return fields


@dataclass(frozen=True)
class Resource:
    """One top-level connection the source reads (``orders``) and the selection of its nodes."""

    connection: str
    fields: str
    page_size: int
    nested_pages: dict[str, int]  # placeholder -> page size of a nested connection or list in paged queries
    children: dict[str, str]  # GID kind of a bulk child line -> the parent field it belongs to
    lists: tuple[str, ...] = ()  # nested list fields (not connections) limited by a nested_pages size
    operation: str = ""  # the paged query's name when another resource reads the same connection
    bulk_above: int = field(kw_only=True)  # rows of a short window above which bulk beats paging (settings)

    @property
    def label(self) -> str:
        """What the resource is called in queries and source refs."""
        return self.operation or self.connection

    def paged_query(self) -> str:
        marks = {name: f"(first: {size})" for name, size in self.nested_pages.items()}
        selection = _render(self.fields, {**marks, "more": " pageInfo { hasNextPage }"})
        return (f"query {self.label}($first: Int!, $after: String, $query: String) {{\n"
                f"  {self.connection}(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{\n"
                f"    edges {{ node {{ {selection} }} }}\n"
                f"    pageInfo {{ hasNextPage endCursor }}\n  }}\n}}")

    @property
    def count_field(self) -> str:
        """The query root's count of this connection's nodes (``ordersCount``), which takes the same ``query``."""
        return f"{self.connection}Count"

    def count_query(self) -> str:
        """How many nodes match a search, as ``Count { count precision }``; the ``limit`` is left at its default
        (10,000, reached = ``AT_LEAST``), far above any threshold."""
        return (f"query {self.count_field}($query: String) {{\n"
                f"  {self.count_field}(query: $query) {{ count precision }}\n}}")

    def bulk_query(self, search: str) -> str:
        """The query of a bulk operation: no variables exist there, so the search filter is a literal."""
        selection = _render(self.fields, {**dict.fromkeys(self.nested_pages, ""), "more": ""})
        literal = search.replace("\\", "\\\\").replace('"', '\\"')
        return f'{{\n  {self.connection}(query: "{literal}") {{\n    edges {{ node {{ {selection} }} }}\n  }}\n}}'


ORDERS = Resource("orders", ORDER_FIELDS, settings.ORDERS_PAGE,
                  {"lines": settings.ORDER_LINES_PAGE, "refunds": settings.ORDER_REFUNDS_PAGE,
                   "refund_lines": settings.REFUND_LINES_PAGE},
                  {"LineItem": "lineItems", "RefundLineItem": "refundLineItems"}, lists=("refunds",),
                  bulk_above=settings.BULK_ABOVE_ORDERS)
FULFILLMENTS = Resource("orders", FULFILLMENT_FIELDS, settings.FULFILLMENT_ORDERS_PAGE,
                        {"fulfillments": settings.FULFILLMENTS_PAGE, "trackingInfo": settings.TRACKING_INFO_PAGE,
                         "fulfillment_lines": settings.FULFILLMENT_LINES_PAGE},
                        {"FulfillmentLineItem": "fulfillmentLineItems"}, lists=("fulfillments", "trackingInfo"),
                        operation="orderFulfillments", bulk_above=settings.BULK_ABOVE_FULFILLMENT_ORDERS)
CUSTOMERS = Resource("customers", CUSTOMER_FIELDS, settings.CUSTOMERS_PAGE, {}, {},
                     bulk_above=settings.BULK_ABOVE_CUSTOMERS)
PRODUCTS = Resource("products", PRODUCT_FIELDS, settings.PRODUCTS_PAGE, {"variants": settings.VARIANTS_PAGE},
                    {"ProductVariant": "variants"}, bulk_above=settings.BULK_ABOVE_PRODUCTS)
