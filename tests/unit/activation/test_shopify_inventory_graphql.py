"""The shop destination sets up to 250 inventory levels per GraphQL ``inventorySetQuantities`` mutation, by
compare-and-set: one read of the current levels, then the mutation with ``changeFromQuantity``.

Against the sandbox emulator (request shape, batching, all-or-nothing userErrors, stale compares, withdrawn rows)
and against a fake HTTP layer where exact answers matter (cost throttling, top-level GraphQL errors).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from activation_fixtures import feed_rows, feed_sync, listing_id

from narrowcast.activation import SyncConfigError, load_syncs, run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.shopify_inventory import ShopifyInventory, set_quantities_mutation
from narrowcast.apis import shopify as shopify_api
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError, RetriableApiError, TokenBucket
from narrowcast.sandbox.framework import SANDBOX_TOKEN

ITEM = "gid://shopify/InventoryItem/{}"
LOCATION = "gid://shopify/Location/1"


def destination(connection: Connection, target: dict[str, Any] | None = None,
                sleeps: list[float] | None = None) -> ShopifyInventory:
    sleep = sleeps.append if sleeps is not None else (lambda _: None)
    return ShopifyInventory(SendContext(connection=connection, target=target or {}, object="inventory_level",
                                        rate_limiter=TokenBucket(1000, 1000), sleep=sleep))


def sent_requests(dest: ShopifyInventory) -> list[requests.PreparedRequest]:
    """Every request the destination's session puts on the wire (a response hook; the call still goes out)."""
    seen: list[requests.PreparedRequest] = []
    dest.client.session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response.request))
    return seen


def level(i: int, available: int = 5, **more: Any) -> Change:
    return Change(f"SKU-{i:05d}", "add", {"inventory_item_id": listing_id("shop", i), "available": available, **more})


def send(dest: ShopifyInventory, changes: list[Change]):
    return dest.send(Batch("run", "upsert", 1, 1, changes))


def mutations(seen: list[requests.PreparedRequest]) -> list[dict[str, Any]]:
    """The variables of every inventorySetQuantities request among ``seen``."""
    bodies = [json.loads(r.body) for r in seen]
    return [b["variables"] for b in bodies if "inventorySetQuantities" in b["query"]]


# ---- the request ------------------------------------------------------------------------------------

def test_a_batch_is_one_read_and_one_mutation_that_compares_with_what_was_read(emulators, connections):
    # GIVEN the shop holds 4 of the first item and nothing set for the others (0)
    emulators["shopify_inventory"].set_level(900000, 4)
    dest = destination(connections["narrowcast_shopify"])
    seen = sent_requests(dest)
    # WHEN a batch of three levels is sent
    results = send(dest, [level(0, 7), level(1, 0), level(2, 12)])
    # THEN the levels are read once, then set in one mutation that names the read quantities
    assert [r.outcome for r in results] == ["accepted"] * 3
    read, write = seen
    for request in (read, write):
        assert request.method == "POST" and request.url.endswith("/shopify/admin/api/2026-10/graphql.json")
        assert request.headers["X-Shopify-Access-Token"] == SANDBOX_TOKEN
    read_body = json.loads(read.body)
    assert "nodes(ids: $ids)" in read_body["query"] and "inventoryLevel(locationId: $locationId)" in read_body["query"]
    assert read_body["variables"] == {"ids": [ITEM.format(900000 + i) for i in range(3)], "locationId": LOCATION}
    body = json.loads(write.body)
    assert "mutation inventorySet($input: InventorySetQuantitiesInput!)" in body["query"]
    assert "inventorySetQuantities(input: $input) @idempotent(key: " in body["query"]
    assert body["variables"] == {"input": {
        "name": "available", "reason": "correction",
        "quantities": [{"inventoryItemId": ITEM.format(900000), "locationId": LOCATION, "quantity": 7,
                        "changeFromQuantity": 4},
                       {"inventoryItemId": ITEM.format(900001), "locationId": LOCATION, "quantity": 0,
                        "changeFromQuantity": 0},
                       {"inventoryItemId": ITEM.format(900002), "locationId": LOCATION, "quantity": 12,
                        "changeFromQuantity": 0}]}}
    assert "ignoreCompareQuantity" not in json.dumps(body) and "compareQuantity\"" not in json.dumps(body)
    assert dest.api_calls == 2
    assert emulators["shopify_inventory"].snapshot() == {
        "levels": {"900000@1": 7, "900001@1": 0, "900002@1": 12}, "calls": 1}


@pytest.mark.parametrize("location", [1, "1", "gid://shopify/Location/1"], ids=["int", "numeric-text", "gid"])
def test_the_location_may_be_a_numeric_id_or_a_gid(emulators, connections, location):
    dest = destination(connections["narrowcast_shopify"], {"location_id": location})
    seen = sent_requests(dest)
    assert [r.outcome for r in send(dest, [level(3)])] == ["accepted"]
    assert json.loads(seen[0].body)["variables"]["locationId"] == LOCATION
    assert mutations(seen)[0]["input"]["quantities"][0]["locationId"] == LOCATION


def test_a_location_that_is_not_a_shopify_id_fails_the_declaration():
    raw = {"id": "bad_location", "target": {"location_id": "Berlin warehouse"}}
    with pytest.raises(SyncConfigError, match="location_id must be a numeric Shopify location id"):
        feed_sync("shop", **raw)


def test_the_shipped_shop_sync_fits_graphql_cost_limits():
    (spec,) = [s for s in load_syncs() if s.id == "stock_shop"]
    # 10-point mutations against a Standard plan's 50 points/s: at most 5 mutations/s
    assert spec.batch_size == 250 and spec.rate_limit.rps <= 5 and spec.rate_limit.burst <= 10
    assert ShopifyInventory.limits.max_batch_size == 250


def test_600_rows_go_as_three_reads_and_three_mutations_of_at_most_250(emulators, connections, warehouse):
    emulator = emulators["shopify_inventory"]
    emulator.seed_items([int(listing_id("shop", i)) for i in range(600)])
    sizes: list[int] = []
    apply = emulator.set_quantities
    emulator.set_quantities = lambda data, version: (sizes.append(len(data["quantities"])), apply(data, version))[1]
    try:
        warehouse.replace("marketplace_listing_feed", feed_rows(600, ("shop",)))
        report = run_sync(feed_sync("shop"), connections=connections, warehouse=warehouse.path)
    finally:
        del emulator.set_quantities
    # the documented minimum: a read and a write per batch of 250
    assert (report.accepted, report.rejected, report.api_calls) == (600, 0, 6)
    assert sorted(sizes) == [100, 250, 250] and emulator.reads == 3
    levels = emulator.snapshot()["levels"]
    assert len(levels) == 600 and set(levels.values()) == {5}


def test_more_than_250_rows_handed_to_the_connector_are_split(emulators, connections):
    emulators["shopify_inventory"].seed_items([int(listing_id("shop", i)) for i in range(600)])
    dest = destination(connections["narrowcast_shopify"])
    seen = sent_requests(dest)
    results = send(dest, [level(i) for i in range(600)])
    assert {r.outcome for r in results} == {"accepted"} and len(results) == 600
    assert [len(m["input"]["quantities"]) for m in mutations(seen)] == [250, 250, 100]
    assert [len(json.loads(r.body)["variables"].get("ids", [])) for r in seen] == [250, 0, 250, 0, 100, 0]


# ---- all-or-nothing userErrors ------------------------------------------------------------------------

def test_one_unknown_item_among_250_is_rejected_and_the_other_249_are_set_in_the_same_run(emulators, connections,
                                                                                           warehouse):
    rows = feed_rows(250, ("shop",))
    rows[17]["listing_id"] = "123"  # no such inventory item in the shop
    warehouse.replace("marketplace_listing_feed", rows)
    report = run_sync(feed_sync("shop"), connections=connections, warehouse=warehouse.path)
    # the read found no such item, so it was never sent; one mutation carried the 249 others
    assert (report.accepted, report.rejected, report.api_calls) == (249, 1, 2)
    shop = emulators["shopify_inventory"]
    assert len(shop.snapshot()["levels"]) == 249 and "123@1" not in shop.snapshot()["levels"]
    assert len(shop.received) == 249
    (reason,) = warehouse.query("select reason from activation.sync_rejections where record_key = 'SKU-00017'")[0]
    assert reason == "not sent: Shopify has no such inventory item (INVALID_INVENTORY_ITEM)"


def test_every_row_shopify_names_is_rejected_with_its_own_code(emulators, connections):
    dest = destination(connections["narrowcast_shopify"])
    changes = [level(0), level(1, -3), Change("ghost", "add", {"inventory_item_id": "42", "available": 1}), level(2)]
    results = send(dest, changes)
    assert [(r.key, r.outcome) for r in results] == [
        ("SKU-00000", "accepted"), ("SKU-00001", "rejected"), ("ghost", "rejected"), ("SKU-00002", "accepted")]
    assert "INVALID_QUANTITY_NEGATIVE" in results[1].reason and "INVALID_INVENTORY_ITEM" in results[2].reason
    assert results[2].sent is False  # the read already showed Shopify has no such item
    assert dest.api_calls == 3  # the read, the mutation naming the negative quantity, the rest again
    assert emulators["shopify_inventory"].snapshot()["levels"] == {"900000@1": 5, "900002@1": 5}


def test_a_row_that_cannot_be_a_shopify_id_is_rejected_without_being_sent(emulators, connections):
    dest = destination(connections["narrowcast_shopify"])
    results = send(dest, [Change("odd", "add", {"inventory_item_id": "SKU-7", "available": 1}), level(4)])
    assert (results[0].outcome, results[0].sent, results[1].outcome) == ("rejected", False, "accepted")
    assert dest.api_calls == 2


# ---- compare-and-set -----------------------------------------------------------------------------------

def test_a_level_the_shop_changes_between_read_and_write_is_read_again_and_set(emulators, connections):
    # GIVEN the shop sells one of item 1 after the destination read its level
    shop = emulators["shopify_inventory"]
    shop.set_level(900001, 10)
    apply = shop.set_quantities
    sold: list[bool] = []

    def sale_before_the_first_write(data, version):
        if not sold:
            sold.append(True)
            shop.set_level(900001, 9)
        return apply(data, version)

    shop.set_quantities = sale_before_the_first_write
    dest = destination(connections["narrowcast_shopify"])
    seen = sent_requests(dest)
    try:
        # WHEN the batch is sent
        results = send(dest, [level(0, 3), level(1, 20), level(2, 4)])
    finally:
        del shop.set_quantities
    # THEN the stale row is read again and the batch set with the quantity the shop now holds
    assert [r.outcome for r in results] == ["accepted"] * 3
    first, second = mutations(seen)
    assert [q["changeFromQuantity"] for q in first["input"]["quantities"]] == [0, 10, 0]
    assert {q["inventoryItemId"]: q["changeFromQuantity"] for q in second["input"]["quantities"]} == {
        ITEM.format(900000): 0, ITEM.format(900001): 9, ITEM.format(900002): 0}
    reread = json.loads(seen[2].body)["variables"]
    assert reread["ids"] == [ITEM.format(900001)]  # only the stale row is read again
    assert dest.api_calls == 4  # read, write, re-read, write
    assert shop.snapshot()["levels"] == {"900000@1": 3, "900001@1": 20, "900002@1": 4}


def test_a_level_that_keeps_changing_rejects_only_that_row_with_shopifys_message(emulators, connections):
    # GIVEN the shop changes item 1 before every write
    shop = emulators["shopify_inventory"]
    apply = shop.set_quantities
    sales = iter(range(50, 0, -1))

    def sale_before_every_write(data, version):
        shop.set_level(900001, next(sales))
        return apply(data, version)

    shop.set_quantities = sale_before_every_write
    dest = destination(connections["narrowcast_shopify"])
    try:
        results = send(dest, [level(0, 3), level(1, 20), level(2, 4)])
    finally:
        del shop.set_quantities
    # THEN item 1 is retried once after a re-read, then rejected; the others are set
    assert [(r.key, r.outcome) for r in results] == [
        ("SKU-00000", "accepted"), ("SKU-00001", "rejected"), ("SKU-00002", "accepted")]
    assert results[1].reason == ("Shopify refused the level: CHANGE_FROM_QUANTITY_STALE: The changeFromQuantity "
                                 "value does not match persisted value.")
    assert dest.api_calls == 5  # read, write (stale), re-read, write (stale again), write of the other two
    assert shop.snapshot()["levels"] == {"900000@1": 3, "900001@1": 48, "900002@1": 4}  # its third sale


def test_an_item_not_stocked_at_the_location_is_rejected_from_the_read(emulators, connections):
    sleeps: list[float] = []
    not_stocked = {"data": {"nodes": [{"id": ITEM.format(900000), "inventoryLevel": None}]}}
    dest, fake = faked([(200, not_stocked)], sleeps)
    (result,) = send(dest, [level(0)])
    assert (result.outcome, result.sent) == ("rejected", False) and "ITEM_NOT_STOCKED_AT_LOCATION" in result.reason
    assert len(fake.sent) == 1


# ---- withdrawn rows and removes ----------------------------------------------------------------------

def test_withdrawn_rows_and_removes_are_set_to_zero(emulators, connections):
    dest = destination(connections["narrowcast_shopify"])
    seen = sent_requests(dest)
    changes = [level(0, 9, status="withdrawn"), Change("SKU-00001", "remove", {"inventory_item_id": "900001",
                                                                                "available": 4, "status": "active"}),
               level(2, 6, status="active")]
    assert [r.outcome for r in send(dest, changes)] == ["accepted"] * 3
    quantities = mutations(seen)[0]["input"]["quantities"]
    assert [q["quantity"] for q in quantities] == [0, 0, 6]
    assert emulators["shopify_inventory"].snapshot()["levels"] == {"900000@1": 0, "900001@1": 0, "900002@1": 6}


# ---- throttling and GraphQL errors (fake HTTP layer) --------------------------------------------------

class FakeShopify(requests.adapters.BaseAdapter):
    """Answers each request with the next canned (status, JSON body) and keeps what was sent."""

    def __init__(self, answers: list[tuple[int, Any]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' adapter signature
        self.sent.append(request)
        status, body = self.answers.pop(0)
        response = requests.Response()
        response.status_code, response._content = status, json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


def throttled(available: float = 3) -> dict[str, Any]:
    return {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                                                               "documentation": "https://shopify.dev/api/usage/limits"}}],
            "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None,
                                    "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available,
                                                       "restoreRate": 50.0}}}}


def done(user_errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"data": {"inventorySetQuantities": {
                "inventoryAdjustmentGroup": None if user_errors else {"reason": "Inventory correction"},
                "userErrors": user_errors or []}},
            "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
                                    "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 990,
                                                       "restoreRate": 50.0}}}}


def read(*available: int) -> dict[str, Any]:
    """The read's answer for level(0), level(1), ... holding ``available`` each (at the faked location 77)."""
    return {"data": {"nodes": [{"id": ITEM.format(900000 + i), "inventoryLevel": {
                "quantities": [{"name": "available", "quantity": q}]}} for i, q in enumerate(available)]},
            "extensions": {"cost": {"requestedQueryCost": 2, "actualQueryCost": 2,
                                    "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 998,
                                                       "restoreRate": 50.0}}}}


def faked(answers: list[tuple[int, Any]], sleeps: list[float], **extra: Any) -> tuple[ShopifyInventory, FakeShopify]:
    conn = Connection("narrowcast_shopify", "https://acme.myshopify.test", password="shpat_test",
                      extra={"location_id": "77", "retry_base_delay": 0.01, "retry_max_delay": 0.02, **extra})
    dest = destination(conn, sleeps=sleeps)
    fake = FakeShopify(answers)
    dest.client.session.mount("https://acme.myshopify.test/", fake)
    return dest, fake


def test_a_throttled_mutation_waits_for_the_cost_to_be_restored_and_succeeds():
    sleeps: list[float] = []
    dest, fake = faked([(200, read(1, 2)), (200, throttled(available=3)), (200, done())], sleeps)
    results = send(dest, [level(0), level(1)])
    assert [r.outcome for r in results] == ["accepted", "accepted"]
    # (requested 10 - available 3) / restore 50 points per second
    assert sleeps == [pytest.approx(0.14)]
    assert len(fake.sent) == 3 and fake.sent[1].body == fake.sent[2].body and dest.api_calls == 3
    assert [q["changeFromQuantity"] for q in json.loads(fake.sent[2].body)["variables"]["input"]["quantities"]] == [
        1, 2]
    assert fake.sent[0].headers["X-Shopify-Access-Token"] == "shpat_test"
    assert json.loads(fake.sent[1].body)["variables"]["input"]["quantities"][0]["locationId"] == (
        "gid://shopify/Location/77")


def test_throttling_that_never_ends_gives_up_after_the_attempts_and_names_the_api():
    sleeps: list[float] = []
    dest, fake = faked([(200, throttled(available=0))] * 3, sleeps, max_attempts=3)
    with pytest.raises(RetriableApiError) as error:
        send(dest, [level(0)])
    assert str(error.value).startswith("shopify_admin: POST /admin/api/2026-10/graphql.json failed")
    assert "Throttled" in str(error.value) and "after 3 attempts" in str(error.value)
    assert len(fake.sent) == 3 and sleeps == [pytest.approx(0.2)] * 2


def test_a_graphql_error_other_than_throttling_fails_with_shopifys_message():
    sleeps: list[float] = []
    denied = {"errors": [{"message": "Access denied for inventorySetQuantities field. Required access: "
                                     "`write_inventory` access scope.",
                          "extensions": {"code": "ACCESS_DENIED"}}]}
    dest, fake = faked([(200, denied)], sleeps)
    with pytest.raises(FatalApiError) as error:
        send(dest, [level(0)])
    message = str(error.value)
    assert message.startswith("shopify_admin: POST /admin/api/2026-10/graphql.json failed (HTTP 200): GraphQL error:")
    assert "Access denied for inventorySetQuantities field" in message and "ACCESS_DENIED" in message
    assert len(fake.sent) == 1 and sleeps == []


def test_http_errors_still_go_through_the_shared_client():
    sleeps: list[float] = []
    dest, fake = faked([(503, {"errors": "Internal Server Error"}), (200, read(0)), (200, done())], sleeps)
    assert [r.outcome for r in send(dest, [level(0)])] == ["accepted"]
    assert len(fake.sent) == 3 and len(sleeps) == 1
    dest, _ = faked([(401, {"errors": "[API] Invalid API key or access token"})], sleeps)
    with pytest.raises(FatalApiError, match="HTTP 401.*Invalid API key"):
        send(dest, [level(0)])


def test_an_error_about_the_whole_input_rejects_the_batch_without_resending():
    sleeps: list[float] = []
    bad_reason = [{"field": ["input", "reason"], "message": "The specified reason is invalid.",
                   "code": "INVALID_REASON"}]
    dest, fake = faked([(200, read(0, 0)), (200, done(bad_reason))], sleeps)
    results = send(dest, [level(0), level(1)])
    assert {r.outcome for r in results} == {"rejected"} and len(fake.sent) == 2
    assert results[0].reason == "Shopify refused the mutation: INVALID_REASON: The specified reason is invalid."


# ---- the emulator validates compare-and-set per API version ------------------------------------------

def graphql_set(url: str, version: str, quantity: dict[str, Any], key: str | None = "k-1",
                **input_fields: Any) -> dict[str, Any]:
    body = {"query": set_quantities_mutation(key),
            "variables": {"input": {"name": "available", "reason": "correction", **input_fields,
                                    "quantities": [{"inventoryItemId": ITEM.format(900000), "locationId": LOCATION,
                                                    "quantity": 5, **quantity}]}}}
    return requests.post(f"{url}/shopify/admin/api/{version}/graphql.json", json=body, timeout=10,
                         headers={"X-Shopify-Access-Token": SANDBOX_TOKEN}).json()


def user_error_codes(answer: dict[str, Any]) -> list[str]:
    return [e["code"] for e in answer["data"]["inventorySetQuantities"]["userErrors"]]


@pytest.mark.parametrize(("version", "quantity", "input_fields", "expected"), [
    pytest.param("2026-10", {"changeFromQuantity": 0}, {}, [], id="2026-10 sets a level whose compare matches"),
    pytest.param("2026-10", {"changeFromQuantity": None}, {}, [], id="2026-10 lets null opt a quantity out"),
    pytest.param("2026-10", {"changeFromQuantity": 3}, {}, ["CHANGE_FROM_QUANTITY_STALE"],
                 id="2026-10 answers a stale compare per quantity"),
    pytest.param("2026-10", {}, {}, ["COMPARE_QUANTITY_REQUIRED"], id="2026-10 requires changeFromQuantity"),
    pytest.param("2026-10", {"changeFromQuantity": 0}, {"ignoreCompareQuantity": True}, "INVALID_VARIABLE",
                 id="2026-10 no longer knows ignoreCompareQuantity"),
    pytest.param("2026-04", {"compareQuantity": 0, "changeFromQuantity": 0}, {}, "INVALID_VARIABLE",
                 id="2026-04 no longer knows compareQuantity"),
    pytest.param("2026-01", {"changeFromQuantity": 3}, {"ignoreCompareQuantity": True},
                 ["CHANGE_FROM_QUANTITY_STALE"], id="2026-01 lets changeFromQuantity override ignoreCompareQuantity"),
    pytest.param("2025-10", {}, {"ignoreCompareQuantity": True}, [], id="2025-10 still honours ignoreCompareQuantity"),
    pytest.param("2025-10", {"changeFromQuantity": 0}, {"ignoreCompareQuantity": True}, "INVALID_VARIABLE",
                 id="2025-10 does not know changeFromQuantity yet"),
])
def test_the_emulator_checks_compare_and_set_as_each_version_documents(sandbox, emulators, version, quantity,
                                                                        input_fields, expected):
    key = "k-1" if version >= "2026-01" else None  # the @idempotent directive exists from 2026-01
    answer = graphql_set(sandbox.url, version, quantity, key, **input_fields)
    if isinstance(expected, str):
        assert answer["errors"][0]["extensions"]["code"] == expected and "data" not in answer
        assert emulators["shopify_inventory"].calls == 0
    else:
        assert user_error_codes(answer) == expected
        assert emulators["shopify_inventory"].snapshot()["levels"] == ({} if expected else {"900000@1": 5})


def test_the_emulator_reads_levels_with_null_for_unknown_items(sandbox, emulators):
    emulators["shopify_inventory"].set_level(900001, 8)
    body = {"query": shopify_api.AVAILABLE_AT_LOCATION,
            "variables": {"ids": [ITEM.format(900000), ITEM.format(900001), ITEM.format(42)], "locationId": LOCATION}}
    answer = requests.post(f"{sandbox.url}/shopify/admin/api/2026-10/graphql.json", json=body, timeout=10,
                           headers={"X-Shopify-Access-Token": SANDBOX_TOKEN}).json()
    assert answer["data"]["nodes"] == [
        {"id": ITEM.format(900000), "inventoryLevel": {"quantities": [{"name": "available", "quantity": 0}]}},
        {"id": ITEM.format(900001), "inventoryLevel": {"quantities": [{"name": "available", "quantity": 8}]}},
        None]


def test_the_emulator_requires_an_idempotency_key_from_2026_04(sandbox, emulators):
    answer = graphql_set(sandbox.url, "2026-10", {"changeFromQuantity": 0}, key=None)
    assert answer["errors"][0]["message"] == "The @idempotent directive is required for inventorySetQuantities."
    assert emulators["shopify_inventory"].snapshot()["levels"] == {}


def test_the_emulator_answers_a_repeated_key_with_the_original_result_without_applying_it_again(sandbox, emulators):
    shop = emulators["shopify_inventory"]
    first = graphql_set(sandbox.url, "2026-10", {"changeFromQuantity": 0}, key="k-7")
    shop.set_level(900000, 2)  # a sale after the first write
    again = graphql_set(sandbox.url, "2026-10", {"changeFromQuantity": 0}, key="k-7")
    assert again == first and user_error_codes(first) == []
    assert shop.snapshot() == {"levels": {"900000@1": 2}, "calls": 1}
    other = graphql_set(sandbox.url, "2026-10", {"changeFromQuantity": 2, "quantity": 6}, key="k-7")
    assert user_error_codes(other) == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]


def test_each_mutation_has_its_own_idempotency_key_and_a_retry_reuses_it():
    sleeps: list[float] = []
    dest, fake = faked([(200, read(0)), (503, {"errors": "Internal Server Error"}), (200, done(
        [{"field": ["input", "quantities", "0", "changeFromQuantity"], "code": "CHANGE_FROM_QUANTITY_STALE",
          "message": "The changeFromQuantity value does not match persisted value."}])), (200, read(1)), (200, done())],
        sleeps)
    assert [r.outcome for r in send(dest, [level(0)])] == ["accepted"]
    keys = [re.search(r'@idempotent\(key: "([0-9a-f-]{36})"\)', json.loads(r.body)["query"])
            for r in fake.sent if "inventorySetQuantities" in json.loads(r.body)["query"]]
    assert all(keys) and len(keys) == 3
    # the 503 and its retry carry one key; the mutation after the re-read carries a new one
    assert keys[0].group(1) == keys[1].group(1) != keys[2].group(1)
