"""The Shopify emulator's GraphQL endpoint as Shopify documents it (raw HTTP), and the shop connector against it:
bulk lifecycle and JSONL, cursor pages, query cost and throttling, re-runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from tiny_world import N_CUSTOMERS, N_ORDERS, N_PRODUCTS, WORLD_DAYS, WORLD_START, sandbox_connection

from narrowcast.apis.shopify import ShopifyApi
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError
from narrowcast.sandbox.emulators import shopify as shop_emulator
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sources import shopify
from narrowcast.sources.shopify.client import window_search
from narrowcast.sources.shopify.queries import FULFILLMENTS, ORDERS, PRODUCTS
from narrowcast.sources.shopify.settings import BULK_WINDOW

TOKEN = {"X-Shopify-Access-Token": SANDBOX_TOKEN}
WHOLE_WORLD = Window(WORLD_START - timedelta(days=1), WORLD_START + timedelta(days=WORLD_DAYS + 1))
FIRST_DAY = Window(WORLD_START, WORLD_START + timedelta(days=1))


def graphql(sandbox, document: str, **variables) -> dict:
    response = requests.post(f"{sandbox.url}/shopify/admin/api/2026-10/graphql.json", headers=TOKEN,
                             json={"query": document, "variables": variables}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture()
def shop(sandbox) -> Iterator:
    """The shop emulator, reset, with its cost bucket restored to the test session's deep one afterwards."""
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()
    emulator = sandbox.app.state.emulators["shopify"]
    size, rate = emulator.bucket.size, emulator.bucket.restore_rate
    yield emulator
    emulator.bucket.size, emulator.bucket.restore_rate = size, rate
    emulator.bucket.reset()


def run_bulk(sandbox, query: str) -> tuple[str, list[dict]]:
    started = graphql(sandbox, "mutation run($q: String!) { bulkOperationRunQuery(query: $q) { "
                               "bulkOperation { id status } userErrors { field message code } } }", q=query)
    payload = started["data"]["bulkOperationRunQuery"]
    assert payload["userErrors"] == [] and payload["bulkOperation"]["status"] == "CREATED"
    return payload["bulkOperation"]["id"], []


def poll(sandbox, operation_id: str) -> dict:
    return graphql(sandbox, "query($id: ID!) { bulkOperation(id: $id) { id status errorCode objectCount "
                            "rootObjectCount url partialDataUrl } }", id=operation_id)["data"]["bulkOperation"]


# ---- the endpoint --------------------------------------------------------------------------------------------
def test_a_page_holds_only_the_selected_fields_and_pages_follow_the_end_cursor(sandbox, shop):
    query = "query($after: String) { orders(first: 2, after: $after, sortKey: UPDATED_AT) { edges { node { id updatedAt " \
            "totalPriceSet { shopMoney { amount currencyCode } } } } pageInfo { hasNextPage endCursor } } }"
    first = graphql(sandbox, query)["data"]["orders"]
    node = first["edges"][0]["node"]
    assert set(node) == {"id", "updatedAt", "totalPriceSet"} and node["id"].startswith("gid://shopify/Order/")
    assert node["updatedAt"].endswith("Z") and isinstance(node["totalPriceSet"]["shopMoney"]["amount"], str)
    assert first["pageInfo"]["hasNextPage"] is True
    second = graphql(sandbox, query, after=first["pageInfo"]["endCursor"])["data"]["orders"]
    assert not {e["node"]["id"] for e in first["edges"]} & {e["node"]["id"] for e in second["edges"]}
    refused = graphql(sandbox, query, after="not-a-cursor")
    assert refused["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_every_answer_reports_its_cost_and_the_bucket(sandbox, shop):
    cost = graphql(sandbox, "{ shop { name } }")["extensions"]["cost"]
    assert set(cost) == {"requestedQueryCost", "actualQueryCost", "throttleStatus"}
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


@pytest.mark.parametrize(("query", "code"), [
    pytest.param("{ orders(first: 5) { edges { node { id landingSite } } } }", "undefinedField",
                 id="a field Order does not have is undefinedField"),
    pytest.param("{ orders(first: 250) { edges { node { id lineItems(first: 250) { edges { node { id } } } } } } }",
                 "MAX_COST_EXCEEDED", id="a query over 1000 points is refused before it runs"),
])
def test_queries_shopify_refuses_get_its_error_codes(sandbox, shop, query, code):
    assert graphql(sandbox, query)["errors"][0]["extensions"]["code"] == code


def test_a_nested_connection_needs_a_page_size(sandbox, shop):
    answer = graphql(sandbox, "{ orders(first: 1) { edges { node { lineItems { edges { node { id } } } } } } }")
    assert answer["errors"][0]["message"] == "you must provide one of first or last"


def test_an_empty_bucket_answers_throttled_with_the_documented_envelope(sandbox, shop):
    shop.bucket.size, shop.bucket.restore_rate = 50.0, 0.001
    shop.bucket.reset()
    answer = graphql(sandbox, ORDERS.paged_query(), first=5, query=None)
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert answer["extensions"]["cost"]["actualQueryCost"] is None
    assert answer["extensions"]["cost"]["requestedQueryCost"] > 50


# ---- counts --------------------------------------------------------------------------------------------------
COUNT = "query($q: String, $limit: Int) { ordersCount(query: $q, limit: $limit) { count precision } }"
COUNT_DEFAULT_LIMIT = "query($q: String) { ordersCount(query: $q) { count precision } }"


def paged_ids(sandbox, search: str) -> list[str]:
    query = "query($after: String, $q: String) { orders(first: 250, after: $after, query: $q, sortKey: UPDATED_AT) " \
            "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }"
    ids, after = [], None
    while True:
        page = graphql(sandbox, query, after=after, q=search)["data"]["orders"]
        ids += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


def test_a_count_is_the_number_of_nodes_its_search_pages_through_and_costs_one_point(sandbox, shop):
    search = window_search(FIRST_DAY)
    answer = graphql(sandbox, COUNT_DEFAULT_LIMIT, q=search)
    assert answer["data"]["ordersCount"] == {"count": len(paged_ids(sandbox, search)), "precision": "EXACT"}
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 1
    assert answer["extensions"]["cost"]["actualQueryCost"] == 1
    counts = graphql(sandbox, "{ customersCount { count } productsCount { count precision } }")["data"]
    assert counts == {"customersCount": {"count": N_CUSTOMERS}, "productsCount": {"count": N_PRODUCTS,
                                                                                  "precision": "EXACT"}}


@pytest.mark.parametrize(("limit", "expected"), [
    pytest.param(None, (N_ORDERS, "EXACT"), id="a null limit counts everything exactly"),
    pytest.param(N_ORDERS + 1, (N_ORDERS, "EXACT"), id="a limit above the count is not reached"),
    pytest.param(N_ORDERS, (N_ORDERS, "AT_LEAST"), id="a limit equal to the count is reached"),
    pytest.param(3, (3, "AT_LEAST"), id="a limit below the count caps it and reads AT_LEAST"),
])
def test_a_count_stops_at_its_limit_and_then_reads_at_least(sandbox, shop, limit, expected):
    found = graphql(sandbox, COUNT, limit=limit)["data"]["ordersCount"]
    assert (found["count"], found["precision"]) == expected


def test_a_count_without_a_limit_stops_at_the_default_cap(sandbox, shop, monkeypatch):
    # GIVEN a default cap below the world's 620 orders (Shopify's is 10,000)
    monkeypatch.setattr(shop_emulator, "COUNT_LIMIT", 100)
    # THEN a count with no limit argument, or a limit variable left unset, stops there; an explicit null does not
    assert graphql(sandbox, COUNT_DEFAULT_LIMIT)["data"]["ordersCount"] == {"count": 100, "precision": "AT_LEAST"}
    assert graphql(sandbox, COUNT)["data"]["ordersCount"] == {"count": 100, "precision": "AT_LEAST"}
    assert graphql(sandbox, COUNT, limit=None)["data"]["ordersCount"]["count"] == N_ORDERS


@pytest.mark.parametrize("query", [
    pytest.param("{ ordersCount { count total } }", id="a field Count does not have"),
    pytest.param('{ ordersCount(limit: "ten") { count } }', id="a limit that is not an Int"),
])
def test_counts_shopify_refuses_are_errors(sandbox, shop, query):
    answer = graphql(sandbox, query)
    assert "data" not in answer and answer["errors"][0]["message"]


# ---- bulk operations -----------------------------------------------------------------------------------------
def test_a_bulk_operation_runs_polls_and_serves_jsonl_with_parent_ids(sandbox, shop):
    operation_id, _ = run_bulk(sandbox, ORDERS.bulk_query("updated_at:>='2000-01-01T00:00:00Z'"))
    assert poll(sandbox, operation_id)["status"] == "RUNNING"
    done = poll(sandbox, operation_id)
    assert done["status"] == "COMPLETED" and done["url"] and int(done["objectCount"]) > int(done["rootObjectCount"])
    # GIVEN no Shopify token: the signed URL is the credential
    lines = [json.loads(x) for x in requests.get(done["url"], timeout=10).text.splitlines()]
    roots = [x for x in lines if "__parentId" not in x]
    assert len(roots) == int(done["rootObjectCount"])
    parents = {x["id"] for x in roots} | {r["id"] for x in roots for r in x["refunds"]}
    children = [x for x in lines if "__parentId" in x]
    assert children and all(c["__parentId"] in parents for c in children)
    assert "lineItems" not in roots[0]  # nested connections leave their parent
    assert requests.get(done["url"].replace("signature=", "signature=x"), timeout=10).status_code == 403


def test_the_mutation_answers_at_once_and_a_poll_says_running_until_the_result_is_written(
        sandbox, shop, monkeypatch):
    # GIVEN a bulk query whose run (the emulator's projection of the nodes) cannot finish until the test says so
    release, entered = threading.Event(), threading.Event()
    project = shop._connection

    def slow_connection(selection, variables, run):
        if run.bulk:
            entered.set()
            release.wait(30)
        return project(selection, variables, run)

    monkeypatch.setattr(shop, "_connection", slow_connection)
    monkeypatch.setattr(shop_emulator, "POLL_WAITS_SECONDS", 0.05)
    try:
        # WHEN it starts: the mutation answers CREATED while the query runs in the background (Shopify: bulk
        # operations are asynchronous), so a slow query never holds the HTTP request
        operation_id, _ = run_bulk(sandbox, ORDERS.bulk_query("updated_at:>='2000-01-01T00:00:00Z'"))
        assert entered.wait(10)
        # THEN polls say RUNNING while the result is being written, and give no URL
        assert [poll(sandbox, operation_id)["status"] for _ in range(3)] == ["RUNNING"] * 3
        assert poll(sandbox, operation_id)["url"] is None
    finally:
        release.set()
    # once written (a poll waits only 0.05 s here, so a loaded machine may need a few), it completes
    deadline = time.monotonic() + 30
    while (done := poll(sandbox, operation_id))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done["status"] == "COMPLETED" and done["url"]
    lines = [json.loads(x) for x in requests.get(done["url"], timeout=10).text.splitlines()]
    assert len(lines) == int(done["objectCount"]) > int(done["rootObjectCount"]) > 0
    # roots first, then the nested nodes, each naming its parent
    assert sum("__parentId" not in x for x in lines) == int(done["rootObjectCount"])


def test_a_bulk_query_that_matches_nothing_completes_without_a_url(sandbox, shop):
    operation_id, _ = run_bulk(sandbox, ORDERS.bulk_query("updated_at:>='2099-01-01T00:00:00Z'"))
    poll(sandbox, operation_id)
    assert poll(sandbox, operation_id) | {"id": None} == {
        "id": None, "status": "COMPLETED", "errorCode": None, "objectCount": "0", "rootObjectCount": "0",
        "url": None, "partialDataUrl": None}


@pytest.mark.parametrize(("query", "message"), [
    pytest.param("{ node(id: \"gid://shopify/Order/1\") { id } }", "node", id="a node root"),
    pytest.param("{ orders { edges { node { lineItems { edges { node { id } } } refunds { refundLineItems { "
                 "edges { node { id lineItem { id } } } } } } } } } ", None, id="two levels are allowed"),
    pytest.param("{ products { edges { node { id variants { edges { node { id sellingPlanGroups { edges { node { id } } } "
                 "} } } } } } }", "nesting depth", id="three levels of connections"),
])
def test_bulk_queries_outside_the_documented_restrictions_get_user_errors(sandbox, shop, query, message):
    answer = graphql(sandbox, "mutation run($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } "
                              "userErrors { field message } } }", q=query)["data"]["bulkOperationRunQuery"]
    if message is None:
        assert answer["userErrors"] == [] and answer["bulkOperation"]["id"]
    else:
        assert answer["bulkOperation"] is None and message in answer["userErrors"][0]["message"]
        assert answer["userErrors"][0]["field"] == ["query"]


def test_a_sixth_running_bulk_query_is_refused_with_limit_reached(sandbox, shop):
    for _ in range(5):
        run_bulk(sandbox, PRODUCTS.bulk_query(""))
    answer = graphql(sandbox, "mutation run($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } "
                              "userErrors { message code } } }", q=PRODUCTS.bulk_query(""))
    assert answer["data"]["bulkOperationRunQuery"]["userErrors"][0]["code"] == "LIMIT_REACHED"


def test_a_failed_bulk_operation_names_its_error_code_and_partial_data(sandbox, shop):
    shop.fail_next_bulk("TIMEOUT", partial=True)
    operation_id, _ = run_bulk(sandbox, PRODUCTS.bulk_query(""))
    poll(sandbox, operation_id)
    failed = poll(sandbox, operation_id)
    assert (failed["status"], failed["errorCode"], failed["url"]) == ("FAILED", "TIMEOUT", None)
    assert requests.get(failed["partialDataUrl"], timeout=10).status_code == 200


# ---- the connector against the emulator ----------------------------------------------------------------------
def pull(sandbox, window: Window, *, read_fulfillments: bool = False, **client
         ) -> tuple[dict[str, list[dict]], shopify.ShopifyClient, list[float]]:
    conn = sandbox_connection(sandbox, "shopify", "narrowcast_shopify",
                              **({"read_fulfillments": True} if read_fulfillments else {}))
    waits: list[float] = []
    api = shopify.ShopifyClient.from_connection(conn, sleep=waits.append, **client)
    out: dict[str, list[dict]] = {entity: [] for entity in shopify.ENTITIES}
    for page in shopify.extract(conn, window, client=api):
        out[page.entity].extend(page.records)
    return out, api, waits


def test_a_full_load_goes_through_bulk_operations_and_a_rerun_gives_the_same_rows(sandbox, shop):
    first, _, waits = pull(sandbox, WHOLE_WORLD)
    operations = shop.snapshot()["operations"]
    assert len(operations) == 3 and {op["status"] for op in operations.values()} == {"COMPLETED"}
    assert waits and all(d["shopify_token_sent"] is False for d in shop.downloads)
    again, _, _ = pull(sandbox, WHOLE_WORLD)
    assert again == first and first["shop_orders"] and first["shop_order_lines"] and first["shop_refunds"]


def test_an_increment_goes_through_pages_and_matches_the_bulk_rows(sandbox, shop):
    paged, _, _ = pull(sandbox, FIRST_DAY)
    assert shop.snapshot()["operations"] == {}
    whole, _, _ = pull(sandbox, WHOLE_WORLD)
    in_day = [o for o in whole["shop_orders"] if FIRST_DAY.contains(o["updated_at"])]
    assert paged["shop_orders"] and sorted(paged["shop_orders"], key=lambda o: o["id"]) == sorted(
        in_day, key=lambda o: o["id"])


def test_the_connector_waits_out_an_exhausted_bucket_and_reads_every_row(sandbox, shop):
    clean, _, _ = pull(sandbox, FIRST_DAY)
    # GIVEN a bucket of 1,000 points restoring 2,000 per second, just emptied by other requests of the same app
    shop.bucket.size, shop.bucket.restore_rate = 1000.0, 2000.0
    shop.bucket.reset()
    shop.bucket.spend(1000)
    # WHEN a day is read page by page, sleeping for real
    waits: list[float] = []
    conn = sandbox_connection(sandbox, "shopify", "narrowcast_shopify")
    api = shopify.ShopifyClient.from_connection(conn, sleep=lambda s: (waits.append(s), time.sleep(s)))
    throttled = {entity: [] for entity in shopify.ENTITIES}
    for page in shopify.extract(conn, FIRST_DAY, client=api):
        throttled[page.entity].extend(page.records)
    # THEN it waited for the restore the THROTTLED answer asked for, and got the same rows as an unthrottled run
    assert waits and api.retries >= 1
    assert throttled == clean


def test_a_failed_bulk_operation_fails_the_extract_with_its_error_code(sandbox, shop):
    shop.fail_next_bulk("ACCESS_DENIED")
    with pytest.raises(FatalApiError, match="errorCode ACCESS_DENIED"):
        pull(sandbox, WHOLE_WORLD)


def test_a_short_window_with_many_rows_goes_to_bulk_with_the_rows_paging_reads_and_a_small_one_stays_paged(
        sandbox, shop):
    # GIVEN the standard plan's restore rate of 100 points/s, in a bucket deep enough that nothing waits, and two
    # days (not longer than BULK_WINDOW) holding more orders than either orders query pages in a bulk operation's time
    shop.bucket.restore_rate = 100.0
    two_days = Window(WORLD_START, WORLD_START + BULK_WINDOW)
    orders = graphql(sandbox, COUNT_DEFAULT_LIMIT, q=window_search(two_days))["data"]["ordersCount"]["count"]
    assert orders > max(ORDERS.bulk_above, FULFILLMENTS.bulk_above)
    # WHEN the two days are extracted with fulfillments
    bulk, _, _ = pull(sandbox, two_days, read_fulfillments=True)
    # THEN both orders queries ran as bulk operations, and the few customers and products were paged
    operations = shop.snapshot()["operations"].values()
    assert sorted(op["query"].split("(")[0].split()[-1] for op in operations) == ["orders", "orders"]
    # AND paging the same window (a restore rate so fast no count is worth a bulk operation) gives the same rows
    shop.bucket.restore_rate = 100_000.0
    paged, _, _ = pull(sandbox, two_days, read_fulfillments=True)
    assert len(shop.snapshot()["operations"]) == 2
    assert {e: sorted(rows, key=repr) for e, rows in bulk.items()} == {
        e: sorted(rows, key=repr) for e, rows in paged.items()}
    # AND nothing is lost or read twice: every order the count counted, once
    assert len(bulk["shop_orders"]) == len({o["id"] for o in bulk["shop_orders"]}) == orders
    assert bulk["shop_fulfillments"] and bulk["shop_order_attributes"] and bulk["shop_order_lines"]
    # AND an hour of the first day, a few orders, stays paged at the standard rate
    shop.bucket.restore_rate = 100.0
    hour = Window(WORLD_START + timedelta(hours=12), WORLD_START + timedelta(hours=13))
    small, _, _ = pull(sandbox, hour, read_fulfillments=True)
    assert len(shop.snapshot()["operations"]) == 2 and 0 < len(small["shop_orders"]) <= ORDERS.bulk_above


LIST_OPERATIONS = ("query($q: String, $key: BulkOperationsSortKeys, $reverse: Boolean) { bulkOperations(first: 10, "
                   "query: $q, sortKey: $key, reverse: $reverse) { nodes { id status type query createdAt } "
                   "pageInfo { hasNextPage } } }")


def test_bulk_operations_lists_the_apps_operations_newest_first_and_filters_by_the_documented_terms(sandbox, shop):
    first, _ = run_bulk(sandbox, PRODUCTS.bulk_query(""))
    second, _ = run_bulk(sandbox, ORDERS.bulk_query("updated_at:>='2000-01-01T00:00:00Z'"))
    assert poll(sandbox, second)["status"] == "RUNNING"

    def listed(**variables) -> list[dict]:
        answer = graphql(sandbox, LIST_OPERATIONS, **variables)["data"]["bulkOperations"]
        assert answer["pageInfo"] == {"hasNextPage": False}
        return answer["nodes"]

    assert [n["id"] for n in listed()] == [second, first]  # newest first by default
    assert [n["id"] for n in listed(reverse=True)] == [first, second]
    assert [n["id"] for n in listed(q="status:running")] == [second]
    assert [n["status"] for n in listed(q="status:created")] == ["CREATED"]  # listing does not advance it
    assert [n["id"] for n in listed(q="operation_type:mutation")] == []
    assert {n["id"] for n in listed(q="operation_type:query created_at:>='2000-01-01T00:00:00Z'")} == {first, second}
    assert listed(q="created_at:<'2000-01-01T00:00:00Z'") == []
    assert listed(q="status:running")[0]["query"] == ORDERS.bulk_query("updated_at:>='2000-01-01T00:00:00Z'")


def _slow_mutation(shop, monkeypatch, *, acted_on: bool) -> list[int]:
    """Make the first bulkOperationRunQuery answer 1.5 s late: having started its operation, or having done
    nothing (a request the shop dropped)."""
    real, calls = shop._mutation, []

    def late(selection, variables, request):
        calls.append(1)
        if len(calls) > 1:
            return real(selection, variables, request)
        answer = real(selection, variables, request) if acted_on else None
        time.sleep(1.5)
        return answer

    monkeypatch.setattr(shop, "_mutation", late)
    return calls


@pytest.mark.parametrize("processed", [True, False], ids=["the operation started", "the request was not acted on"])
def test_a_lost_bulk_start_answer_is_looked_up_not_sent_again(sandbox, shop, monkeypatch, tmp_path, processed):
    """A read timeout on bulkOperationRunQuery: the operation it started is followed; one it did not start is
    started once. Either way the shop runs the query exactly once."""
    calls = _slow_mutation(shop, monkeypatch, acted_on=processed)
    client = ShopifyApi.from_connection(
        sandbox_connection(sandbox, "shopify", "narrowcast_shopify", timeout_seconds=0.5))
    client.bulk_poll = (0.05, 1.0, 0.05)
    query = PRODUCTS.bulk_query("")
    operation_id, result = client.bulk_query(query, tmp_path / "products.jsonl")
    assert len(shop.operations) == 1 and list(shop.operations) == [operation_id]
    assert len(calls) == (1 if processed else 2)
    roots = [json.loads(x) for x in result.read_text().splitlines() if "__parentId" not in x]
    assert len(roots) == N_PRODUCTS
