"""A unique code from an abandoned checkout to the discount_redemptions mart, through the real pieces.

GIVEN a checkout abandoned in the shop emulator, WHEN the real-time trigger runs, THEN the shop has a unique code
and Klaviyo an event carrying it; WHEN the customer then orders with that code (a shop order as the Shopify source
lands it, the code typed in lower case) and dbt builds the mart, THEN discount_redemptions counts the issued code
as redeemed, with the recovered order and its revenue, under the campaign that issued it.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import requests
from dbt_invocation import run_dbt
from dbt_raw_schema import columns, create_table_sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "realtime"))

from realtime_fixtures import connections, now  # noqa: E402

from narrowcast.realtime import abandoned_checkouts as flow  # noqa: E402
from narrowcast.realtime.holdout import Holdout  # noqa: E402
from narrowcast.realtime.offers import campaign_offer  # noqa: E402
from narrowcast.sandbox.server import SandboxServer  # noqa: E402


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(None, only=["shopify", "shopify_checkouts", "klaviyo"]) as server:
        requests.post(f"{server.url}/_sandbox/reset", timeout=10).raise_for_status()
        yield server


def test_an_issued_code_redeemed_in_an_order_reaches_discount_redemptions(sandbox, tmp_path: Path) -> None:
    shop = sandbox.app.state.emulators["shopify_checkouts"]
    klaviyo = sandbox.app.state.emulators["klaviyo"]
    warehouse = tmp_path / "warehouse.duckdb"
    at = now()
    shop.put_checkout(4242, customer_id=77, email="ada@example.com", currency="EUR", rate="1",
                      updated_at=at - timedelta(minutes=61),
                      lines=[{"sku": "MUG-1", "title": "Mug", "quantity": 2, "price": "12.50"}])
    shopify, klaviyo_conn = connections(sandbox.url)
    report = flow.run(shopify, klaviyo_conn, warehouse=warehouse, data_dir=tmp_path, now=at,
                      holdout=Holdout(0.0, "salt"), offer=campaign_offer("abandoned_cart"))
    assert report.sent == 1
    [event] = klaviyo.events.values()
    code = event["properties"]["DiscountCode"]
    assert code in shop.codes

    # WHEN the customer orders with the code two hours later (the shop's own order, as the Shopify source lands it)
    ordered = at + timedelta(hours=2)
    order = {"id": 9001, "order_number": 1901, "customer_id": 77, "email": "ada@example.com", "created_at": ordered,
             "updated_at": ordered, "processed_at": ordered, "financial_status": "paid", "currency": "EUR",
             "subtotal_price": 22.50, "total_discounts": 2.50, "total_tax": 0, "total_shipping": 0,
             "total_price": 22.50, "discount_codes": f"{code.lower()}", "test": False, "source_name": "web",
             "_batch_id": "round-trip", "_loaded_at": ordered, "_source": "fixture"}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw")
        con.execute(create_table_sql("shop_orders"))
        names = [name for name in columns("shop_orders") if name in order]
        con.execute(f"insert into raw.shop_orders ({', '.join(names)}) values ({', '.join('?' * len(names))})",
                    [order[name] for name in names])
    run_dbt(["build", "--select", "+discount_redemptions", "--resource-type", "model", "--resource-type", "seed"],
            warehouse=warehouse, target_path=tmp_path / "target", as_of_date=ordered.date().isoformat())

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select campaign, code_kind, sum(codes_issued), sum(issued_codes_redeemed), sum(recovered_orders), "
            "sum(recovered_revenue_reporting) from main.discount_redemptions where code_kind = 'unique' "
            "group by campaign, code_kind").fetchall()
        [(net_revenue,)] = con.execute("select net_revenue_reporting from main.int_orders "
                                       "where order_key like '%9001'").fetchall()
    # THEN the issued code counts as redeemed by the one recovered order, with that order's revenue
    assert rows == [("abandoned_cart", "unique", 1, 1, 1, net_revenue)]
    assert net_revenue is not None and net_revenue > 0
