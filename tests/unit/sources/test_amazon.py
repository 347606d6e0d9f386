"""Amazon connector against a fake HTTP layer: Orders v2026-01-01 searchOrders (the default) and the deprecated v0
getOrders + getOrderItems (a connection pinning ``api_version: v0``): filters, paging, parsing, pacing."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from fake_http import FakeSession, fixture, reply

from narrowcast.apis.amazon import marketplace_list
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.sources.amazon import AmazonClient, extract
from narrowcast.sources.amazon.extract import request_window
from narrowcast.sources.registry import source

CONN = Connection("narrowcast_amazon", "https://sellingpartnerapi-eu.amazon.com", password="Atza|secret",
                  extra={"marketplace_ids": "A1PA6795UKMFR9, A13V1IB3VIYZZH", "seller_id": "A2SELLER"})
# The deprecated Orders API v0, still selectable per connection until its removal.
CONN_V0 = Connection(CONN.conn_id, CONN.base_url, password=CONN.password, extra={**CONN.extra, "api_version": "v0"})
WINDOW = Window(datetime(2024, 3, 1), datetime(2024, 3, 2))


def run(session: FakeSession, http, conn: Connection = CONN_V0) -> list:
    return list(extract(conn, WINDOW, client=AmazonClient.from_connection(conn, **http(session))))


def with_roles(conn: Connection, roles) -> Connection:
    return Connection(conn.conn_id, conn.base_url, password=conn.password,
                      extra={**conn.extra, **({"restricted_roles": roles} if roles else {})})


def search_page(*order_ids: str, token: str | None = None, updated: str = "2024-03-01T12:00:00Z") -> dict:
    template = fixture("amazon_search_orders_page.json")["orders"][0]
    orders = []
    for oid in order_ids:
        order = copy.deepcopy(template) | {"orderId": oid, "lastUpdatedTime": updated}
        order["orderItems"][0]["orderItemId"] = f"item-{oid}"
        orders.append(order)
    body: dict = {"orders": orders}
    if token:
        body["pagination"] = {"nextToken": token}
    return body


def orders_page(*order_ids: str, token: str | None = None, updated: str = "2024-03-01T12:00:00Z") -> dict:
    template = fixture("amazon_orders_page.json")["payload"]["Orders"][0]
    orders = [copy.deepcopy(template) | {"AmazonOrderId": oid, "LastUpdateDate": updated} for oid in order_ids]
    payload: dict = {"Orders": orders}
    if token:
        payload["NextToken"] = token
    return {"payload": payload}


def items_page(order_id: str) -> dict:
    body = fixture("amazon_order_items.json")
    body["payload"]["AmazonOrderId"] = order_id
    body["payload"]["OrderItems"][0]["OrderItemId"] = f"item-{order_id}"
    return body


def test_v0_the_first_request_filters_on_last_update_and_marketplaces_with_the_lwa_header(http):
    session = FakeSession(reply(body={"payload": {"Orders": []}}))
    pages = run(session, http)
    sent = session.sent[0]
    assert sent.url == "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders"
    assert sent.query == {"MarketplaceIds": "A1PA6795UKMFR9,A13V1IB3VIYZZH", "LastUpdatedAfter":
                          "2024-03-01T00:00:00Z", "LastUpdatedBefore": "2024-03-02T00:00:00Z",
                          "MaxResultsPerPage": "100"}
    assert sent.headers["x-amz-access-token"] == "Atza|secret"
    assert [(p.entity, p.records) for p in pages] == [("amazon_orders", [])]


def test_v0_next_token_pages_carry_only_the_token_and_marketplaces_and_items_are_fetched_per_order(http):
    session = FakeSession(
        reply(body=orders_page("A-1", "A-2", token="tok2")), reply(body=items_page("A-1")),
        reply(body=items_page("A-2")), reply(body=orders_page("A-3")), reply(body=items_page("A-3")),
    )
    pages = run(session, http)
    assert session.sent[3].query == {"MarketplaceIds": "A1PA6795UKMFR9,A13V1IB3VIYZZH", "NextToken": "tok2"}
    assert [s.path for s in session.sent if "orderItems" in s.path] == [
        f"/orders/v0/orders/{oid}/orderItems" for oid in ("A-1", "A-2", "A-3")]
    items = [r["order_item_id"] for p in pages if p.entity == "amazon_order_items" for r in p.records]
    assert items == ["item-A-1", "item-A-2", "item-A-3"]


def test_an_order_updated_exactly_at_the_window_end_is_left_to_the_next_window(http):
    pages = run(FakeSession(reply(body=orders_page("A-9", updated="2024-03-02T00:00:00Z"))), http)
    assert [(p.entity, p.records) for p in pages] == [("amazon_orders", [])]


def test_v0_orders_and_items_parse_into_the_raw_columns_and_unpriced_orders_have_no_total(http):
    # The buyer e-mail is read only for a connection with a role that allows it (see the tests below).
    session = FakeSession(reply(body=fixture("amazon_orders_page.json")),
                          reply(body=fixture("amazon_order_items.json")), reply(body={"payload": {"OrderItems": []}}))
    pages = {p.entity: p.records for p in run(session, http)}
    assert pages["amazon_orders"] == [
        {"amazon_order_id": "302-3213453-6543210", "purchase_date": datetime(2024, 3, 1, 8, 15, 27),
         "last_update_date": datetime(2024, 3, 1, 12, 1, 44), "order_status": "Shipped",
         "marketplace_id": "A1PA6795UKMFR9", "buyer_email": None,
         "order_total": Decimal("64.80"), "currency": "EUR"},
        {"amazon_order_id": "302-9988776-1122334", "purchase_date": datetime(2024, 3, 1, 9),
         "last_update_date": datetime(2024, 3, 1, 9, 30), "order_status": "Canceled",
         "marketplace_id": "A1PA6795UKMFR9", "buyer_email": None, "order_total": None, "currency": None},
    ]
    assert pages["amazon_order_items"] == [
        {"order_item_id": "68828574383266", "amazon_order_id": "302-3213453-6543210", "seller_sku": "SKU-001",
         "quantity_ordered": 2, "quantity_shipped": 2, "item_price": Decimal("64.80")}]


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("A1PA6795UKMFR9", ["A1PA6795UKMFR9"], id="one id"),
    pytest.param(" A1, A2 ,", ["A1", "A2"], id="a comma-separated string"),
    pytest.param(["A1", "A2"], ["A1", "A2"], id="a JSON list from the connection extra"),
])
def test_marketplace_ids_come_as_a_list_or_a_comma_separated_string(value, expected):
    assert marketplace_list(value) == expected


def test_a_window_ending_in_the_future_is_refused_before_any_request(http):
    session = FakeSession()
    with pytest.raises(ValueError, match="is after now"):
        list(extract(CONN, WINDOW, client=AmazonClient.from_connection(CONN, **http(session)),
                     now=datetime(2024, 3, 1, 23, 59)))
    assert session.sent == []


def test_a_run_starting_at_its_interval_end_asks_for_orders_up_to_three_minutes_ago_on_its_first_attempt(http):
    # GIVEN the hourly run of 23:00-00:00, started five seconds after midnight
    session = FakeSession(reply(body={"payload": {"Orders": []}}))
    now = datetime(2024, 3, 2, 0, 0, 5)
    list(extract(CONN_V0, Window(datetime(2024, 3, 1, 23), datetime(2024, 3, 2)),
                 client=AmazonClient.from_connection(CONN_V0, **http(session)), now=now))
    # THEN LastUpdatedBefore is at least two minutes (SP-API's rule) before the request, with a minute to spare
    before = datetime.fromisoformat(session.sent[0].query["LastUpdatedBefore"].rstrip("Z"))
    assert before == datetime(2024, 3, 1, 23, 57, 5)
    assert now - before >= timedelta(minutes=2) + timedelta(minutes=1)


def test_the_minutes_cut_off_one_window_are_read_by_the_next_through_the_lookback():
    # GIVEN two consecutive hourly windows, each run five seconds after its end
    first, second = (Window(datetime(2024, 3, 1, h), datetime(2024, 3, 1, h + 1)) for h in (10, 11))
    first_request = request_window(first, first.end + timedelta(seconds=5))
    # WHEN the runner widens the second window by the source's lookback
    second_request = request_window(second.widened(source("amazon").lookback), second.end + timedelta(seconds=5))
    # THEN the second starts before the first ended: no order update falls between them
    assert second_request.start <= first_request.end < first.end


def test_a_past_window_is_asked_for_exactly():
    assert request_window(WINDOW, datetime(2024, 3, 5)) == WINDOW


@pytest.mark.parametrize(("roles", "expected"), [
    pytest.param(None, None, id="no declared role: the relay address is never read"),
    pytest.param("Inventory and Order Tracking", None, id="a role without buyer information"),
    pytest.param(["Tax Invoicing (Restricted)"], "x7k2m9@marketplace.amazon.de", id="the Tax Invoicing role"),
    pytest.param("Pricing, Tax Remittance", "x7k2m9@marketplace.amazon.de", id="the Tax Remittance role"),
])
def test_v0_the_buyer_email_is_kept_only_for_a_connection_declaring_a_role_that_allows_it(http, roles, expected):
    # GIVEN a v0 connection that declares (or not) its SP-API roles
    conn = with_roles(CONN_V0, roles)
    session = FakeSession(reply(body=fixture("amazon_orders_page.json")),
                          reply(body=fixture("amazon_order_items.json")), reply(body={"payload": {"OrderItems": []}}))
    # WHEN the orders are extracted
    pages = list(extract(conn, WINDOW, client=AmazonClient.from_connection(conn, **http(session))))
    # THEN BuyerInfo.BuyerEmail lands only when the role allows it
    assert [r["buyer_email"] for p in pages if p.entity == "amazon_orders" for r in p.records] == [expected, None]


def test_v0_a_window_of_over_2000_orders_is_paced_by_the_getorders_usage_plan_instead_of_failing(http, waits):
    # GIVEN 25 pages of 100 orders (2,500) while getOrders allows a burst of 20 then one call per 60 s
    pages = [reply(body=orders_page(*(f"A-{p}-{i}" for i in range(100)), token=f"t{p + 1}" if p < 24 else None))
             for p in range(25)]
    items = [reply(body={"payload": {"OrderItems": []}}) for _ in range(2_500)]
    answers = []
    for page in range(25):
        answers.append(pages[page])
        answers.extend(items[page * 100:(page + 1) * 100])
    session = FakeSession(*answers)
    # WHEN the window is extracted
    extracted = run(session, http)
    # THEN every order arrives, no request was refused, and the client waited per the plans before sending more
    assert sum(len(p.records) for p in extracted if p.entity == "amazon_orders") == 2_500
    get_orders = [s for s in session.sent if s.path == "/orders/v0/orders"]
    assert len(get_orders) == 25
    # 5 getOrders beyond the burst of 20 at 0.0167/s (~60 s each); getOrderItems' 0.5/s beyond its burst of 30
    assert sum(waits) >= 5 * (1 / 0.0167) * 0.99


def test_v0_a_429_without_a_rate_header_waits_one_interval_of_the_operations_usage_plan(http, waits):
    # GIVEN getOrders answers 429 with neither Retry-After nor x-amzn-RateLimit-Limit, then a page
    session = FakeSession(reply(429, {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]}),
                          reply(body={"payload": {"Orders": []}}))
    # WHEN the window is extracted
    run(session, http)
    # THEN the retry waited one getOrders interval (1 / 0.0167 requests per second)
    assert len(session.sent) == 2
    assert max(waits) == pytest.approx(1 / 0.0167)


def test_v0_the_client_follows_the_rate_amazon_reports_applying_instead_of_the_default_plan(http, waits):
    # GIVEN 25 pages of getOrders whose answers report the seller's plan: 20 requests/s (x-amzn-RateLimit-Limit)
    pages = [reply(body=orders_page(f"A-{p}", token=f"t{p + 1}" if p < 24 else None),
                   headers={"x-amzn-RateLimit-Limit": "20"}) for p in range(25)]
    answers = []
    for page in pages:
        answers += [page, reply(body={"payload": {"OrderItems": []}}, headers={"x-amzn-RateLimit-Limit": "20"})]
    # WHEN the window is extracted
    run(FakeSession(*answers), http)
    # THEN the 5 getOrders beyond the default burst wait 1/20 s each, not the default plan's 60 s
    assert sum(waits) <= 5 * (1 / 20) * 1.01


# ---- Orders API v2026-01-01 (searchOrders), the default ----------------------------------------------------------
def test_search_orders_filters_on_last_update_and_marketplaces_and_asks_for_the_data_sets_the_rows_need(http):
    # GIVEN a connection that names no version
    session = FakeSession(reply(body={"orders": []}))
    # WHEN a window is extracted
    pages = run(session, http, CONN)
    # THEN one searchOrders call asks for fulfilment (status, shipped) and proceeds (total), and no buyer data
    sent = session.sent[0]
    assert sent.url == "https://sellingpartnerapi-eu.amazon.com/orders/2026-01-01/orders"
    assert sent.query == {"marketplaceIds": "A1PA6795UKMFR9,A13V1IB3VIYZZH", "lastUpdatedAfter": "2024-03-01T00:00:00Z",
                          "lastUpdatedBefore": "2024-03-02T00:00:00Z", "maxResultsPerPage": "100",
                          "includedData": "FULFILLMENT,PROCEEDS"}
    assert sent.headers["x-amz-access-token"] == "Atza|secret"
    assert [(p.entity, p.records) for p in pages] == [("amazon_orders", [])]


def test_search_orders_pages_repeat_every_parameter_with_the_pagination_token_and_need_no_item_calls(http):
    # GIVEN two pages of orders, each order with its items in the answer
    session = FakeSession(reply(body=search_page("A-1", "A-2", token="tok2")), reply(body=search_page("A-3")))
    # WHEN the window is extracted
    pages = run(session, http, CONN)
    # THEN the second request repeats the first one's parameters with the token, and no other call is made
    assert len(session.sent) == 2
    assert session.sent[1].query == {**session.sent[0].query, "paginationToken": "tok2"}
    items = [r["order_item_id"] for p in pages if p.entity == "amazon_order_items" for r in p.records]
    assert items == ["item-A-1", "item-A-2", "item-A-3"]


def test_search_orders_parse_into_the_same_raw_rows_as_v0_with_statuses_named_as_in_v0(http):
    # GIVEN searchOrders answering the hand-written page (a shipped order and a cancelled one without proceeds)
    session = FakeSession(reply(body=fixture("amazon_search_orders_page.json")))
    # WHEN the window is extracted
    pages = {p.entity: p.records for p in run(session, http, CONN)}
    # THEN the rows are those the v0 answers of the same orders give (see the v0 parsing test)
    assert pages["amazon_orders"] == [
        {"amazon_order_id": "302-3213453-6543210", "purchase_date": datetime(2024, 3, 1, 8, 15, 27),
         "last_update_date": datetime(2024, 3, 1, 12, 1, 44), "order_status": "Shipped",
         "marketplace_id": "A1PA6795UKMFR9", "buyer_email": None,
         "order_total": Decimal("64.80"), "currency": "EUR"},
        {"amazon_order_id": "302-9988776-1122334", "purchase_date": datetime(2024, 3, 1, 9),
         "last_update_date": datetime(2024, 3, 1, 9, 30), "order_status": "Canceled",
         "marketplace_id": "A1PA6795UKMFR9", "buyer_email": None, "order_total": None, "currency": None},
    ]
    # AND the line price is the unit price times the quantity, as v0 ItemPrice was
    assert pages["amazon_order_items"] == [
        {"order_item_id": "68828574383266", "amazon_order_id": "302-3213453-6543210", "seller_sku": "SKU-001",
         "quantity_ordered": 2, "quantity_shipped": 2, "item_price": Decimal("64.80")},
        {"order_item_id": "68828574383999", "amazon_order_id": "302-9988776-1122334", "seller_sku": "SKU-002",
         "quantity_ordered": 1, "quantity_shipped": 0, "item_price": None}]


@pytest.mark.parametrize(("roles", "included", "expected"), [
    pytest.param(None, "FULFILLMENT,PROCEEDS", None, id="no declared role: no BUYER data set is asked for"),
    pytest.param("Tax Invoicing (Restricted)", "FULFILLMENT,PROCEEDS", None,
                 id="the v0 tax roles do not grant the e-mail in v2026"),
    pytest.param(["Direct-to-Consumer Delivery (Restricted)"], "FULFILLMENT,PROCEEDS,BUYER",
                 "x7k2m9@marketplace.amazon.de", id="the Direct-to-Consumer Delivery role"),
    pytest.param("Pricing, Direct-to-Consumer Shipping", "FULFILLMENT,PROCEEDS,BUYER",
                 "x7k2m9@marketplace.amazon.de", id="the same role under its other name"),
])
def test_search_orders_asks_for_the_buyer_and_keeps_the_relay_email_only_with_a_role_that_allows_it(
        http, roles, included, expected):
    # GIVEN a connection that declares (or not) its SP-API roles
    session = FakeSession(reply(body=fixture("amazon_search_orders_page.json")))
    # WHEN the orders are extracted
    pages = run(session, http, with_roles(CONN, roles))
    # THEN BUYER is asked for, and buyer.buyerEmail lands, only when the role allows it
    assert session.sent[0].query["includedData"] == included
    assert [r["buyer_email"] for p in pages if p.entity == "amazon_orders" for r in p.records] == [expected, None]


def test_search_orders_beyond_its_burst_are_paced_by_its_usage_plan_and_a_429_is_retried(http, waits):
    # GIVEN 22 pages, then a 429 that (as orders_2026-01-01.json documents) carries no x-amzn-RateLimit-Limit
    answers = [reply(body=search_page(f"A-{p}", token=f"t{p + 1}")) for p in range(22)]
    answers.append(reply(429, {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]}))
    answers.append(reply(body=search_page("A-last")))
    # WHEN the window is extracted
    pages = run(FakeSession(*answers), http, CONN)
    # THEN every order arrives; the 3 calls beyond the burst of 20 each waited one searchOrders interval
    # (1 / 0.0056 requests per second) before they were sent, and the refused one was retried after a wait
    assert sum(len(p.records) for p in pages if p.entity == "amazon_orders") == 23
    assert waits[:3] == pytest.approx([1 / 0.0056] * 3, rel=0.01)
    assert len(waits) == 4 and waits[3] > 0


def test_search_orders_follows_the_rate_its_answers_report_also_after_a_429_without_one(http, waits):
    # GIVEN answers reporting the seller's plan of 20 requests/s, then a 429 without the header
    answers = [reply(body=search_page(f"A-{p}", token=f"t{p + 1}"), headers={"x-amzn-RateLimit-Limit": "20"})
               for p in range(22)]
    answers.append(reply(429, {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]}))
    answers.append(reply(body=search_page("A-last"), headers={"x-amzn-RateLimit-Limit": "20"}))
    # WHEN the window is extracted
    run(FakeSession(*answers), http, CONN)
    # THEN no wait is longer than one interval of the reported plan
    assert max(waits) <= 1 / 20 * 1.01


def test_a_version_narrowcast_does_not_speak_is_refused_before_any_request(http):
    session = FakeSession()
    conn = Connection(CONN.conn_id, CONN.base_url, password=CONN.password, extra={**CONN.extra,
                                                                                 "api_version": "2025-01-01"})
    with pytest.raises(ValueError, match="2025-01-01"):
        run(session, http, conn)
    assert session.sent == []
