"""Referral codes as redeem codes of one code discount in the shop: created once, added 250 per asynchronous bulk
add, refused codes rejected with Shopify's reason, codes of customers who left deleted under the removal guard;
against the sandbox's shop emulator and against responses written from Shopify's documented shapes."""

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
from narrowcast.activation.destinations.shopify_discount_codes import ShopifyDiscountCodes
from narrowcast.activation.report import RemovalsNotConfirmed
from narrowcast.activation.spec import read_syncs
from narrowcast.apis import shopify
from narrowcast.apis.shopify import ShopifyApi, add_redeem_codes, create_code_discount, delete_redeem_codes
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import SandboxServer

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "shopify_redeem_codes.json").read_text())
MODEL_DDL = """create table if not exists customer_referral_codes (customer_id varchar, email varchar,
    referral_code varchar, referral_link varchar, referred_orders bigint, referred_customers bigint)"""


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["shopify_checkouts"]) as running:
        yield running


@pytest.fixture()
def shop(server: SandboxServer) -> Any:
    requests.post(f"{server.url}/_sandbox/reset", timeout=10).raise_for_status()
    return server.app.state.emulators["shopify_checkouts"]


def code(i: int) -> str:
    return f"REF-{i:010X}"


def write_model(path: Path, customers: list[int], codes: dict[int, str] | None = None) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(MODEL_DDL)
        con.execute("delete from customer_referral_codes")
        con.executemany("insert into customer_referral_codes values (?, ?, ?, ?, 0, 0)",
                        [[f"c{i}", f"c{i}@example.com", (codes or {}).get(i, code(i)),
                          f"https://shop.example/?ref={code(i)}"] for i in customers])


def shipped_sync() -> Any:
    """The shipped declaration, turned on (it ships paused until the merchant grants write_discounts)."""
    return dataclasses.replace(next(s for s in load_syncs() if s.id == "referral_codes_shop"), enabled=True)


def programme(shop: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(i, d) for i, d in shop.discounts.items() if d["title"] == "Referral programme"]


def test_the_discount_is_created_once_codes_go_250_per_call_and_a_rerun_makes_no_call(shop, server, tmp_path):
    # GIVEN 300 consenting customers with referral codes
    warehouse = tmp_path / "warehouse.duckdb"
    write_model(warehouse, list(range(1, 301)))
    connections = make_connections(server.url)
    # WHEN the shipped sync runs
    first = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # THEN one discount holds all 300 codes, with what the sync's target grants
    assert (first.accepted, first.rejected) == (300, 0)
    [(discount_id, discount)] = programme(shop)
    assert {shop.codes[code(i)] for i in range(1, 301)} == {discount_id}
    assert discount["value"] == {"percentage": 0.1}
    assert discount["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "30"}}
    assert discount["appliesOncePerCustomer"] is True
    assert discount["combinesWith"] == {"orderDiscounts": False, "productDiscounts": True, "shippingDiscounts": True}
    # one lookup by title, the create (first code), a bulk add of 249 and of 50, each read once until done
    assert first.api_calls == 1 + 1 + 2 + 2
    assert [c["codesCount"] for c in shop.creations.values()] == [249, 50]

    # WHEN the sync runs again with nothing changed THEN nothing is sent at all
    second = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    assert (second.planned, second.api_calls) == (0, 0)

    # WHEN the warehouse state is lost (a new warehouse) and the sync runs again
    fresh = tmp_path / "fresh.duckdb"
    write_model(fresh, list(range(1, 301)))
    third = run_sync(shipped_sync(), connections=connections, warehouse=fresh)
    # THEN the discount is found by its title, not created twice, and the codes it holds count as added: the first
    # bulk add answers TAKEN for its 250 (its status, then its codes read), the discount's codes are read once (2
    # pages), and the other 50 need no call
    assert (third.accepted, third.rejected) == (300, 0)
    assert (third.api_calls, third.sent) == (1 + 3 + 2, 250)
    assert len(programme(shop)) == 1 and len(shop.discounts[discount_id]["codes"]) == 300


def test_a_code_another_discount_holds_is_a_rejected_row_with_shopifys_reason(shop, server, tmp_path):
    # GIVEN the merchant already uses one of the codes (in any case) for a discount of their own
    api = ShopifyApi.from_connection(make_connections(server.url)["narrowcast_shopify"])
    create_code_discount(api, {"title": "Summer", "code": code(5).lower(), "startsAt": "2026-06-01T00:00:00Z",
                               "context": {"all": "ALL"}, "customerGets": {"value": {"percentage": 0.2},
                                                                          "items": {"all": True}}})
    warehouse = tmp_path / "warehouse.duckdb"
    write_model(warehouse, list(range(1, 11)))
    # WHEN the sync runs
    report = run_sync(shipped_sync(), connections=make_connections(server.url), warehouse=warehouse,
                      rejected_threshold=0.5)
    # THEN that customer's row is rejected with Shopify's code and message, the others are in the programme
    assert (report.accepted, report.rejected) == (9, 1)
    with duckdb.connect(str(warehouse)) as con:
        [(key, reason)] = con.execute("select record_key, reason from activation.sync_rejections").fetchall()
    assert key == "c5" and "TAKEN" in reason and "must be unique" in reason
    [(discount_id, _)] = programme(shop)
    assert shop.codes[code(5).lower()] != discount_id and shop.codes[code(6)] == discount_id


def test_the_first_code_taken_elsewhere_does_not_stop_the_discount_being_created(shop, server, tmp_path):
    api = ShopifyApi.from_connection(make_connections(server.url)["narrowcast_shopify"])
    create_code_discount(api, {"title": "Staff", "code": code(1), "startsAt": "2026-06-01T00:00:00Z",
                               "context": {"all": "ALL"}, "customerGets": {"value": {"percentage": 0.3},
                                                                          "items": {"all": True}}})
    warehouse = tmp_path / "warehouse.duckdb"
    write_model(warehouse, [1, 2, 3])
    report = run_sync(shipped_sync(), connections=make_connections(server.url), warehouse=warehouse,
                      rejected_threshold=0.5)
    assert (report.accepted, report.rejected) == (2, 1)
    [(discount_id, discount)] = programme(shop)
    assert set(discount["codes"]) == {code(2), code(3)}


def test_a_customer_who_withdraws_consent_has_their_code_deleted(shop, server, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_model(warehouse, list(range(1, 301)))
    connections = make_connections(server.url)
    run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # GIVEN customer 7 withdraws consent (the model drops them)
    write_model(warehouse, [i for i in range(1, 301) if i != 7])
    # WHEN the sync runs
    report = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # THEN their code is deleted from the shop and every other code stays
    assert (report.planned_removes, report.accepted) == (1, 1)
    assert code(7) not in shop.codes and code(8) in shop.codes
    [(_, discount)] = programme(shop)
    assert len(discount["codes"]) == 299
    # one lookup by title, the first page of the discount's codes (which holds it), the bulk delete, its job read
    assert report.api_calls == 1 + 1 + 1 + 1


def test_a_changed_code_is_added_and_the_old_one_deleted(shop, server, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_model(warehouse, [1, 2])
    connections = make_connections(server.url)
    run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    write_model(warehouse, [1, 2], codes={2: "REF-NEWCODE002"})
    report = run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    assert (report.planned_changes, report.accepted) == (1, 1)
    assert "REF-NEWCODE002" in shop.codes and code(2) not in shop.codes and code(1) in shop.codes


def test_a_run_that_would_delete_most_codes_is_refused_before_anything_is_deleted(shop, server, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_model(warehouse, list(range(1, 41)))
    connections = make_connections(server.url)
    run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    # GIVEN a broken consent feed leaves a quarter of the programme in the model
    write_model(warehouse, list(range(1, 11)))
    # WHEN the sync runs without confirmation THEN the removal guard refuses and every code stays in the shop
    with pytest.raises(RemovalsNotConfirmed):
        run_sync(shipped_sync(), connections=connections, warehouse=warehouse)
    assert all(code(i) in shop.codes for i in range(1, 41))
    # WHEN the removals are confirmed THEN they go through
    confirmed = run_sync(shipped_sync(), connections=connections, warehouse=warehouse, confirm_removals=True)
    assert confirmed.accepted == 30 and code(30) not in shop.codes and code(10) in shop.codes


@pytest.mark.parametrize(("target", "problem"), [
    pytest.param({"title": "R", "percentage": 10, "amount": 5}, "exactly one of percentage", id="both-values"),
    pytest.param({"title": "R"}, "exactly one of percentage", id="no-value"),
    pytest.param({"title": "R", "percentage": 150}, "(0, 100]", id="percentage-over-100"),
    pytest.param({"title": "", "amount": 5}, "title", id="no-title"),
    pytest.param({"title": "R", "amount": "-5"}, "amount must be a number > 0", id="negative-amount"),
    pytest.param({"title": "R", "amount": 5, "combines_with": {"everything": True}}, "combines_with",
                 id="unknown-combination"),
    pytest.param({"title": "R", "amount": 5, "colour": "red"}, "unknown target key", id="unknown-key"),
])
def test_a_bad_offer_is_refused_at_declaration(target, problem):
    assert problem in (ShopifyDiscountCodes.check_declaration("redeem_code", target, {"code"}) or "")


def test_a_bad_offer_in_the_yaml_disables_that_sync_naming_the_file_and_key(tmp_path):
    shipped = next(s for s in load_syncs() if s.id == "referral_codes_shop").path.read_text()
    broken = tmp_path / "referral_codes_shop.yml"
    broken.write_text(shipped.replace("  percentage: 10\n", "  percentage: 10\n  amount: 5\n"))
    [invalid] = read_syncs(tmp_path).invalid
    assert str(broken) in str(invalid.error) and "key 'target'" in str(invalid.error)
    assert "exactly one of percentage" in str(invalid.error)


# ---- the emulator refuses what Shopify documents --------------------------------------------------------------
def graphql(server: SandboxServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{server.url}/shopify/admin/api/2026-10/graphql.json", timeout=10,
                           json={"query": query, "variables": variables},
                           headers={"X-Shopify-Access-Token": SANDBOX_TOKEN})
    assert answer.status_code == 200
    return answer.json()


def new_discount(api: ShopifyApi, title: str, first_code: str) -> str:
    return create_code_discount(api, {"title": title, "code": first_code, "startsAt": "2026-06-01T00:00:00Z",
                                      "context": {"all": "ALL"},
                                      "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}}})


def test_the_emulator_refuses_codes_as_shopify_documents(shop, server):
    api = ShopifyApi.from_connection(make_connections(server.url)["narrowcast_shopify"])
    discount = new_discount(api, "T", "FIRST")
    new_discount(api, "Other", "ELSEWHERE")
    # a code of another discount in another case, one over and one at 255 characters, a blank one
    outcome = add_redeem_codes(api, discount, ["elsewhere", "X" * 256, "X" * 255, "   "])
    assert outcome["elsewhere"] == "Code must be unique. Please try a different code. [code] (TAKEN)"
    assert "(TOO_LONG)" in (outcome["X" * 256] or "") and outcome["X" * 255] is None
    assert "(BLANK)" in (outcome["   "] or "")
    # a code repeated in one call: the first occurrence takes it, and the repeat is this discount's already
    repeat = add_redeem_codes(api, discount, ["TWICE", "TWICE"])
    assert repeat == {"TWICE": None}
    assert [c["errors"][0]["code"] if c["errors"] else None for c in list(shop.creations.values())[-1]["codes"]] == [
        None, "TAKEN"]
    # more than 250 codes or ids in one call: refused before it runs
    too_many = graphql(server, shopify.DISCOUNT_REDEEM_CODE_BULK_ADD,
                       {"discountId": discount, "codes": [{"code": f"C{i}"} for i in range(251)]})
    assert too_many["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    deletes = graphql(server, shopify.DISCOUNT_REDEEM_CODE_BULK_DELETE,
                      {"discountId": discount, "ids": [f"gid://shopify/DiscountRedeemCode/{i}" for i in range(251)]})
    assert deletes["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    # an unknown discount, and a delete naming no code: userErrors
    unknown = delete_redeem_codes(api, "gid://shopify/DiscountCodeNode/999999", ["gid://shopify/DiscountRedeemCode/1"])
    assert unknown is not None and "(INVALID)" in unknown
    nothing = graphql(server, shopify.DISCOUNT_REDEEM_CODE_BULK_DELETE, {"discountId": discount, "ids": []})
    assert nothing["data"]["discountCodeRedeemCodeBulkDelete"]["userErrors"][0]["code"] == "MISSING_ARGUMENT"


def test_the_emulator_deletes_only_the_named_codes_of_that_discount_once_the_job_is_read(shop, server):
    api = ShopifyApi.from_connection(make_connections(server.url)["narrowcast_shopify"])
    discount = new_discount(api, "T", "A-0")
    add_redeem_codes(api, discount, [f"A-{i}" for i in range(1, 300)])
    pages = list(shopify.redeem_code_pages(api, discount))
    assert [len(p) for p in pages] == [250, 50]
    ids = {code: redeem_id for page in pages for code, redeem_id in page.items()}
    answer = graphql(server, shopify.DISCOUNT_REDEEM_CODE_BULK_DELETE,
                     {"discountId": discount, "ids": [ids["A-3"], ids["A-299"]]})
    job = answer["data"]["discountCodeRedeemCodeBulkDelete"]["job"]
    assert job["done"] is False and "A-3" in shop.codes  # asynchronous: nothing is deleted yet
    assert graphql(server, shopify.JOB, {"id": job["id"]})["data"]["job"]["done"] is True
    assert "A-3" not in shop.codes and "A-299" not in shop.codes and "A-4" in shop.codes
    assert shopify.discounts_titled(api, "T") == [discount] and shopify.discounts_titled(api, "T2") == []


# ---- the client against Shopify's documented response shapes -------------------------------------------------
class DocumentedShop:
    """Answers each operation from the fixture, in order; records what was asked."""

    api_name = "shopify_admin"
    graphql_path = "admin/api/2026-10/graphql.json"

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.slept: list[float] = []

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        self.asked.append((query.split("(", 1)[0].split()[-1], dict(variables or {})))
        return FIXTURE[self.answers.pop(0)]["data"]

    def url(self, path: str) -> str:
        return f"https://shop.example/{path}"

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_a_documented_bulk_creation_is_polled_until_done_and_read_per_code():
    shop = DocumentedShop(["bulk_add", "bulk_creation_running", "bulk_creation_finished", "bulk_creation_done",
                           "code_elsewhere"])
    codes = ["REF-0A1B2C3D4E", "REF-5F6A7B8C9D", "SUMMER10"]
    outcome = add_redeem_codes(shop, "gid://shopify/DiscountCodeNode/1", codes)  # type: ignore[arg-type]
    assert outcome["REF-0A1B2C3D4E"] is None and outcome["REF-5F6A7B8C9D"] is None
    # SUMMER10 is TAKEN by another discount (codeDiscountNodeByCode names discount 990001): a refusal with the reason
    assert outcome["SUMMER10"] == "Code must be unique. Please try a different code. [code] (TAKEN)"
    # polled by its counts until done; its codes read once, because one failed
    assert [name for name, _ in shop.asked] == [
        "discountRedeemCodeBulkAdd", "discountRedeemCodeBulkCreationStatus", "discountRedeemCodeBulkCreationStatus",
        "discountRedeemCodeBulkCreation", "codeDiscountNodeByCode"]
    assert shop.asked[0][1]["codes"] == [{"code": c} for c in codes] and len(shop.slept) == 1


def test_a_documented_bulk_creation_that_imported_every_code_is_not_read_further():
    shop = DocumentedShop(["bulk_add", "bulk_creation_all_imported"])
    codes = ["REF-0A1B2C3D4E", "REF-5F6A7B8C9D", "REF-77"]
    assert add_redeem_codes(shop, "gid://shopify/DiscountCodeNode/1", codes) == dict.fromkeys(codes)  # type: ignore[arg-type]
    assert [name for name, _ in shop.asked] == ["discountRedeemCodeBulkAdd", "discountRedeemCodeBulkCreationStatus"]


def test_a_documented_bulk_delete_waits_for_its_job_and_a_refusal_says_why():
    shop = DocumentedShop(["bulk_delete", "job_done"])
    assert delete_redeem_codes(shop, "gid://shopify/DiscountCodeNode/1",  # type: ignore[arg-type]
                               ["gid://shopify/DiscountRedeemCode/10001"]) is None
    assert shop.asked[1] == ("job", {"id": "gid://shopify/Job/7d8a7c29-7e7b-4a2e-9c1a-5b3f0e6b8d21"})
    refused = DocumentedShop(["bulk_delete_refused"])
    reason = delete_redeem_codes(refused, "gid://shopify/DiscountCodeNode/2", ["x"])  # type: ignore[arg-type]
    assert reason == ("discountCodeRedeemCodeBulkDelete refused: Code discount does not exist. [discountId] "
                      "(INVALID)")


def test_two_discounts_with_the_programmes_title_reject_the_rows_and_create_nothing(shop, server, tmp_path):
    # GIVEN the merchant made a second discount with the programme's title by hand
    api = ShopifyApi.from_connection(make_connections(server.url)["narrowcast_shopify"])
    new_discount(api, "Referral programme", "HAND-1")
    new_discount(api, "Referral programme", "HAND-2")
    warehouse = tmp_path / "warehouse.duckdb"
    write_model(warehouse, [1, 2])
    # WHEN the sync runs THEN no code is added to either, and each row says how to resolve it
    report = run_sync(shipped_sync(), connections=make_connections(server.url), warehouse=warehouse,
                      rejected_threshold=1.0)
    assert (report.accepted, report.rejected) == (0, 2)
    with duckdb.connect(str(warehouse)) as con:
        reasons = {r for (r,) in con.execute("select reason from activation.sync_rejections").fetchall()}
    assert len(reasons) == 1 and "set target discount_id" in reasons.pop()
    assert code(1) not in shop.codes and len(programme(shop)) == 2
