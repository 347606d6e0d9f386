"""The order and identity models built incrementally after new data and late changes — a new order, a refund on an
old order, an identity link merging two old customers, an order reloaded as cancelled, an order file's new version
without one order, a marketplace order whose buyer data expired, then an erasure by the privacy purge — equal a
full refresh of the same raw data."""

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
    # a refund on an old order
    f"""insert into raw.shop_refunds select * replace (9101 as id, 1002 as order_id, {SECOND_LOAD} as _loaded_at)
        from raw.shop_refunds limit 1""",
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
    return frame.sort_values(MODELS[model]).reset_index(drop=True)


def _assert_equals_full_refresh(incremental: Path, full: Path, target: Path) -> None:
    """``full`` becomes a copy of ``incremental``'s raw data, built from scratch; every model must match."""
    shutil.copyfile(incremental, full)
    run_dbt(["run", *SELECT, "--full-refresh"], warehouse=full, target_path=target, as_of_date=fixture.AS_OF_DATE)
    for model in MODELS:
        pd.testing.assert_frame_equal(_table(incremental, model), _table(full, model), obj=model)


def _compiled(target: Path, model: str) -> str:
    return next((target / "compiled" / "narrowcast" / "models").rglob(f"{model}.sql")).read_text()


def test_incremental_order_models_after_late_changes_and_an_erasure_equal_full_refresh(
        tmp_path: Path, dbt_target_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the fixture warehouse built once
    incremental = fixture.build(tmp_path / "incremental.duckdb")
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
    _assert_equals_full_refresh(incremental, tmp_path / "full.duckdb", dbt_target_path)
    buyers = _table(incremental, "int_order_buyers")
    assert {"F-3", "E-3"} <= set(before["order_id"]) and not {"F-3", "E-3"} & set(buyers["order_id"])
    assert "E-9" in set(buyers["order_id"])
    orders = _table(incremental, "int_orders").set_index("order_key")
    assert orders.loc["ebay:E-2", "customer_id"] == "2"

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
    _assert_equals_full_refresh(incremental, tmp_path / "full-after-erasure.duckdb", dbt_target_path)
    buyers = _table(incremental, "int_order_buyers")
    assert ERASED not in set(buyers["email_normalized"].dropna())
    assert not {"A-2", "A-3"} & set(buyers["order_id"])
