"""Shopify connector against a fake HTTP layer and hand-written answers in the GraphQL Admin API's documented
shapes: request shape, cursor pages, bulk operations and their JSONL, cost-based throttling, parsing."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime
from decimal import Decimal

import pytest
import requests
from fake_http import FIXTURES, FakeSession, fixture, reply

from narrowcast.apis.shopify import ShopifyApi, reassemble, reassemble_file
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError, RetriableApiError
from narrowcast.sources.shopify import ENTITIES, ShopifyClient, extract
from narrowcast.sources.shopify.queries import FULFILLMENTS, ORDERS
from narrowcast.sources.shopify.settings import BULK_ABOVE_ORDERS

CONN = Connection("narrowcast_shopify", "https://acme.myshopify.com", password="shpat_secret",
                  extra={"api_version": "2026-10"})
DAY = Window(datetime(2024, 3, 1), datetime(2024, 3, 2))
MONTH = Window(datetime(2024, 3, 1), datetime(2024, 4, 1))
# The connection reads no fulfillments (extra read_fulfillments unset), so these entities never appear.
UNREAD = {"shop_fulfillments", "shop_order_attributes"}
GRAPHQL = "https://acme.myshopify.com/admin/api/2026-10/graphql.json"
RESULT_URL = "https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-720918.jsonl?X-Goog-Signature=abc"
COST = {"requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}


def orders_page(*orders: dict, next_cursor: str | None = None) -> dict:
    page = copy.deepcopy(fixture("shopify_orders_page.json"))
    page["data"]["orders"]["edges"] = [{"node": o} for o in orders]
    page["data"]["orders"]["pageInfo"] = {"hasNextPage": next_cursor is not None, "endCursor": next_cursor}
    return page


def order(number: int = 450789469, updated_at: str = "2024-03-01T16:00:00Z") -> dict:
    node = copy.deepcopy(fixture("shopify_orders_page.json")["data"]["orders"]["edges"][0]["node"])
    node["id"], node["updatedAt"] = f"gid://shopify/Order/{number}", updated_at
    return node


def empty(connection: str) -> dict:
    return {"data": {connection: {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}},
            "extensions": {"cost": COST}}


def counted(connection: str, count: int, precision: str = "EXACT") -> dict:
    """A count field's answer in the documented shape (``ordersCount`` → ``Count { count precision }``)."""
    answer = copy.deepcopy(fixture("shopify_orders_count.json"))
    answer["data"] = {f"{connection}Count": {"count": count, "precision": precision}}
    return answer


def few(connection: str, count: int = 1) -> requests.Response:
    """The count of a window small enough to be paged."""
    return reply(body=counted(connection, count))


def no_customers_or_products() -> list[requests.Response]:
    return [few("customers", 0), reply(body=empty("customers")), few("products", 0), reply(body=empty("products"))]


def bulk_started(number: int) -> dict:
    return {"data": {"bulkOperationRunQuery": {"bulkOperation": {"id": f"gid://shopify/BulkOperation/{number}",
                                                                 "status": "CREATED"}, "userErrors": []}},
            "extensions": {"cost": COST}}


def bulk_status(number: int, status: str, url: str | None = None, **fields) -> dict:
    operation = {"id": f"gid://shopify/BulkOperation/{number}", "status": status, "errorCode": None,
                 "objectCount": "0", "url": url, "partialDataUrl": None, **fields}
    return {"data": {"bulkOperation": operation}, "extensions": {"cost": COST}}


def bulk_lines() -> bytes:
    return (FIXTURES / "shopify_bulk_orders.jsonl").read_bytes()


def no_rows_in_bulk(number: int) -> list:
    return [reply(body=bulk_started(number)), reply(body=bulk_status(number, "COMPLETED"))]


def run(session: FakeSession, http, window: Window = DAY, **client) -> list:
    return list(extract(CONN, window, client=ShopifyClient.from_connection(CONN, **http(session), **client)))


def records(pages: list, entity: str) -> list[dict]:
    return [r for p in pages if p.entity == entity for r in p.records]


# ---- paged queries ------------------------------------------------------------------------------------------
def test_a_short_window_is_read_with_paged_queries_filtered_on_updated_at(http):
    session = FakeSession(few("orders"), reply(body=empty("orders")), *no_customers_or_products())
    pages = run(session, http)
    assert {p.entity for p in pages} == set(ENTITIES) - UNREAD and all(p.records == [] for p in pages)
    count, first = session.sent[:2]
    assert (first.method, first.url) == ("POST", GRAPHQL)
    assert first.headers["X-Shopify-Access-Token"] == "shpat_secret"
    search = "updated_at:>='2024-03-01T00:00:00Z' AND updated_at:<'2024-03-02T00:00:00Z'"
    assert first.json["variables"] == {"first": 5, "after": None, "query": search}
    assert first.json["query"].startswith("query orders(") and "sortKey: UPDATED_AT" in first.json["query"]
    # AND each resource is counted with the same filter before it is read
    assert count.json["variables"] == {"query": search} and "ordersCount(query: $query) { count precision }" in \
        count.json["query"]
    assert [s.json["query"].split("(")[0] for s in session.sent] == [
        "query ordersCount", "query orders", "query customersCount", "query customers", "query productsCount",
        "query products"]


def test_a_window_end_with_sub_seconds_is_rounded_up_for_shopifys_second_precision_filter(http):
    session = FakeSession(few("orders"), reply(body=empty("orders")), *no_customers_or_products())
    run(session, http, Window(datetime(2024, 3, 1), datetime(2024, 3, 1, 12, 0, 0, 250000)))
    assert session.sent[1].json["variables"]["query"].endswith("updated_at:<'2024-03-01T12:00:01Z'")


def test_later_pages_send_the_end_cursor_of_the_page_before(http):
    # GIVEN two pages of orders, the first saying hasNextPage with its endCursor
    session = FakeSession(few("orders", 2), reply(body=orders_page(order(1), next_cursor="c2")),
                          reply(body=orders_page(order(2))), *no_customers_or_products())
    # WHEN the window is extracted
    pages = run(session, http)
    # THEN the second request asks for the page after c2, with the same query and filter, and each order arrives once
    assert session.sent[2].json["variables"]["after"] == "c2"
    assert session.sent[2].json["query"] == session.sent[1].json["query"]
    assert [o["id"] for o in records(pages, "shop_orders")] == [1, 2]
    assert [p.source_ref for p in pages if p.entity == "shop_orders"] == [
        "POST graphql.json orders page 1", "POST graphql.json orders page 2"]


@pytest.mark.parametrize(("updated_at", "kept"), [
    pytest.param("2024-03-01T00:00:00Z", True, id="an order updated exactly at the window start is kept"),
    pytest.param("2024-03-02T00:00:00Z", False, id="an order updated exactly at the window end is left to the next"),
    pytest.param("2024-03-02T00:59:59+01:00", True, id="times with an offset are compared in UTC"),
])
def test_the_window_is_half_open(http, updated_at, kept):
    session = FakeSession(few("orders"), reply(body=orders_page(order(7, updated_at))), *no_customers_or_products())
    assert [o["id"] for o in records(run(session, http), "shop_orders")] == ([7] if kept else [])


def test_a_graphql_order_parses_into_the_raw_columns_rest_gave(http):
    session = FakeSession(few("orders"), reply(body=orders_page(order())), *no_customers_or_products())
    pages = {p.entity: p.records for p in run(session, http) if p.records}
    assert pages["shop_orders"] == [{
        "id": 450789469, "order_number": 1001, "customer_id": 207119551, "email": "bob.norman@mail.example.com",
        "created_at": datetime(2008, 1, 10, 16, 0), "updated_at": datetime(2024, 3, 1, 16, 0),
        "processed_at": datetime(2008, 1, 10, 16, 0), "cancelled_at": None, "financial_status": "partially_refunded",
        "fulfillment_status": None, "currency": "USD", "subtotal_price": Decimal("597.00"),
        "total_discounts": Decimal("10.00"), "total_tax": Decimal("11.94"), "total_shipping": Decimal("0.00"),
        "total_price": Decimal("598.94"), "discount_codes": "TENOFF", "test": False, "source_name": "web",
        "landing_site": "http://www.example.com?source=abc", "referring_site": "http://www.otherexample.com",
        "billing_country_code": "US", "presentment_currency": "EUR", "total_price_presentment": Decimal("552.15"),
    }]
    assert [(li["id"], li["sku"], li["product_id"], li["variant_id"], li["total_discount"])
            for li in pages["shop_order_lines"]] == [
        (466157049, "IPOD2008GREEN", 632910392, 39072856, Decimal("0.00")),
        (518995019, "IPOD2008RED", 632910392, 49148385, Decimal("3.33")),
        (703073504, None, None, None, Decimal("0.00")),
    ]
    assert pages["shop_refunds"] == [
        {"id": 509562969, "order_id": 450789469, "created_at": datetime(2024, 9, 10, 15, 0),
         "line_item_id": 703073504, "quantity": 1, "subtotal": Decimal("195.66")},
        {"id": 509562969, "order_id": 450789469, "created_at": datetime(2024, 9, 10, 15, 0),
         "line_item_id": 466157049, "quantity": 1, "subtotal": Decimal("195.67")},
    ]


@pytest.mark.parametrize(("status", "rest"), [
    pytest.param("FULFILLED", "fulfilled", id="FULFILLED is fulfilled"),
    pytest.param("PARTIALLY_FULFILLED", "partial", id="PARTIALLY_FULFILLED is REST's partial"),
    pytest.param("UNFULFILLED", None, id="UNFULFILLED is REST's null"),
])
def test_fulfillment_statuses_keep_the_values_rest_wrote(http, status, rest):
    node = order() | {"displayFulfillmentStatus": status}
    session = FakeSession(few("orders"), reply(body=orders_page(node)), *no_customers_or_products())
    assert records(run(session, http), "shop_orders")[0]["fulfillment_status"] == rest


def test_customers_and_products_parse_into_the_raw_columns(http):
    customer = {"id": "gid://shopify/Customer/207119551", "firstName": "Bob", "lastName": "Norman",
                "createdAt": "2024-03-01T10:00:00Z", "updatedAt": "2024-03-01T10:00:00Z", "tags": ["vip", "wholesale"],
                "defaultEmailAddress": {"emailAddress": "bob@example.com", "marketingState": "SUBSCRIBED",
                                        "marketingUpdatedAt": "2024-03-01T09:30:00Z"},
                "defaultPhoneNumber": None,
                "defaultAddress": {"countryCodeV2": "DE", "province": "Berlin", "city": "Berlin"}}
    product = {"id": "gid://shopify/Product/632910392", "title": "IPod Nano", "productType": "Cult Products",
               "vendor": "Apple", "status": "ACTIVE", "createdAt": "2024-01-01T00:00:00Z",
               "updatedAt": "2024-03-01T12:00:00Z",
               "variants": {"edges": [{"node": {"id": "gid://shopify/ProductVariant/808950810", "sku": "IPOD2008PINK",
                                                "price": "199.00", "compareAtPrice": None,
                                                "inventoryItem": {"id": "gid://shopify/InventoryItem/808950810"}}}],
                            "pageInfo": {"hasNextPage": False}}}
    customers, products = empty("customers"), empty("products")
    customers["data"]["customers"]["edges"] = [{"node": customer}]
    products["data"]["products"]["edges"] = [{"node": product}]
    session = FakeSession(few("orders", 0), reply(body=empty("orders")), few("customers"), reply(body=customers),
                          few("products"), reply(body=products))
    pages = {p.entity: p.records for p in run(session, http) if p.records}
    assert pages["shop_customers"] == [{
        "id": 207119551, "email": "bob@example.com", "phone": None, "first_name": "Bob", "last_name": "Norman",
        "accepts_marketing": True, "email_marketing_consent_state": "subscribed", "country_code": "DE",
        "province": "Berlin", "city": "Berlin", "created_at": datetime(2024, 3, 1, 10),
        "updated_at": datetime(2024, 3, 1, 10), "tags": "vip, wholesale",
        "email_marketing_consent_updated_at": datetime(2024, 3, 1, 9, 30)}]
    assert pages["shop_products"] == [{
        "product_id": 632910392, "variant_id": 808950810, "inventory_item_id": 808950810, "sku": "IPOD2008PINK",
        "title": "IPod Nano", "product_type": "Cult Products", "vendor": "Apple", "price": Decimal("199.00"),
        "compare_at_price": None, "status": "active", "created_at": datetime(2024, 1, 1),
        "updated_at": datetime(2024, 3, 1, 12)}]


def test_a_bad_money_string_fails_with_the_order_and_field_named(http):
    bad = order(42)
    bad["totalPriceSet"]["shopMoney"]["amount"] = "12,50"
    with pytest.raises(ValueError, match=r"orders page 1 order gid://shopify/Order/42 totalPriceSet: '12,50' is not"):
        run(FakeSession(few("orders"), reply(body=orders_page(bad))), http)


def test_an_order_with_more_lines_than_a_page_holds_sends_the_window_to_bulk(http):
    # GIVEN a paged order whose lineItems say there is another page
    crowded = order()
    crowded["lineItems"]["pageInfo"]["hasNextPage"] = True
    session = FakeSession(few("orders"), reply(body=orders_page(crowded)), reply(body=bulk_started(1)),
                          reply(body=bulk_status(1, "COMPLETED", RESULT_URL)), reply(body=bulk_lines()),
                          *no_customers_or_products())
    # WHEN the short window is extracted
    pages = run(session, http)
    # THEN the orders are read again in bulk, and only the bulk's rows are yielded
    assert "bulkOperationRunQuery" in session.sent[2].json["query"]
    assert [o["id"] for o in records(pages, "shop_orders")] == [450789469, 450789470]


# ---- paging or bulk, by the window's volume -----------------------------------------------------------------
def orders_in_bulk() -> list[requests.Response]:
    return [reply(body=bulk_started(1)), reply(body=bulk_status(1, "COMPLETED", RESULT_URL)), reply(body=bulk_lines())]


def plus_plan(answer: dict) -> dict:
    answer["extensions"]["cost"]["throttleStatus"]["restoreRate"] = 1000.0  # Shopify Plus, rate-limits page
    return answer


@pytest.mark.parametrize(("count", "in_bulk"), [
    pytest.param(counted("orders", 24), False, id="24 orders are paged"),
    pytest.param(counted("orders", BULK_ABOVE_ORDERS), False, id="as many orders as the threshold are paged"),
    pytest.param(counted("orders", BULK_ABOVE_ORDERS + 1), True, id="one order more than the threshold goes to bulk"),
    pytest.param(counted("orders", 370), True, id="a day of a 20,000-customer shop goes to bulk"),
    pytest.param(counted("orders", 10_000, "AT_LEAST"), True, id="a count at its 10,000 cap reads AT_LEAST and goes to bulk"),
    pytest.param(counted("orders", 20, "AT_LEAST"), True,
                 id="a count that reached a cap below the threshold still says the window is large"),
    pytest.param(plus_plan(counted("orders", 250)), False,
                 id="on Shopify Plus's 1,000 points a second 250 orders page faster than a bulk operation"),
    pytest.param(plus_plan(counted("orders", 251)), True, id="on Shopify Plus 251 orders go to bulk"),
])
def test_a_short_window_is_read_in_bulk_when_its_count_says_paging_would_be_slower(http, count, in_bulk):
    # GIVEN a one-day window whose ordersCount answers ``count``
    orders = orders_in_bulk() if in_bulk else [reply(body=orders_page(order(450789469), order(450789470)))]
    session = FakeSession(reply(body=count), *orders, *no_customers_or_products())
    # WHEN the window is extracted
    pages = run(session, http)
    # THEN the orders are read in bulk exactly when the count is above the threshold (or at its cap)
    sent = [s.json["query"].split("(")[0].split("{")[0].strip() for s in session.sent if s.method == "POST"]
    assert sent[:2] == ["query ordersCount", "mutation bulkOperationRunQuery" if in_bulk else "query orders"]
    # AND either way the same orders arrive, each once
    assert [o["id"] for o in records(pages, "shop_orders")] == [450789469, 450789470]


def test_the_fulfillments_read_the_orders_count_the_orders_read_asked_for_with_their_own_threshold(http):
    # GIVEN a shop reading fulfillments, whose day holds 50 orders: more than the orders query pages in a bulk
    # operation's time (BULK_ABOVE_ORDERS = 25), fewer than the lighter fulfillments query does (72)
    conn = dataclasses.replace(CONN, extra={**CONN.extra, "read_fulfillments": True})
    session = FakeSession(reply(body=counted("orders", 50)), reply(body=bulk_started(1)),
                          reply(body=bulk_status(1, "COMPLETED")), reply(body=empty("orders")),
                          *no_customers_or_products())
    # WHEN the day is extracted
    list(extract(conn, DAY, client=ShopifyClient.from_connection(conn, **http(session))))
    # THEN the orders were counted once, read in bulk, and their fulfillments paged
    sent = [s.json["query"].split("(")[0] for s in session.sent]
    assert sent == ["query ordersCount", "mutation bulkOperationRunQuery", "query bulkOperation",
                    "query orderFulfillments", "query customersCount", "query customers", "query productsCount",
                    "query products"]
    assert FULFILLMENTS.bulk_above > 50 > ORDERS.bulk_above


@pytest.mark.parametrize("answer", [
    pytest.param({"ordersCount": {"count": "370", "precision": "EXACT"}}, id="a count that is not an Int"),
    pytest.param({"ordersCount": {"count": 370, "precision": "ESTIMATE"}}, id="a precision CountPrecision lacks"),
    pytest.param({"ordersCount": None}, id="no Count at all"),
])
def test_a_count_answer_outside_the_documented_shape_fails_with_the_field_named(http, answer):
    body = counted("orders", 1)
    body["data"] = answer
    with pytest.raises(FatalApiError, match=r"ordersCount is not a Count \{ count precision \}"):
        run(FakeSession(reply(body=body)), http)


# ---- bulk operations ----------------------------------------------------------------------------------------
def test_a_bulk_result_is_reassembled_from_its_parent_ids():
    roots = reassemble(bulk_lines().decode().splitlines(), ORDERS.children)
    assert [r["id"] for r in roots] == ["gid://shopify/Order/450789469", "gid://shopify/Order/450789470"]
    lines = [e["node"]["id"] for e in roots[0]["lineItems"]["edges"]]
    assert lines == ["gid://shopify/LineItem/466157049", "gid://shopify/LineItem/518995019",
                     "gid://shopify/LineItem/703073504"]
    assert [e["node"]["sku"] for e in roots[1]["lineItems"]["edges"]] == ["IPOD2008BLUE"]
    refund_items = roots[0]["refunds"][0]["refundLineItems"]["edges"]
    assert [e["node"]["lineItem"]["id"] for e in refund_items] == ["gid://shopify/LineItem/703073504",
                                                                   "gid://shopify/LineItem/466157049"]
    assert all("__parentId" not in e["node"] for e in refund_items)


def test_a_bulk_result_file_is_read_a_chunk_of_roots_at_a_time_whichever_order_its_children_come_in(tmp_path):
    whole = reassemble(bulk_lines().decode().splitlines(), ORDERS.children)
    lines = bulk_lines().decode().splitlines()
    # Shopify's order (each child after its parent) and every child at the end (groupObjects off)
    children_last = [x for x in lines if "__parentId" not in x] + [x for x in lines if "__parentId" in x]
    for order in (lines, children_last):
        path = tmp_path / "result.jsonl"
        path.write_text("\n".join(order) + "\n")
        chunks = list(reassemble_file(path, ORDERS.children, chunk_size=1))
        assert [len(chunk) for chunk in chunks] == [1, 1]
        assert [root for chunk in chunks for root in chunk] == whole


@pytest.mark.parametrize(("line", "message"), [
    pytest.param('{"id":"gid://shopify/LineItem/1","__parentId":"gid://shopify/Order/9"}', "parent gid://shopify/Order/9",
                 id="a child of a parent the file does not hold"),
    pytest.param('{"id":"gid://shopify/Fulfillment/1","__parentId":"gid://shopify/Order/450789469"}', "Fulfillment",
                 id="a child of a kind the query did not ask for"),
    pytest.param("{not json", "line 9 is not JSON", id="a line that is not JSON"),
])
def test_a_bulk_result_that_does_not_fit_its_query_is_refused(line, message):
    with pytest.raises(ValueError, match=message):
        reassemble([*bulk_lines().decode().splitlines(), line], ORDERS.children)


def test_a_long_window_is_one_bulk_operation_per_resource_and_parses_like_pages(http, waits):
    # GIVEN a shop whose orders bulk operation runs once, then completes with a result file
    session = FakeSession(reply(body=bulk_started(720918)), reply(body=bulk_status(720918, "RUNNING")),
                          reply(body=bulk_status(720918, "COMPLETED", RESULT_URL, objectCount="9")),
                          reply(body=bulk_lines()), *no_rows_in_bulk(2), *no_rows_in_bulk(3))
    # WHEN a month is extracted
    pages = run(session, http, MONTH)
    # THEN the bulk query carries the window as a literal filter, nested connections without page sizes
    started = session.sent[0].json
    assert started["variables"]["query"].startswith(
        "{\n  orders(query: \"updated_at:>='2024-03-01T00:00:00Z' AND updated_at:<'2024-04-01T00:00:00Z'\")")
    assert "lineItems {" in started["variables"]["query"] and "first:" not in started["variables"]["query"]
    # AND the operation is polled by id, waiting between polls
    assert session.sent[1].json["variables"] == {"id": "gid://shopify/BulkOperation/720918"}
    assert waits == [ShopifyApi.bulk_poll[0]]  # one wait: the first poll found it RUNNING
    # AND the result is fetched from its URL without the shop's token
    download = session.sent[3]
    assert (download.method, download.url) == ("GET", RESULT_URL)
    assert not any(h.lower() == "x-shopify-access-token" for h in download.headers)
    # AND the reassembled orders give the same records as the paged query
    paged = {p.entity: p.records for p in run(FakeSession(few("orders"), reply(body=orders_page(order())),
                                                          *no_customers_or_products()), http) if p.records}
    assert records(pages, "shop_orders")[0] == paged["shop_orders"][0]
    assert [r for r in records(pages, "shop_order_lines") if r["order_id"] == 450789469] == paged["shop_order_lines"]
    assert records(pages, "shop_refunds") == paged["shop_refunds"]
    assert [p.source_ref for p in pages if p.entity == "shop_orders"] == [
        "bulk operation gid://shopify/BulkOperation/720918 orders 1-2"]


def test_a_bulk_operation_that_matched_nothing_has_no_url_and_nothing_is_downloaded(http):
    session = FakeSession(reply(body=bulk_started(720919)), reply(body=fixture("shopify_bulk_empty.json")),
                          *no_rows_in_bulk(2), *no_rows_in_bulk(3))
    pages = run(session, http, MONTH)
    assert all(p.records == [] for p in pages) and {p.entity for p in pages} == set(ENTITIES) - UNREAD
    assert all(s.method == "POST" for s in session.sent)


@pytest.mark.parametrize(("status", "error", "partial", "kind", "message"), [
    pytest.param("FAILED", "ACCESS_DENIED", False, FatalApiError, "ended FAILED with errorCode ACCESS_DENIED",
                 id="ACCESS_DENIED is fatal"),
    pytest.param("FAILED", "TIMEOUT", True, FatalApiError, "TIMEOUT, partial data was left",
                 id="TIMEOUT is fatal and its partial data is not loaded"),
    pytest.param("FAILED", "INTERNAL_SERVER_ERROR", False, RetriableApiError, "INTERNAL_SERVER_ERROR",
                 id="Shopify's own failure is worth a later retry"),
    pytest.param("CANCELED", None, False, FatalApiError, "ended CANCELED", id="a canceled operation is fatal"),
    pytest.param("EXPIRED", None, False, FatalApiError, "ended EXPIRED", id="an expired operation is fatal"),
])
def test_a_bulk_operation_that_does_not_complete_fails_the_extract(http, status, error, partial, kind, message):
    answer = fixture("shopify_bulk_failed.json")
    answer["data"]["bulkOperation"].update(status=status, errorCode=error,
                                           partialDataUrl=RESULT_URL if partial else None)
    with pytest.raises(kind, match=message) as caught:
        run(FakeSession(reply(body=bulk_started(720918)), reply(body=answer)), http, MONTH)
    assert "X-Goog-Signature" not in str(caught.value)  # the pre-signed URL is a credential


def test_a_refused_bulk_query_is_fatal_with_shopifys_user_error(http):
    refused = {"data": {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
        {"field": ["query"], "message": "Bulk queries cannot contain more than 5 connections.", "code": "INVALID"}]}}}
    with pytest.raises(FatalApiError, match=r"more than 5 connections. \[query\] \(INVALID\)"):
        run(FakeSession(reply(body=refused)), http, MONTH)


# ---- cost-based throttling ----------------------------------------------------------------------------------
def test_a_throttled_query_is_retried_after_the_restore_time_of_the_points_it_lacks(http, waits):
    # GIVEN a shop that answers THROTTLED (787 points asked, 387 available, 100 restored per second) once
    session = FakeSession(few("orders"), reply(body=fixture("shopify_throttled.json")),
                          reply(body=orders_page(order())),
                          *no_customers_or_products())
    # WHEN the window is extracted
    pages = run(session, http)
    # THEN the same query is sent again after (787 - 387) / 100 seconds and its order arrives
    assert waits == [4.0]
    assert session.sent[2].json == session.sent[1].json
    assert [o["id"] for o in records(pages, "shop_orders")] == [450789469]


def test_a_query_costing_more_than_the_bucket_holds_waits_before_it_is_sent(http, waits):
    # GIVEN a first page whose answer leaves 100 of the 787 points its query costs, and a clock that stands still
    first = orders_page(order(1), next_cursor="c2")
    first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] = 100
    session = FakeSession(few("orders"), reply(body=first), reply(body=orders_page(order(2))),
                          *no_customers_or_products())
    # WHEN the window is extracted
    run(session, http, clock=lambda: 0.0)
    # THEN the second page waits (787 - 100) / 100 s before it is sent; other queries, not priced yet, do not
    assert waits == [pytest.approx(6.87)]
    assert len(session.sent) == 7


def test_a_query_the_bucket_can_pay_for_is_sent_without_waiting(http, waits):
    first = orders_page(order(1), next_cursor="c2")  # 1969 points left, 787 asked
    session = FakeSession(few("orders"), reply(body=first), reply(body=orders_page(order(2))),
                          *no_customers_or_products())
    run(session, http, clock=lambda: 0.0)
    assert waits == []


def test_graphql_errors_other_than_throttling_are_fatal_with_their_code(http):
    error = {"errors": [{"message": "Field 'landingSite' doesn't exist on type 'Order'",
                         "extensions": {"code": "undefinedField", "typeName": "Order", "fieldName": "landingSite"}}]}
    with pytest.raises(FatalApiError, match=r"doesn't exist on type 'Order' \(undefinedField\)"):
        run(FakeSession(few("orders"), reply(body=error)), http)


def test_the_fixtures_follow_the_documented_envelopes():
    # The throttled answer has no data, errors[0].extensions.code THROTTLED and a null actualQueryCost.
    throttled = fixture("shopify_throttled.json")
    assert "data" not in throttled and throttled["extensions"]["cost"]["actualQueryCost"] is None
    # A count is a Count object { count: Int!, precision: CountPrecision! }, one point (an Object costs 1).
    count = fixture("shopify_orders_count.json")
    assert set(count["data"]["ordersCount"]) == {"count", "precision"}
    assert count["data"]["ordersCount"]["precision"] in ("EXACT", "AT_LEAST")
    assert count["extensions"]["cost"]["requestedQueryCost"] == 1
    assert all(json.loads(line).get("__parentId", "").startswith("gid://shopify/")
               for line in bulk_lines().decode().splitlines()[2:])


def test_a_shop_at_its_bulk_operation_limit_is_retried_later_not_failed_for_good(http):
    busy = {"data": {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
        {"field": None, "message": "Bulk operations limit reached. Please try again later.", "code": "LIMIT_REACHED"}]}}}
    with pytest.raises(RetriableApiError, match="limit reached"):
        run(FakeSession(reply(body=busy)), http, MONTH)
