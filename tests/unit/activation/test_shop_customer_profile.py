"""The shop personalisation sync: each Shopify customer's RFM segment, segments and recommendations as metafields
and Narrowcast-owned tags, written only where the marts changed, against the sandbox's customer emulator."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from activation_fixtures import make_connections

from narrowcast.activation import load_syncs, run_sync
from narrowcast.activation.destinations.base import Batch, Change, SendContext
from narrowcast.activation.destinations.shopify_customer_profile import ShopifyCustomerProfile
from narrowcast.activation.report import RemovalsNotConfirmed
from narrowcast.http import TokenBucket
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import SandboxServer

PROFILE_DDL = """create table customer_shop_profile (shopify_customer_id varchar, customer_id varchar,
    rfm_segment varchar, segments varchar, recommended_skus varchar)"""
MERCHANT_TAGS = ["wholesale", "newsletter-2025"]


@pytest.fixture(scope="module")
def shop() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["shopify_customer_profile"]) as server:
        yield server


@pytest.fixture()
def emulator(shop: SandboxServer) -> Any:
    requests.post(f"{shop.url}/_sandbox/reset", timeout=10).raise_for_status()
    found = shop.app.state.emulators["shopify_customer_profile"]
    for i in range(1, 41):
        found.seed_customer(1000 + i, MERCHANT_TAGS if i % 2 else [])
    return found


def profile(i: int, segments: str = "rfm:Loyal Customers,vip", rfm: str = "Loyal Customers") -> dict[str, Any]:
    return {"shopify_customer_id": str(1000 + i), "customer_id": f"c{i}", "rfm_segment": rfm,
            "segments": segments, "recommended_skus": f"SKU-{i},SKU-{i + 1}"}


def write_marts(path: Path, rows: list[dict[str, Any]]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(PROFILE_DDL.replace("create table", "create table if not exists"))
        con.execute("delete from customer_shop_profile")
        for row in rows:
            con.execute("insert into customer_shop_profile values (?, ?, ?, ?, ?)", list(row.values()))


def shipped_sync() -> Any:
    """The shipped declaration, turned on (it ships paused until the merchant grants the customer scope)."""
    return dataclasses.replace(next(s for s in load_syncs() if s.id == "shop_profile_shopify"), enabled=True)


def customer(emulator: Any, i: int) -> dict[str, Any]:
    return emulator.snapshot()["customers"].get(f"gid://shopify/Customer/{1000 + i}", {"tags": [], "metafields": {}})


def test_metafields_and_tags_reflect_the_marts_after_one_run_and_only_changed_customers_are_written_again(
        emulator, shop, tmp_path):
    # GIVEN 40 Shopify customers (half carrying the merchant's own tags) and their profiles in the mart
    warehouse = tmp_path / "warehouse.duckdb"
    write_marts(warehouse, [profile(i) for i in range(1, 41)])
    connections = make_connections(shop.url)
    # WHEN the shipped sync runs
    first = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # THEN every customer holds the metafields and nc: tags of the mart, beside the merchant's untouched tags
    assert (first.accepted, first.rejected) == (40, 0)
    seven = customer(emulator, 7)
    assert seven["tags"] == sorted([*MERCHANT_TAGS, "nc:rfm:Loyal Customers", "nc:vip"])
    assert seven["metafields"] == {
        "narrowcast.recommended_skus": {"type": "list.single_line_text_field", "value": json.dumps(["SKU-7", "SKU-8"])},
        "narrowcast.rfm_segment": {"type": "single_line_text_field", "value": "Loyal Customers"},
        "narrowcast.segments": {"type": "list.single_line_text_field", "value": json.dumps(["rfm:Loyal Customers", "vip"])}}
    assert customer(emulator, 8)["tags"] == ["nc:rfm:Loyal Customers", "nc:vip"]

    # WHEN two customers change segment (one leaves vip, one lapses) and the sync runs again
    rows = [profile(i) for i in range(1, 41)]
    rows[2] = profile(3, "lapsed,rfm:At Risk", "At Risk")
    rows[4] = profile(5, "rfm:Loyal Customers")
    write_marts(warehouse, rows)
    mutations_before = emulator.mutations
    second = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # THEN only those two are read and written: one metafieldsSet, their tag changes, nothing for the other 38
    assert (second.planned, second.accepted) == (2, 2)
    assert second.api_calls == 2  # one read of the two, one mutation document
    assert emulator.mutations - mutations_before == 1 + 2 + 1  # metafieldsSet; customer 3: add + remove; 5: remove
    assert customer(emulator, 3)["tags"] == sorted([*MERCHANT_TAGS, "nc:lapsed", "nc:rfm:At Risk"])
    assert customer(emulator, 5)["tags"] == sorted([*MERCHANT_TAGS, "nc:rfm:Loyal Customers"])
    assert customer(emulator, 5)["metafields"]["narrowcast.segments"]["value"] == json.dumps(["rfm:Loyal Customers"])

    # WHEN the third run has nothing new
    third = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # THEN nothing is sent at all
    assert (third.planned, third.api_calls) == (0, 0)


def test_a_customer_who_leaves_loses_our_metafields_and_tags_but_keeps_the_merchants(emulator, shop, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_marts(warehouse, [profile(i) for i in range(1, 41)])
    connections = make_connections(shop.url)
    run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # GIVEN customer 9 asks to be deleted (the mart drops them)
    write_marts(warehouse, [profile(i) for i in range(1, 41) if i != 9])
    # WHEN the sync runs
    report = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # THEN their metafields are deleted and only the nc: tags removed
    assert (report.planned_removes, report.accepted) == (1, 1)
    assert customer(emulator, 9) == {"tags": sorted(MERCHANT_TAGS), "metafields": {}}
    assert customer(emulator, 10)["tags"] == ["nc:rfm:Loyal Customers", "nc:vip"]


def test_a_run_that_would_strip_most_customers_is_refused_before_anything_is_written(emulator, shop, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_marts(warehouse, [profile(i) for i in range(1, 41)])
    connections = make_connections(shop.url)
    run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # GIVEN a filter typo empties three quarters of the model
    write_marts(warehouse, [profile(i) for i in range(1, 11)])
    # WHEN the sync runs without confirmation THEN the removal guard refuses and the shop keeps every profile
    with pytest.raises(RemovalsNotConfirmed):
        run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    assert customer(emulator, 30)["metafields"]["narrowcast.rfm_segment"]["value"] == "Loyal Customers"


def send(shop: SandboxServer, changes: list[Change]) -> dict[str, Any]:
    spec = shipped_sync()
    destination = ShopifyCustomerProfile(SendContext(make_connections(shop.url)["narrowcast_shopify"], spec.target,
                                                     "customer_profile", TokenBucket(1000, 1000)))
    return {r.key: r for r in destination.send(Batch("run", "upsert", 1, 1, changes))}


def test_a_refused_metafield_rejects_its_customer_and_the_others_of_its_atomic_call_are_set(emulator, shop):
    # GIVEN three customers sharing one metafieldsSet call, one of them with a value its type cannot hold, and a
    # customer the shop does not know
    rows = [Change(str(1000 + i), "add", {"customer_id": str(1000 + i), "metafields.rfm_segment": f"Champions{i}",
                                          "tags": "vip"}) for i in (1, 2, 3)]
    rows[1] = rows[1]._replace(payload={**rows[1].payload, "metafields.rfm_segment": "two\nlines"})
    unknown = Change("999999", "add", {"customer_id": "999999", "metafields.rfm_segment": "x"})
    # WHEN they are sent
    results = send(shop, [*rows, unknown])
    # THEN the bad one is rejected with Shopify's code, the unknown one without a write, and the others are set
    assert results["1002"].outcome == "rejected" and "INVALID_VALUE" in (results["1002"].reason or "")
    assert results["999999"].outcome == "rejected" and not results["999999"].sent
    assert results["1001"].outcome == results["1003"].outcome == "accepted"
    assert customer(emulator, 3)["metafields"]["narrowcast.rfm_segment"]["value"] == "Champions3"
    assert "narrowcast.rfm_segment" not in customer(emulator, 2)["metafields"]


def test_metafields_set_never_carries_more_than_25_metafields(emulator, shop):
    # GIVEN 12 customers with 3 metafields each (36 metafields)
    changes = [Change(str(1000 + i), "add", {"customer_id": str(1000 + i), "metafields.a1": "x", "metafields.b2": "y",
                                             "metafields.c3": "z"}) for i in range(1, 13)]
    seen: list[dict[str, Any]] = []
    original = requests.Session.request

    def record(self, method, url, **kwargs):
        if kwargs.get("json"):
            seen.append(kwargs["json"])
        return original(self, method, url, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "request", record)
        results = send(shop, changes)
    # THEN all are accepted, in metafieldsSet fields of at most 25 metafields, no customer split across two
    assert {r.outcome for r in results.values()} == {"accepted"}
    sets = [v for body in seen if "metafieldsSet" in body["query"] for k, v in body["variables"].items()
            if isinstance(v, list) and v and isinstance(v[0], dict) and "type" in v[0]]
    assert sorted(len(s) for s in sets) == [12, 24]


def graphql(shop: SandboxServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{shop.url}/shopify/admin/api/2026-10/graphql.json", timeout=10,
                           json={"query": query, "variables": variables},
                           headers={"X-Shopify-Access-Token": SANDBOX_TOKEN})
    assert answer.status_code == 200
    return answer.json()


SET = "mutation set($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) { metafields { key } userErrors { field message code elementIndex } } }"


def metafield(key: str, value: str = "x", owner: int = 1001, **more: Any) -> dict[str, Any]:
    return {"ownerId": f"gid://shopify/Customer/{owner}", "namespace": "narrowcast", "key": key,
            "type": "single_line_text_field", "value": value, **more}


def test_the_emulator_refuses_what_shopify_documents_and_sets_nothing_of_a_refused_call(emulator, shop):
    # more than 25 metafields in one call: refused before it runs (input array limit)
    too_many = graphql(shop, SET, {"m": [metafield(f"k{i:02d}") for i in range(26)]})
    assert too_many["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    # a key too short and an unknown type: userErrors naming the element; the valid one is not set either
    refused = graphql(shop, SET, {"m": [metafield("ok"), metafield("a"), metafield("ty", type="colour_wheel")]})
    errors = refused["data"]["metafieldsSet"]["userErrors"]
    assert {(e["code"], e["elementIndex"]) for e in errors} == {("TOO_SHORT", 1), ("INVALID_TYPE", 2)}
    assert customer(emulator, 1)["metafields"] == {}
    # a compareDigest that no longer matches the stored value
    graphql(shop, SET, {"m": [metafield("ok", "first")]})
    stale = graphql(shop, SET, {"m": [metafield("ok", "second", compareDigest="not-the-digest")]})
    assert stale["data"]["metafieldsSet"]["userErrors"][0]["code"] == "STALE_OBJECT"
    # tags on a customer the shop does not have; deleting a metafield that does not exist answers null
    tags = graphql(shop, 'mutation t { tagsAdd(id: "gid://shopify/Customer/1", tags: ["nc:x"]) { userErrors { field message } } }', {})
    assert tags["data"]["tagsAdd"]["userErrors"][0]["field"] == ["id"]
    deleted = graphql(shop, "mutation d($m: [MetafieldIdentifierInput!]!) { metafieldsDelete(metafields: $m) "
                      "{ deletedMetafields { key } userErrors { field message } } }",
                      {"m": [{"ownerId": "gid://shopify/Customer/1001", "namespace": "narrowcast", "key": "none"}]})
    assert deleted["data"]["metafieldsDelete"]["deletedMetafields"] == [None]
