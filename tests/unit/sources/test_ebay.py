"""eBay connector against a fake HTTP layer: filter syntax, next-href paging, window end, parsing."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

import pytest
from fake_http import FakeSession, fixture, reply

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.sources.ebay import EbayClient, extract

CONN = Connection("narrowcast_ebay", "https://api.ebay.com", password="v^1.1#secret")
WINDOW = Window(datetime(2024, 3, 1), datetime(2024, 3, 2))
NEXT = ("https://api.ebay.com/sell/fulfillment/v1/order?filter=lastmodifieddate:%5B2024-03-01T00:00:00.000Z.."
        "2024-03-02T00:00:00.000Z%5D&limit=200&offset={offset}")


def run(session: FakeSession, http) -> list:
    return list(extract(CONN, WINDOW, client=EbayClient.from_connection(CONN, **http(session))))


def order(order_id: str, modified: str = "2024-03-01T10:00:00.000Z") -> dict:
    body = copy.deepcopy(fixture("ebay_orders_page.json")["orders"][0])
    body["orderId"], body["lastModifiedDate"] = order_id, modified
    return body


def test_the_first_request_filters_on_last_modified_date_with_a_bearer_token(http):
    session = FakeSession(reply(body={"total": 0, "limit": 200, "offset": 0, "orders": []}))
    pages = run(session, http)
    sent = session.sent[0]
    assert sent.url == "https://api.ebay.com/sell/fulfillment/v1/order"
    assert sent.query == {"filter": "lastmodifieddate:[2024-03-01T00:00:00.000Z..2024-03-02T00:00:00.000Z]",
                          "limit": "200", "offset": "0"}
    assert sent.headers["Authorization"] == "Bearer v^1.1#secret"
    assert all(p.records == [] for p in pages)


def test_pages_follow_the_next_href_until_there_is_none(http):
    session = FakeSession(
        reply(body={"total": 3, "offset": 0, "orders": [order("1")], "next": NEXT.format(offset=200)}),
        reply(body={"total": 3, "offset": 200, "orders": [order("2")], "next": NEXT.format(offset=400)}),
        reply(body={"total": 3, "offset": 400, "orders": [order("3")]}),
    )
    pages = run(session, http)
    assert [s.query["offset"] for s in session.sent] == ["0", "200", "400"]
    assert session.sent[2].url == NEXT.format(offset=400)
    assert [r["order_id"] for p in pages if p.entity == "ebay_orders" for r in p.records] == ["1", "2", "3"]


@pytest.mark.parametrize(("modified", "kept"), [
    pytest.param("2024-03-01T00:00:00.000Z", True, id="an order modified at the window start is kept"),
    pytest.param("2024-03-02T00:00:00.000Z", False, id="an order modified at the window end is left to the next"),
])
def test_the_window_is_half_open_although_the_filter_range_is_inclusive(http, modified, kept):
    pages = run(FakeSession(reply(body={"total": 1, "orders": [order("9", modified)]})), http)
    assert [r["order_id"] for p in pages if p.entity == "ebay_orders" for r in p.records] == (["9"] if kept else [])


def test_an_order_page_parses_into_the_raw_columns(http):
    pages = {p.entity: p.records for p in run(FakeSession(reply(body=fixture("ebay_orders_page.json"))), http)}
    assert pages["ebay_orders"] == [{
        "order_id": "12-10765-98213", "creation_date": datetime(2024, 3, 1, 9, 12, 44),
        "last_modified_date": datetime(2024, 3, 1, 10, 2, 10, 551000), "order_fulfillment_status": "IN_PROGRESS",
        "order_payment_status": "PAID", "cancel_state": "NONE_REQUESTED", "buyer_username": "j***n",
        "buyer_email": "a1b2c3@members.ebay.com", "total": Decimal("59.70"), "currency": "EUR",
        "marketplace_id": "EBAY_DE"}]
    assert pages["ebay_order_lines"] == [
        {"line_item_id": "10055567896001", "order_id": "12-10765-98213", "sku": "SKU-001", "quantity": 1,
         "line_item_cost": Decimal("39.90"), "line_item_fulfillment_status": "FULFILLED"},
        {"line_item_id": "10055567896002", "order_id": "12-10765-98213", "sku": "SKU-007", "quantity": 2,
         "line_item_cost": Decimal("14.90"), "line_item_fulfillment_status": "NOT_STARTED"},
    ]
