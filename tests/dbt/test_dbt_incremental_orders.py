"""The order and identity models built incrementally after new data and late changes — a new order, a refund on an
old order, an identity link merging two old customers, an order reloaded as cancelled, an order file's new version
without one order, a marketplace order whose buyer data expired, then an erasure by the privacy purge; a Shopify
customer merging a marketplace-only one and another splitting off, a late fx revision, a new stock file and one of
a past day — equal a full refresh of the same raw data, and an order keeps the unit cost of its own date."""

from __future__ import annotations

import shutil
from pathlib import Path

import dbt_fixture_warehouse as fixture
import duckdb
import pandas as pd
import pytest
from dbt_invocation import run_dbt

from narrowcast.privacy.purge import purge_deleted
from narrowcast.privacy.subjects import SALT_VARIABLE
from narrowcast.sources.registry import ENTITIES
from narrowcast.warehouse import connect

pytestmark = pytest.mark.e2e  # five dbt invocations

# cautious: tests that also read models outside this selection are left out
SELECT = ["--select", "+int_orders", "+int_customers", "--indirect-selection", "cautious"]
MODELS = {  # model -> its key
    "int_order_buyers": ["orders_model", "order_id"],
    "int_customer_identity_links": ["source", "key_kind", "source_key"],
    "int_customers": ["customer_id"],
    "int_orders": ["order_key"],
}
SECOND_LOAD = "timestamp '2026-04-01 23:00:00'"
ERASED = "frank@example.es"  # shop customer 7, with an order file row and two Amazon orders under this e-mail
LATE_CHANGES = [
    # a new shop order of an old customer
    f"""insert into raw.shop_orders select * replace (9001 as id, '9001' as order_number,
        timestamp '2026-04-01 09:00:00' as created_at, {SECOND_LOAD} as _loaded_at) from raw.shop_orders where id = 1001""",
    # a refund of the whole of an old order, whose customer nothing else in this load touches
    f"""insert into raw.shop_refunds select * replace (9101 as id, 1048 as order_id, 5048 as line_item_id,
        8.00 as subtotal, {SECOND_LOAD} as _loaded_at) from raw.shop_refunds limit 1""",
    # eBay's buyer of E-2, a customer of its own so far, now gives customer 2's e-mail: the two merge
    f"""insert into raw.ebay_orders select * replace ('E-9' as order_id, 'anna@example.de' as buyer_email,
        timestamp '2026-04-01 08:00:00' as creation_date, {SECOND_LOAD} as _loaded_at)
        from raw.ebay_orders where order_id = 'E-2'""",
    # an Amazon order reloaded (merge on its key) as cancelled
    f"update raw.amazon_orders set order_status = 'Canceled', _loaded_at = {SECOND_LOAD} where amazon_order_id = 'A-3'",
    # the order file's new version no longer holds F-3
    "delete from raw.file_orders where order_id = 'F-3'",
    f"update raw.file_orders set _loaded_at = {SECOND_LOAD}",
    # eBay no longer names the buyer of E-3 (buyer data expired)
    f"update raw.ebay_orders set buyer_username = null, _loaded_at = {SECOND_LOAD} where order_id = 'E-3'",
]


def _table(warehouse: Path, model: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql(f"select * from main.{model}").df()
    # built_at: when a run wrote the row (macro build_stamp), the one column a full refresh changes
    frame = frame.drop(columns=["built_at"], errors="ignore")
    return frame.sort_values(MODELS[model]).reset_index(drop=True)


def _assert_equals_full_refresh(incremental: Path, full: Path, target: Path) -> None:
    """``full`` becomes a copy of ``incremental``'s raw data, built from scratch; every model must match."""
    full.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(incremental, full)
    run_dbt(["run", *SELECT, "--full-refresh"], warehouse=full, target_path=target, as_of_date=fixture.AS_OF_DATE)
    for model in MODELS:
        pd.testing.assert_frame_equal(_table(incremental, model), _table(full, model), obj=model)


def _compiled(target: Path, model: str) -> str:
    return next((target / "compiled" / "narrowcast" / "models").rglob(f"{model}.sql")).read_text()


def test_incremental_order_models_after_late_changes_and_an_erasure_equal_full_refresh(
        tmp_path: Path, dbt_target_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the fixture warehouse built once
    incremental = fixture.build(tmp_path / "incremental" / "warehouse.duckdb")
    run_dbt(["build", *SELECT, "--full-refresh"], warehouse=incremental, target_path=dbt_target_path,
            as_of_date=fixture.AS_OF_DATE)
    before = _table(incremental, "int_order_buyers")
    # WHEN a second load brings new orders and late changes to old ones, and the models run incrementally
    with duckdb.connect(str(incremental)) as con:
        for statement in LATE_CHANGES:
            con.execute(statement)
    run_dbt(["run", *SELECT], warehouse=incremental, target_path=dbt_target_path, as_of_date=fixture.AS_OF_DATE)
    # THEN only the orders loaded since were re-derived (a literal load time cuts the scans) ...
    assert "loaded_at > cast('2026-03-31 23:00:00' as timestamp)" in _compiled(dbt_target_path, "int_order_buyers")
    # ... and every model equals a full refresh: the merged customers, the cancelled order, no F-3, no E-3 buyer
    _assert_equals_full_refresh(incremental, tmp_path / "full" / "warehouse.duckdb", dbt_target_path)
    buyers = _table(incremental, "int_order_buyers")
    assert {"F-3", "E-3"} <= set(before["order_id"]) and not {"F-3", "E-3"} & set(buyers["order_id"])
    assert "E-9" in set(buyers["order_id"])
    orders = _table(incremental, "int_orders").set_index("order_key")
    assert orders.loc["ebay:E-2", "customer_id"] == "2"
    assert orders.loc["shop:1048", "is_fully_refunded"]

    # WHEN the privacy purge erases a person, and the models run incrementally again
    monkeypatch.setenv(SALT_VARIABLE, "test-salt-not-a-secret")
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path))
    with duckdb.connect(str(incremental)) as con:
        con.execute("insert into raw.file_privacy_requests (customer_id, email, request_type, requested_at, "
                    "line_number, _file_name, _loaded_at) values "
                    f"(null, '{ERASED}', 'delete', timestamp '2026-04-01 20:00:00', 2, 'privacy_requests_20260401.csv', "
                    f"{SECOND_LOAD})")
    with connect(incremental) as wh:
        report = purge_deleted(wh, ENTITIES.values(), tmp_path / "landing")
    assert report.tables["amazon_orders"].rows_blanked == 2
    run_dbt(["run", *SELECT], warehouse=incremental, target_path=dbt_target_path, as_of_date=fixture.AS_OF_DATE)
    # THEN the erased person's e-mail and the Amazon orders only it named are gone, as in a full refresh
    _assert_equals_full_refresh(incremental, tmp_path / "full-after-erasure" / "warehouse.duckdb", dbt_target_path)
    buyers = _table(incremental, "int_order_buyers")
    assert ERASED not in set(buyers["email_normalized"].dropna())
    assert not {"A-2", "A-3"} & set(buyers["order_id"])


def _load(warehouse: Path, *statements: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for statement in statements:
            con.execute(statement)


def _line_unit_cost(warehouse: Path, order_key: str, sku: str) -> float:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute("select unit_cost from main.int_order_lines where order_key = ? and sku = ?",
                          [order_key, sku]).fetchone()
    assert row is not None, f"no line of {sku} in {order_key}"
    return float(row[0])


def _stock_file(file_name: str, snapshot_at: str, loaded_at: str, *costs: tuple[str, str]) -> str:
    """raw.file_erp_stock rows of one ERP stock file (sku, unit cost), 10 on hand in warehouse A."""
    rows = ", ".join(f"('{sku}', 10, {cost}, 'A', timestamp '{snapshot_at}', '{file_name}', 'later-batch', "
                     f"timestamp '{loaded_at}', 'inbox')" for sku, cost in costs)
    return f"insert into raw.file_erp_stock (sku, on_hand, cost, warehouse, snapshot_at, _file_name, _batch_id, " \
           f"_loaded_at, _source) values {rows}"


def test_incremental_orders_after_a_merge_an_fx_revision_and_new_costs_equal_full_refresh(
        tmp_path: Path, dbt_target_path: Path) -> None:
    # GIVEN the fixture warehouse built once
    incremental = fixture.build(tmp_path / "incremental" / "warehouse.duckdb")
    run_dbt(["build", *SELECT, "--full-refresh"], warehouse=incremental, target_path=dbt_target_path,
            as_of_date=fixture.AS_OF_DATE)

    def run_incrementally_and_compare(step: str) -> pd.DataFrame:
        run_dbt(["run", *SELECT], warehouse=incremental, target_path=dbt_target_path, as_of_date=fixture.AS_OF_DATE)
        assert "orders_in_scope" in _compiled(dbt_target_path, "int_orders"), step
        _assert_equals_full_refresh(incremental, tmp_path / f"full-{step}" / "warehouse.duckdb", dbt_target_path)
        return _table(incremental, "int_orders").set_index("order_key")

    # WHEN an eBay buyer nobody else names orders for the first time: a customer of its own
    _load(incremental,
          "insert into raw.ebay_orders select * replace ('E-10' as order_id, 'buyer-E-10' as buyer_username, "
          "'zed@example.com' as buyer_email, timestamp '2026-04-02 23:00:00' as _loaded_at) "
          "from raw.ebay_orders where order_id = 'E-1'",
          "insert into raw.ebay_order_lines select * replace ('EL-10' as line_item_id, 'E-10' as order_id, "
          "timestamp '2026-04-02 23:00:00' as _loaded_at) from raw.ebay_order_lines where line_item_id = 'EL-2'")
    orders = run_incrementally_and_compare("new-buyer")
    assert orders.loc["ebay:E-10", "customer_id"].startswith("ebay:")

    # WHEN a Shopify customer with that e-mail appears, the two customers merge (the eBay key was not loaded again)
    _load(incremental,
          "insert into raw.shop_customers select * replace (77 as id, 'zed@example.com' as email, "
          "timestamp '2026-04-03 23:00:00' as _loaded_at) from raw.shop_customers where id = 6")
    orders = run_incrementally_and_compare("merge")
    assert orders.loc["ebay:E-10", "customer_id"] == "77"

    # WHEN Shopify customer 6 changes e-mail, the eBay buyers linked to it by its old e-mail split off
    assert orders.loc["ebay:E-1", "customer_id"] == "6"
    _load(incremental, "update raw.shop_customers set email = 'eve.new@example.at', "
                       "_loaded_at = timestamp '2026-04-03 23:30:00' where id = 6")
    orders = run_incrementally_and_compare("split")
    assert orders.loc["ebay:E-1", "customer_id"].startswith("ebay:")

    # WHEN a merchant's fx_rates file revises the GBP rate of 12 March, the day of the GBP order E-4
    rate_before = orders.loc["ebay:E-4", "fx_rate_to_reporting"]
    _load(incremental,
          "insert into raw.file_fx_rates select * replace (date '2026-03-12' as date, 0.70 as rate_per_eur, "
          "'fx_rates_2026-03-12.csv' as _file_name, timestamp '2026-04-04 23:00:00' as _loaded_at) "
          "from raw.file_fx_rates")
    orders = run_incrementally_and_compare("fx-revision")
    assert orders.loc["ebay:E-4", "fx_rate_to_reporting"] != pytest.approx(rate_before)

    # WHEN a new stock file raises MUG-01's cost from 5.00 to 6.00 on 1 April
    margin_before = orders.loc["shop:1001", "gross_margin"]  # MUG-01 on 28 March
    _load(incremental, _stock_file("erp_stock_20260401.csv", "2026-04-01 06:00:00", "2026-04-05 23:00:00",
                                   ("MUG-01", "6.00")))
    orders = run_incrementally_and_compare("new-costs")
    # THEN orders placed before keep their margin, and an order of 2 April costs the new price
    assert orders.loc["shop:1001", "gross_margin"] == margin_before
    assert _line_unit_cost(incremental, "shop:1001", "MUG-01") == 4.00  # the 1 March record
    assert _line_unit_cost(incremental, "shop:1013", "MUG-01") == 5.00  # 31 March: the 30 March record
    assert _line_unit_cost(incremental, "shop:1011", "MUG-01") == 6.00

    # WHEN a stock file of a past day (10 March) arrives late: MUG-01 at 4.50, and TEA-01's first cost record
    _load(incremental, _stock_file("erp_stock_20260310.csv", "2026-03-10 06:00:00", "2026-04-06 23:00:00",
                                   ("MUG-01", "4.50"), ("TEA-01", "3.00")))
    run_incrementally_and_compare("past-costs")
    # THEN orders from that day to the next record cost it, and TEA-01's older orders its earliest known cost
    assert _line_unit_cost(incremental, "shop:1008", "MUG-01") == 4.50  # 15 March
    assert _line_unit_cost(incremental, "shop:1002", "MUG-01") == 4.00  # 10 February: the 1 March record
    assert _line_unit_cost(incremental, "ebay:E-3", "TEA-01") == 3.00  # 1 February, before any TEA-01 record
    assert _line_unit_cost(incremental, "shop:1001", "MUG-01") == 4.50  # 28 March: the 30 March record is later
