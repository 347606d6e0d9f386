"""The dbt project builds on PostgreSQL 15 from the same raw rows and its key marts equal DuckDB's; an incremental
run there re-derives a reloaded order, and the web models replace a re-delivered GA4 day as a full refresh would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import dbt_fixture_warehouse as fixture
import numpy as np
import pandas as pd
import pytest
from dbt_invocation import run_dbt
from dbt_postgres_cluster import Cluster, copy_schema

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

KEY_MARTS = {
    "customer_identity_links": ["source", "key_kind", "source_key"],
    "customer_rfm": ["customer_id"],
    "customer_segments": ["customer_id", "segment"],
    "int_customer_purchase_regularity": ["customer_id"],
    "customer_shop_profile": ["shopify_customer_id"],
    "customer_recommendations": ["customer_id", "rank"],
    "kpi_channel_daily": ["kpi_key"],
    "kpi_funnel": ["month", "channel"],
    "kpi_campaign_type_daily": ["kpi_key"],
    "leads_daily": ["leads_key"],
    "budget_vs_actual": ["month", "channel"],
    "marketplace_listing_feed": ["sku", "marketplace"],
    "audience_members": ["audience_id", "customer_id"],
    "affiliate_performance": ["affiliate_day_key"],
    "customer_referral_codes": ["customer_id"],
    "partner_audience_members": ["audience_id", "contact_key"],
}


def _canonical(value: object) -> str:
    """One text form per value whatever the driver returned (Decimal/float/int, date/Timestamp, bool, null)."""
    if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)):
        return "<null>"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, float, np.integer, np.floating, Decimal)):
        return f"{float(value):.6f}"
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return pd.Timestamp(value).isoformat()
    return str(value)


def _normalised(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = frame.astype(object).map(_canonical)
    return out.sort_values(keys).reset_index(drop=True)


def _read_postgres(cluster: Cluster, name: str) -> pd.DataFrame:
    with cluster.connect() as pg, pg.cursor() as cur:
        cur.execute(f"select * from main.{name}")
        return pd.DataFrame(cur.fetchall(), columns=[column.name for column in cur.description])


def test_postgres_build_matches_duckdb_marts(
    tmp_path: Path, built_warehouse: Path, read_table: Callable[[str], pd.DataFrame], dbt_target_path: Path,
    postgres_database: Callable[[str], Cluster],
) -> None:
    # GIVEN the fixture's raw tables copied into a fresh database of the session's PostgreSQL cluster
    cluster = postgres_database("dbt_parity")
    copied = copy_schema(built_warehouse, cluster)
    assert "shop_orders" in copied and "file_orders" in copied
    # WHEN the whole project is built there (models, seeds, data tests, unit tests)
    run_dbt(["build"], warehouse=None, target_path=tmp_path / "pg_target", as_of_date=fixture.AS_OF_DATE,
            target="postgres", env=cluster.env())
    postgres = {name: _read_postgres(cluster, name) for name in KEY_MARTS}
    # THEN every key mart has the same rows and values as the DuckDB build
    for name, keys in KEY_MARTS.items():
        duck = read_table(name)
        assert len(postgres[name]) == len(duck), f"{name}: row count differs"
        assert list(postgres[name].columns) == list(duck.columns), f"{name}: columns differ"
        pd.testing.assert_frame_equal(_normalised(postgres[name], keys), _normalised(duck, keys), obj=name)
    # AND an incremental run on PostgreSQL re-derives an order reloaded since: eBay no longer names E-3's buyer
    with cluster.connect() as pg, pg.cursor() as cur:
        cur.execute("update raw.ebay_orders set buyer_username = null, _loaded_at = _loaded_at + interval '1 day' "
                    "where order_id = 'E-3'")
    run_dbt(["run", "--select", "int_order_buyers"], warehouse=None, target_path=tmp_path / "pg_target",
            as_of_date=fixture.AS_OF_DATE, target="postgres", env=cluster.env())
    buyers = _read_postgres(cluster, "int_order_buyers")
    before = read_table("int_order_buyers")
    assert set(buyers["order_id"]) == set(before["order_id"]) - {"E-3"}
    # AND int_orders and the attribution tables, run incrementally there after a late fx revision and a stock
    # file of a past day, equal their full refresh (but for the build stamp)
    with cluster.connect() as pg, pg.cursor() as cur:
        cur.execute("insert into raw.file_fx_rates (\"date\", currency, rate_per_eur, _file_name, _batch_id, _loaded_at, "
                    "_source) values (date '2026-03-12', 'GBP', 0.70, 'fx_rates_2026-03-12.csv', 'later', "
                    "timestamp '2026-04-01 23:00:00', 'inbox')")
        cur.execute("insert into raw.file_erp_stock (sku, on_hand, cost, warehouse, snapshot_at, _file_name, "
                    "_batch_id, _loaded_at, _source) values ('MUG-01', 10, 4.50, 'A', timestamp '2026-03-10 06:00:00', "
                    "'erp_stock_20260310.csv', 'later', timestamp '2026-04-01 23:00:00', 'inbox'), ('TEA-01', 10, "
                    "3.00, 'A', timestamp '2026-03-10 06:00:00', 'erp_stock_20260310.csv', 'later', "
                    "timestamp '2026-04-01 23:00:00', 'inbox')")
    upstream = ["int_customer_identity_links", "int_customers", "int_fx_rates_daily", "int_erp_unit_cost_history",
                "int_order_lines"]
    order_models = ["int_orders", "int_order_session_credits", "int_order_attribution"]
    run_dbt(["run", "--select", *upstream, *order_models], warehouse=None, target_path=tmp_path / "pg_target",
            as_of_date=fixture.AS_OF_DATE, target="postgres", env=cluster.env())
    incremental = {name: _read_postgres(cluster, name).drop(columns="built_at") for name in order_models}
    run_dbt(["run", "--select", *order_models, "--full-refresh"], warehouse=None, target_path=tmp_path / "pg_target",
            as_of_date=fixture.AS_OF_DATE, target="postgres", env=cluster.env())
    full = {name: _read_postgres(cluster, name).drop(columns="built_at") for name in order_models}
    assert "ebay:E-3" in set(full["int_orders"]["order_key"])
    for name in order_models:
        assert len(incremental[name]) == len(full[name]), name
        pd.testing.assert_frame_equal(_normalised(incremental[name], ["order_key"]),
                                      _normalised(full[name], ["order_key"]), obj=name)
    # AND the web models, run incrementally there after GA4 re-delivered a day (a page changed), replace that day
    # and redo its sessions alone, and equal their full refresh
    with cluster.connect() as pg, pg.cursor() as cur:
        for table in ("ga4_events", "ga4_event_params", "ga4_event_items"):
            cur.execute(f"update raw.{table} set _loaded_at = timestamp '2026-04-01 23:00:00' "
                        "where event_date = date '2026-03-29'")
        cur.execute("update raw.ga4_event_params set string_value = string_value || '?redelivered' "
                    "where event_date = date '2026-03-29' and key = 'page_location'")
    web_models = {"int_web_events": ["event_key"], "int_web_item_events": ["event_key", "item_index"],
                  "int_sessions": ["session_key"]}
    run_dbt(["run", "--select", *web_models], warehouse=None, target_path=tmp_path / "pg_target",
            as_of_date=fixture.AS_OF_DATE, target="postgres", env=cluster.env())
    compiled = (tmp_path / "pg_target" / "compiled" / "narrowcast" / "models" / "intermediate" / "web"
                / "int_web_events.sql").read_text()
    assert "in (cast('2026-03-29' as date))" in compiled
    incremental = {name: _read_postgres(cluster, name).drop(columns="built_at", errors="ignore") for name in web_models}
    assert incremental["int_web_events"]["page_location"].str.endswith("?redelivered").any()
    run_dbt(["run", "--select", *web_models, "--full-refresh"], warehouse=None, target_path=tmp_path / "pg_target",
            as_of_date=fixture.AS_OF_DATE, target="postgres", env=cluster.env())
    full = {name: _read_postgres(cluster, name).drop(columns="built_at", errors="ignore") for name in web_models}
    for name, keys in web_models.items():
        assert len(incremental[name]) == len(full[name]), name
        pd.testing.assert_frame_equal(_normalised(incremental[name], keys), _normalised(full[name], keys), obj=name)
