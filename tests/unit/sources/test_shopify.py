"""Shopify connector against a fake HTTP layer: request shape, cursor pagination, window boundary, parsing."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

import pytest
from fake_http import FakeSession, fixture, reply

from narrowcast.apis.shopify import next_page_info
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.sources.shopify import ENTITIES, ShopifyClient, extract

CONN = Connection("narrowcast_shopify", "https://acme.myshopify.com", password="shpat_secret",
                  extra={"api_version": "2026-10"})
WINDOW = Window(datetime(2024, 3, 1), datetime(2024, 3, 2))
EMPTY = {"orders": []}


def order(order_id: int, updated_at: str) -> dict:
    body = copy.deepcopy(fixture("shopify_order.json"))
    body["id"], body["updated_at"] = order_id, updated_at
    return body


def next_link(cursor: str) -> dict[str, str]:
    return {"Link": f'<https://acme.myshopify.com/admin/api/2026-10/orders.json?limit=250&page_info={cursor}>; '
                    f'rel="next"'}


def run(session: FakeSession, http, window: Window = WINDOW) -> list:
    return list(extract(CONN, window, client=ShopifyClient.from_connection(CONN, **http(session))))


def empty_other_resources() -> list:
    return [reply(body={"customers": []}), reply(body={"products": []})]


def test_the_first_orders_request_carries_the_window_filters_and_the_access_token_header(http):
    session = FakeSession(reply(body=EMPTY), *empty_other_resources())
    run(session, http)
    first = session.sent[0]
    assert first.url == "https://acme.myshopify.com/admin/api/2026-10/orders.json"
    assert first.query == {"status": "any", "updated_at_min": "2024-03-01T00:00:00Z",
                           "updated_at_max": "2024-03-02T00:00:00Z", "limit": "250"}
    assert first.headers["X-Shopify-Access-Token"] == "shpat_secret"
    assert [s.path for s in session.sent] == ["/admin/api/2026-10/orders.json", "/admin/api/2026-10/customers.json",
                                              "/admin/api/2026-10/products.json"]


def test_a_window_end_with_sub_seconds_is_rounded_up_for_shopifys_second_precision_filter(http):
    session = FakeSession(reply(body=EMPTY), *empty_other_resources())
    run(session, http, Window(datetime(2024, 3, 1), datetime(2024, 3, 1, 12, 0, 0, 250000)))
    assert session.sent[0].query["updated_at_max"] == "2024-03-01T12:00:01Z"


def test_an_empty_window_yields_pages_without_records(http):
    pages = run(FakeSession(reply(body=EMPTY), *empty_other_resources()), http)
    assert {p.entity for p in pages} == set(ENTITIES)
    assert all(p.records == [] for p in pages)


def test_later_pages_send_only_page_info_and_limit(http):
    # GIVEN three pages linked by rel="next" cursors
    session = FakeSession(
        reply(body={"orders": [order(1, "2024-03-01T02:00:00+01:00")]}, headers=next_link("c2")),
        reply(body={"orders": [order(2, "2024-03-01T05:00:00Z")]}, headers={
            "Link": '<https://acme.myshopify.com/admin/api/2026-10/orders.json?limit=250&page_info=c1>; '
                    'rel="previous", <https://acme.myshopify.com/admin/api/2026-10/orders.json?limit=250&'
                    'page_info=c3>; rel="next"'}),
        reply(body={"orders": [order(3, "2024-03-01T23:59:59Z")]}),
        *empty_other_resources(),
    )
    # WHEN the window is extracted
    pages = run(session, http)
    # THEN the follow-up requests carry only the cursor and the page size, and every order arrives once
    assert [s.query for s in session.sent[1:3]] == [{"page_info": "c2", "limit": "250"},
                                                    {"page_info": "c3", "limit": "250"}]
    orders = [r for p in pages if p.entity == "shop_orders" for r in p.records]
    assert [o["id"] for o in orders] == [1, 2, 3]
    assert [p.source_ref for p in pages if p.entity == "shop_orders"] == [
        f"GET /admin/api/2026-10/orders.json page {n}" for n in (1, 2, 3)]


@pytest.mark.parametrize(("updated_at", "kept"), [
    pytest.param("2024-03-01T00:00:00Z", True, id="an order updated exactly at the window start is kept"),
    pytest.param("2024-03-02T00:00:00Z", False, id="an order updated exactly at the window end is left to the next"),
    pytest.param("2024-03-02T00:59:59+01:00", True, id="shop-local times are compared in UTC"),
])
def test_the_window_is_half_open_although_shopify_updated_at_max_is_inclusive(http, updated_at, kept):
    session = FakeSession(reply(body={"orders": [order(7, updated_at)]}), *empty_other_resources())
    orders = [r for p in run(session, http) if p.entity == "shop_orders" for r in p.records]
    assert [o["id"] for o in orders] == ([7] if kept else [])


def test_a_shopify_order_parses_into_the_raw_columns(http):
    session = FakeSession(reply(body={"orders": [order(450789469, "2024-03-01T11:00:00-05:00")]}),
                          *empty_other_resources())
    pages = {p.entity: p.records for p in run(session, http) if p.records}
    assert pages["shop_orders"] == [{
        "id": 450789469, "order_number": 1001, "customer_id": 207119551, "email": "bob.norman@mail.example.com",
        "created_at": datetime(2008, 1, 10, 16, 0), "updated_at": datetime(2024, 3, 1, 16, 0),
        "processed_at": datetime(2008, 1, 10, 16, 0), "cancelled_at": None, "financial_status": "partially_refunded",
        "fulfillment_status": None, "currency": "USD", "subtotal_price": Decimal("597.00"),
        "total_discounts": Decimal("10.00"), "total_tax": Decimal("11.94"), "total_shipping": Decimal("0.00"),
        "total_price": Decimal("598.94"), "discount_codes": "TENOFF", "test": False, "source_name": "web",
        "landing_site": "http://www.example.com?source=abc", "referring_site": "http://www.otherexample.com",
        "billing_country_code": "US",
    }]
    lines = pages["shop_order_lines"]
    assert [(li["id"], li["sku"], li["product_id"], li["total_discount"]) for li in lines] == [
        (466157049, "IPOD2008GREEN", 632910392, Decimal("0.00")),
        (518995019, "IPOD2008RED", 632910392, Decimal("3.33")),
        (703073504, None, None, Decimal("0.00")),
    ]
    assert set(lines[0]) == {"id", "order_id", "product_id", "variant_id", "sku", "title", "quantity", "price",
                             "total_discount"}
    assert pages["shop_refunds"] == [
        {"id": 509562969, "order_id": 450789469, "created_at": datetime(2024, 9, 10, 15, 0),
         "line_item_id": 703073504, "quantity": 1, "subtotal": Decimal("195.66")},
        {"id": 509562969, "order_id": 450789469, "created_at": datetime(2024, 9, 10, 15, 0),
         "line_item_id": 466157049, "quantity": 1, "subtotal": Decimal("195.67")},
    ]


def test_customers_and_products_parse_into_the_raw_columns(http):
    customer = {"id": 207119551, "email": "bob@example.com", "phone": None, "first_name": "Bob",
                "last_name": "Norman", "created_at": "2024-03-01T10:00:00Z", "updated_at": "2024-03-01T10:00:00Z",
                "tags": "vip", "email_marketing_consent": {"state": "subscribed"},
                "default_address": {"country_code": "DE", "province": "Berlin", "city": "Berlin"}}
    product = {"id": 632910392, "title": "IPod Nano", "product_type": "Cult Products", "vendor": "Apple",
               "status": "active", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-03-01T12:00:00Z",
               "variants": [{"id": 808950810, "sku": "IPOD2008PINK", "price": "199.00", "compare_at_price": None,
                             "inventory_item_id": 808950810}]}
    session = FakeSession(reply(body=EMPTY), reply(body={"customers": [customer]}),
                          reply(body={"products": [product]}))
    pages = {p.entity: p.records for p in run(session, http) if p.records}
    assert pages["shop_customers"] == [{
        "id": 207119551, "email": "bob@example.com", "phone": None, "first_name": "Bob", "last_name": "Norman",
        "accepts_marketing": True, "email_marketing_consent_state": "subscribed", "country_code": "DE",
        "province": "Berlin", "city": "Berlin", "created_at": datetime(2024, 3, 1, 10), "updated_at":
        datetime(2024, 3, 1, 10), "tags": "vip"}]
    assert pages["shop_products"] == [{
        "product_id": 632910392, "variant_id": 808950810, "inventory_item_id": 808950810, "sku": "IPOD2008PINK",
        "title": "IPod Nano", "product_type": "Cult Products", "vendor": "Apple", "price": Decimal("199.00"),
        "compare_at_price": None, "status": "active", "created_at": datetime(2024, 1, 1),
        "updated_at": datetime(2024, 3, 1, 12)}]


def test_a_bad_money_string_fails_with_the_order_and_field_named(http):
    bad = order(42, "2024-03-01T10:00:00Z")
    bad["total_price"] = "12,50"
    with pytest.raises(ValueError, match=r"orders.json page 1 order 42 total_price: '12,50' is not a money amount"):
        run(FakeSession(reply(body={"orders": [bad]})), http)


@pytest.mark.parametrize(("header", "cursor"), [
    pytest.param(None, None, id="no Link header means one page"),
    pytest.param('<https://s/admin/api/2026-10/orders.json?page_info=abc&limit=250>; rel="previous"', None,
                 id="only a previous link means the last page"),
    pytest.param('<https://s/orders.json?limit=250&page_info=eyJsYXN0>; rel="next"', "eyJsYXN0",
                 id="the next link's page_info is the cursor"),
])
def test_next_page_info_reads_the_link_header(header, cursor):
    assert next_page_info(header) == cursor
