"""The generated shop carries the referral programme: advocates' links in GA4 landings, their codes typed at
checkout by other customers, and an affiliate partner's contact list in the inbox, all in the formats the
warehouse reads."""

from __future__ import annotations

import csv
import hashlib
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
from datagen_helpers import param

from narrowcast.datagen import GenerationReport

# dbt_project.yml: var referral_code_key's default, the key the demo runs with.
KEY = "narrowcast-demo-referral-key"


def _code(customer_id: object) -> str:
    return "REF-" + hashlib.sha256(f"{KEY}:{customer_id}".encode()).hexdigest()[:10].upper()


def _customer_codes(world: GenerationReport) -> dict[str, str]:
    customers = pq.read_table(world.data_dir / "world" / "customers.parquet").column("customer_id").to_pylist()
    return {_code(c): str(c) for c in customers}


def test_landing_pages_carry_advocates_referral_codes(clean_world: GenerationReport, clean_events: list[dict]) -> None:
    codes = _customer_codes(clean_world)
    landed = set()
    for event in clean_events:
        page = param(event, "page_location")
        if isinstance(page, str) and (ref := parse_qs(urlsplit(page).query).get("ref")):
            landed.add(ref[0])
    # every ?ref= is a customer's code as the warehouse computes it, and a few advocates share theirs
    assert landed and landed <= set(codes)
    assert 1 <= len(landed) <= 3


def test_some_orders_carry_another_customers_referral_code(clean_world: GenerationReport) -> None:
    codes = _customer_codes(clean_world)
    orders = pq.read_table(clean_world.data_dir / "world" / "orders.parquet").to_pylist()
    referred = [o for o in orders if (o["discount_code"] or "").startswith("REF-")]
    assert referred
    for order in referred:
        assert order["discount_code"] in codes
        assert codes[order["discount_code"]] != str(order["customer_id"]), "an advocate never refers themself"


def test_the_inbox_holds_a_partner_list_with_a_lawful_basis_per_contact(clean_world: GenerationReport) -> None:
    [drop] = (clean_world.data_dir / "inbox").glob("partner_list_*.csv")
    assert (drop.parent / (drop.name + ".done")).exists()
    with drop.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert set(rows[0]) == {"partner_id", "email", "consent_basis", "allowed_uses", "collected_at"}
    assert {r["consent_basis"] for r in rows} <= {"consent", "legitimate_interest", "contract"}
    assert {r["consent_basis"] for r in rows} >= {"consent", "legitimate_interest"}
    assert all("@" in r["email"] for r in rows)
    assert {u for r in rows for u in r["allowed_uses"].split("|") if u} <= {"email", "ads"}
