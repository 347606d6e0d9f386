"""The destination emulators enforce the real APIs' limits, so the connectors are tested against them."""

from __future__ import annotations

import uuid

import pytest
import requests
from activation_fixtures import sha

from narrowcast.sandbox.framework import SANDBOX_TOKEN

KLAVIYO_HEADERS = {"Authorization": f"Klaviyo-API-Key {SANDBOX_TOKEN}", "revision": "2026-10-15"}
SHOPIFY_HEADERS = {"X-Shopify-Access-Token": SANDBOX_TOKEN}


def set_quantities(items, quantity: int = 3) -> dict:
    return {"query": "mutation inventorySet($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: "
                     f"$input) @idempotent(key: \"{uuid.uuid4()}\") {{ userErrors {{ field message code }} }} }}",
            "variables": {"input": {"name": "available", "reason": "correction",
                                    "quantities": [{"inventoryItemId": f"gid://shopify/InventoryItem/{900000 + i}",
                                                    "locationId": "gid://shopify/Location/1", "quantity": quantity,
                                                    "changeFromQuantity": 0}
                                                   for i in items]}}}


def over_limit_requests(url: str) -> dict[str, tuple]:
    return {
        "meta-10001-rows": ("POST", f"{url}/meta/v27.0/1/users", {}, {
            "access_token": SANDBOX_TOKEN, "payload": {"schema": ["EMAIL"], "data": [[sha(str(i))] for i in range(10_001)]}},
            400, "Too many users"),
        "ebay-26-items": ("POST", f"{url}/ebay/sell/inventory/v1/bulk_update_price_quantity",
                          {"Authorization": f"Bearer {SANDBOX_TOKEN}"},
                          {"requests": [{"sku": f"S{i}", "offers": [{"offerId": str(i), "availableQuantity": 1}]}
                                        for i in range(26)]}, 400, "At most 25"),
        "klaviyo-1001-list-members": ("POST", f"{url}/klaviyo/api/lists/L/relationships/profiles", KLAVIYO_HEADERS,
                                      {"data": [{"type": "profile", "id": str(i)} for i in range(1_001)]}, 400,
                                      "At most 1000"),
        "shopify-251-quantities": ("POST", f"{url}/shopify/admin/api/2026-10/graphql.json", SHOPIFY_HEADERS,
                                   set_quantities(range(251)), 200, "MAX_INPUT_SIZE_EXCEEDED"),
        "shopify-other-graphql": ("POST", f"{url}/shopify/admin/api/2026-10/graphql.json", SHOPIFY_HEADERS,
                                  {"query": "{ shop { name } }"}, 200, "only emulates the inventorySetQuantities"),
        "klaviyo-without-revision": ("POST", f"{url}/klaviyo/api/events",
                                     {"Authorization": KLAVIYO_HEADERS["Authorization"]}, {}, 400, "revision"),
        "google-21-identifiers-per-user": (
            "POST", f"{url}/google_ads/v26/customers/1/offlineUserDataJobs:create",
            {"Authorization": f"Bearer {SANDBOX_TOKEN}", "developer-token": "d"},
            {"job": {"type": "CUSTOMER_MATCH_USER_LIST",
                     "customerMatchUserListMetadata": {"userList": "customers/1/userLists/2"}}}, 200, "resourceName"),
    }


@pytest.mark.parametrize("case", [
    pytest.param("meta-10001-rows", id="meta-refuses-more-than-10000-rows"),
    pytest.param("ebay-26-items", id="ebay-refuses-more-than-25-items"),
    pytest.param("klaviyo-1001-list-members", id="klaviyo-refuses-more-than-1000-list-members"),
    pytest.param("klaviyo-without-revision", id="klaviyo-requires-the-revision-header"),
    pytest.param("shopify-251-quantities", id="shopify-refuses-more-than-250-quantities"),
    pytest.param("shopify-other-graphql", id="shopify-answers-a-graphql-error-for-other-queries"),
])
def test_requests_over_the_api_limit_are_refused(sandbox, emulators, case):
    method, url, headers, body, status, text = over_limit_requests(sandbox.url)[case]
    response = requests.request(method, url, headers=headers, json=body, timeout=30)
    assert response.status_code == status and text in response.text


def test_google_refuses_more_than_twenty_identifiers_for_one_user(sandbox, emulators):
    method, url, headers, body, _, _ = over_limit_requests(sandbox.url)["google-21-identifiers-per-user"]
    job = requests.request(method, url, headers=headers, json=body, timeout=10).json()["resourceName"]
    user = {"userIdentifiers": [{"hashedEmail": sha(str(i))} for i in range(21)]}
    answer = requests.post(f"{sandbox.url}/google_ads/v26/{job}:addOperations", headers=headers,
                           json={"enablePartialFailure": True, "operations": [{"create": user}]}, timeout=10)
    assert answer.status_code == 400 and "TOO_MANY_USER_IDENTIFIERS" in answer.text


def test_shopify_graphql_answers_throttled_with_the_cost_when_the_bucket_is_empty(sandbox, emulators):
    # GIVEN a 25-point bucket restoring 0.5 points/s: two 10-point mutations fit, the third does not
    emulators["shopify_inventory"].bucket_size, emulators["shopify_inventory"].restore_rate = 25.0, 0.5
    url = f"{sandbox.url}/shopify/admin/api/2026-10/graphql.json"
    answers = [requests.post(url, headers=SHOPIFY_HEADERS, json=set_quantities([i]), timeout=10) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    first, third = answers[0].json(), answers[2].json()
    assert first["data"]["inventorySetQuantities"]["userErrors"] == []
    assert first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 15
    assert third["errors"] == [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    assert "data" not in third
    cost = third["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, None)
    assert cost["throttleStatus"] == {"maximumAvailable": 25.0, "currentlyAvailable": 5, "restoreRate": 0.5}
    assert emulators["shopify_inventory"].snapshot()["levels"] == {"900000@1": 3, "900001@1": 3}


def test_shopify_graphql_sets_nothing_when_any_quantity_is_invalid(sandbox, emulators):
    body = set_quantities([0, 1, 2, 3])
    body["variables"]["input"]["quantities"][3]["inventoryItemId"] = "gid://shopify/InventoryItem/1"
    body["variables"]["input"]["quantities"][1]["quantity"] = -1
    answer = requests.post(f"{sandbox.url}/shopify/admin/api/2026-10/graphql.json", headers=SHOPIFY_HEADERS,
                           json=body, timeout=10).json()["data"]["inventorySetQuantities"]
    assert answer["inventoryAdjustmentGroup"] is None
    assert [(e["field"], e["code"]) for e in answer["userErrors"]] == [
        (["input", "quantities", "1", "quantity"], "INVALID_QUANTITY_NEGATIVE"),
        (["input", "quantities", "3", "inventoryItemId"], "INVALID_INVENTORY_ITEM")]
    assert emulators["shopify_inventory"].snapshot()["levels"] == {}
