"""Orders, catalogue, marketplaces and inbox files: the business facts the marts are built on."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from datagen_helpers import SMALL
from datagen_world_queries import PAIR_LIFT_SQL, RFM_SEGMENTS_SQL

from narrowcast.datagen import GenerationReport
from narrowcast.datagen.traffic import CHANNELS

# The R×F grid cells a shop with a benchmark repeat-purchase rate fills: about three buyers in four order once, so
# (ties sharing the lowest rank) frequency scores are 1, 4 or 5 and the F 2-3 cells (Potential Loyalists, Need
# Attention) stay empty, as they do in a real shop's first months.
RFM_SEGMENTS = {"Champions", "Loyal Customers", "New Customers", "Promising", "About to Sleep", "Can't Lose Them",
                "Hibernating"}


def _world(report: GenerationReport, name: str) -> list[dict]:
    return pq.read_table(report.data_dir / "world" / f"{name}.parquet").to_pylist()


def _inbox(report: GenerationReport, prefix: str) -> list[dict]:
    (path,) = sorted((report.data_dir / "inbox").glob(f"{prefix}*.csv"))
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_order_totals_add_up_from_lines_discounts_tax_and_shipping(clean_world: GenerationReport) -> None:
    orders = {o["order_id"]: o for o in _world(clean_world, "orders")}
    gross: Counter = Counter()
    for line in _world(clean_world, "order_lines"):
        gross[line["order_id"]] += line["price"] * line["quantity"]
    assert set(gross) == set(orders)
    for oid, o in orders.items():
        assert o["subtotal_price"] == gross[oid] - o["total_discounts"]
        assert o["total_price"] == o["subtotal_price"] + o["total_tax"] + o["total_shipping"]


def test_orders_have_every_lifecycle_case(clean_world: GenerationReport) -> None:
    orders = _world(clean_world, "orders")
    status = Counter(o["financial_status"] for o in orders)
    assert {"paid", "partially_refunded", "refunded", "voided"} <= set(status)
    assert any(o["cancelled_at"] is not None for o in orders)
    assert any(o["discount_code"] for o in orders)
    assert any(o["test"] for o in orders)
    assert any(o["customer_id"] is None for o in orders)  # guests
    assert all(o["currency"] == "EUR" for o in orders)


def test_refunds_match_financial_status(clean_world: GenerationReport) -> None:
    orders = {o["order_id"]: o for o in _world(clean_world, "orders")}
    lines = Counter()
    for line in _world(clean_world, "order_lines"):
        lines[line["order_id"]] += line["quantity"]
    refunded = Counter()
    for r in _world(clean_world, "refunds"):
        refunded[r["order_id"]] += r["quantity"]
    for oid, qty in refunded.items():
        expected = "refunded" if qty == lines[oid] else "partially_refunded"
        assert orders[oid]["financial_status"] == expected
    flagged = {oid for oid, o in orders.items() if o["financial_status"] in ("refunded", "partially_refunded")}
    assert flagged == set(refunded)


def test_rfm_spreads_customers_over_every_reachable_segment(clean_world: GenerationReport) -> None:
    last_day = SMALL["start"].toordinal() + SMALL["days"] - 1
    as_of = SMALL["start"].fromordinal(last_day).isoformat()
    rows = duckdb.sql(RFM_SEGMENTS_SQL.format(world=clean_world.data_dir / "world", as_of=as_of)).fetchall()
    assert {segment for segment, members in rows if members > 0} == RFM_SEGMENTS


def test_complementary_pairs_are_bought_together_more_than_chance(clean_world: GenerationReport) -> None:
    rows = duckdb.sql(f"select together, lift from ({PAIR_LIFT_SQL.format(world=clean_world.data_dir / 'world')})"
                      " where together >= 2").fetchall()
    assert len(rows) >= 5
    assert all(lift > 1 for _, lift in rows)


def test_products_cost_less_than_their_price(clean_world: GenerationReport) -> None:
    products = _world(clean_world, "products")
    assert all(0 < p["cost"] < p["price"] for p in products)
    assert all(p["map_price"] is None or p["map_price"] <= p["price"] for p in products)


def test_erp_stock_is_never_negative_with_some_skus_out_and_some_low(clean_world: GenerationReport) -> None:
    stock = _inbox(clean_world, "erp_stock_")
    on_hand = [int(r["on_hand"]) for r in stock]
    price = {p["sku"]: p["price"] for p in _world(clean_world, "products")}
    assert min(on_hand) == 0
    assert sum(1 for q in on_hand if 1 <= q <= 3) >= 2
    assert all(float(r["cost"]) < float(price[r["sku"]]) for r in stock)


def test_every_active_sku_is_listed_on_ebay_amazon_and_the_shop(clean_world: GenerationReport) -> None:
    active = {p["sku"] for p in _world(clean_world, "products") if p["status"] == "active"}
    listings = _world(clean_world, "listings")
    for market in ("ebay", "amazon", "shop"):
        assert {r["sku"] for r in listings if r["marketplace"] == market} == active
    assert all(r["listing_id"].isdigit() for r in listings if r["marketplace"] == "ebay")
    assert len(_inbox(clean_world, "marketplace_listings")) == len(listings)


def test_marketplace_orders_include_open_ones_and_known_and_marketplace_only_buyers(
        clean_world: GenerationReport) -> None:
    ebay, amazon = _world(clean_world, "ebay_orders"), _world(clean_world, "amazon_orders")
    assert any(r["order_fulfillment_status"] != "FULFILLED" for r in ebay)
    assert any(r["order_status"] in ("Pending", "Unshipped", "PartiallyShipped") for r in amazon)
    customers = _world(clean_world, "customers")
    by_email = {c["email"].strip().lower(): c["customer_id"] for c in customers}
    web_buyers = {o["customer_id"] for o in _world(clean_world, "orders")}
    buyers = {by_email[r["buyer_email"]] for r in ebay if r["buyer_email"] in by_email}
    buyers |= {by_email[r["buyer_email"]] for r in amazon if r["buyer_email"] in by_email}
    assert len(buyers & web_buyers) >= 3
    assert len(buyers - web_buyers) >= 3  # marketplace-only customers


def test_budget_plan_has_one_row_per_month_and_channel(clean_world: GenerationReport) -> None:
    plan = _inbox(clean_world, "budget_plan_")
    assert Counter(r["channel"] for r in plan) == dict.fromkeys(CHANNELS, 1)
    assert {r["month"] for r in plan} == {"2026-08"}
    assert all(float(r["planned_spend"]) > 0 for r in plan if r["channel"] in ("paid_social", "paid_search"))


def test_privacy_requests_name_real_customers_with_both_request_types(clean_world: GenerationReport) -> None:
    requests = _inbox(clean_world, "privacy_requests_")
    ids = {c["customer_id"] for c in _world(clean_world, "customers")}
    assert {r["request_type"] for r in requests} == {"opt_out", "delete"}
    assert all(int(r["customer_id"]) in ids for r in requests)


def test_contact_details_are_messy_so_normalisation_matters(clean_world: GenerationReport) -> None:
    customers = _world(clean_world, "customers")
    emails = [c["email"] for c in customers]
    phones = [c["phone"] for c in customers if c["phone"]]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    assert any(p.startswith("+") for p in phones) and any(p.startswith("0") for p in phones)
    assert any(" " in p for p in phones) and any(p.startswith("00") for p in phones)
    assert len({e.strip().lower() for e in emails}) == len(emails)


def test_report_rows_match_the_files_written(clean_world: GenerationReport) -> None:
    root: Path = clean_world.data_dir
    for rel, rows in clean_world.rows.items():
        path = root / rel
        if path.suffix == ".parquet":
            assert pq.read_metadata(path).num_rows == rows, rel
        else:
            lines = path.read_text(encoding="utf-8").count("\n")
            assert lines - (1 if path.suffix == ".csv" else 0) == rows, rel


def test_no_customer_changes_after_the_worlds_end(clean_world: GenerationReport) -> None:
    # The world's end is "now" for every API: a profile updated later would be missing from a read up to the end,
    # and a deployment's next scheduled read would find it (the customers created in the last 20 days consent
    # up to 20 days after sign-up).
    end = datetime.combine(SMALL["start"] + timedelta(days=SMALL["days"]), time.min)
    customers = _world(clean_world, "customers")
    late = [c["customer_id"] for c in customers if c["updated_at"] >= end
            or (c["marketing_consent_updated_at"] or datetime.min) >= end]
    assert late == []
    assert max(c["created_at"] for c in customers) > end - timedelta(days=20)  # some did sign up near the end
    # ... and their consents spread over the time left instead of piling up on the last day
    last_day = [c for c in customers if (c["marketing_consent_updated_at"] or datetime.min) >= end - timedelta(days=1)]
    assert len(last_day) <= len(customers) * 0.05
