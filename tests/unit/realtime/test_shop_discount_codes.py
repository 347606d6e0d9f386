"""Unique codes in the shop through the GraphQL Admin API, and the checkout controls of the shop emulator."""

from __future__ import annotations

import requests
from realtime_fixtures import connections

from narrowcast.apis.shopify import ShopifyApi, add_redeem_codes, create_code_discount, discount_of_code
from narrowcast.sources.shopify_checkouts import queries

DISCOUNT = {"title": "abandoned_cart 2026-12-06", "code": "CART-FIRST", "startsAt": "2026-12-06T00:00:00Z",
            "endsAt": "2026-12-14T00:00:00Z", "usageLimit": 1, "appliesOncePerCustomer": True,
            "context": {"all": "ALL"}, "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}}}


def shop_api(sandbox) -> ShopifyApi:
    return ShopifyApi.from_connection(connections(sandbox.url)[0])


def test_codes_go_250_per_call_and_each_is_in_the_discount(sandbox, shop):
    api = shop_api(sandbox)
    discount = create_code_discount(api, DISCOUNT)
    codes = [f"CART-{n:05d}" for n in range(300)]
    assert add_redeem_codes(api, discount, codes) == dict.fromkeys(codes)
    assert len(shop.creations) == 2  # 250 + 50: the mutation takes at most 250 codes
    assert {shop.codes[c] for c in codes} == {discount}
    assert discount_of_code(api, "CART-00299") == discount
    assert discount_of_code(api, "NOT-A-CODE") is None


def test_a_code_added_again_after_a_crash_counts_as_created_and_a_failed_one_says_why(sandbox, shop):
    api = shop_api(sandbox)
    discount = create_code_discount(api, DISCOUNT)
    add_redeem_codes(api, discount, ["CART-A"])
    shop.fail_next_codes(1)
    outcome = add_redeem_codes(api, discount, ["CART-A", "CART-B"])
    assert outcome["CART-A"] is None
    assert "could not be created" in outcome["CART-B"]


def test_checkouts_are_created_updated_and_completed_over_the_control_endpoint(sandbox, shop):
    base = f"{sandbox.url}/shopify/_sandbox/abandoned-checkouts"
    line = {"sku": "MUG-1", "title": "Mug", "quantity": 1, "price": "9.90"}
    requests.post(base, json={"id": 7, "email": "ada@example.com", "customer_id": 5, "lines": [line]},
                  timeout=5).raise_for_status()
    requests.post(base, json={"id": 7, "email": "ada@example.com", "customer_id": 5, "lines": [line, line]},
                  timeout=5).raise_for_status()
    requests.post(f"{base}/7/complete", timeout=5).raise_for_status()
    data = shop_api(sandbox).graphql(queries.ABANDONED_CHECKOUTS, {"first": 5, "lines": 10, "query": "id:7"})
    [edge] = data["abandonedCheckouts"]["edges"]
    assert edge["node"]["completedAt"] is not None
    assert len(edge["node"]["lineItems"]["edges"]) == 2
    assert edge["node"]["totalPriceSet"]["presentmentMoney"] == {"amount": "19.80", "currencyCode": "EUR"}
