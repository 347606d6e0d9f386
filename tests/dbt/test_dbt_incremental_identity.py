"""int_identity_map built incrementally equals a full refresh, on DuckDB and on PostgreSQL, after each change that
re-points a browser: a new browser, an anonymous one logging in and a day delivered again without a browser's
only evidence (events in the rebuilt days), a purchase whose
order is loaded late, an order reloaded with another customer, two customers merged by a shared e-mail, a split by
a changed e-mail, and (DuckDB) an erasure by the privacy purge. The browsers of the last four have only events
older than the rebuilt days, so only the scope's other parts can find them.

Each step runs the models incrementally, keeps their rows, rebuilds them with --full-refresh on the same data and
compares every column with EXCEPT ALL both ways; the next step starts from that full build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import dbt_fixture_warehouse as fixture
import duckdb
import pytest
from dbt_invocation import run_dbt
from dbt_postgres_cluster import Cluster, copy_schema

from narrowcast.privacy.purge import purge_deleted
from narrowcast.privacy.subjects import SALT_VARIABLE
from narrowcast.sources.registry import ENTITIES
from narrowcast.warehouse import connect

pytestmark = pytest.mark.e2e  # a dozen dbt invocations per backend

SELECT = ["--select", "+int_identity_map", "--indirect-selection", "cautious"]
MODELS = ["int_identity_map"]
LOADED = "timestamp '2026-04-0{day} 23:00:00'"  # each step's load a day after the last one's
NO_LINE = (None, None, None, None, None, None, None, None)


def _page_view(user: str, user_id: str | None, at: str) -> tuple:
    return (user, user_id, at, "(direct)", "(none)", None, None, [(at, "page_view", "https://shop.example/", None, None)])


def _purchase(user: str, at: str, transaction: str) -> tuple:
    return (user, None, at, "(direct)", "(none)", None, None,
            [(at, "purchase", "https://shop.example/thanks", transaction, 10.0)])


SCENARIO: dict[str, list[tuple]] = {
    "FILE_ORDERS": [
        # 'K-6' gives customer 6's e-mail: linked to 6, not a customer key of its own (until 6 changes e-mail)
        ("F-80", "K-6", "2026-03-02 12:00:00", "EUR", "10.00", "eve@example.at", *NO_LINE),
        # 'K-99' is a customer of its own (until a Shopify customer with its e-mail appears)
        ("F-81", "K-99", "2026-03-02 12:00:00", "EUR", "10.00", "nia@example.com", *NO_LINE),
    ],
    "CUSTOMERS": [(78, "nia@example.com", None, "Nia", "N", True, "subscribed", "DE", "Berlin", "Berlin")],
    "SHOP_ORDERS": [(9002, 4, "2026-03-02 11:00:00", None, "paid", "fulfilled", "10.00", "0.00", False,
                     [(9902, "MUG-01", 1, "10.00", "0.00")])],
    "SESSIONS": [
        # browsers seen only on 2 March, long before the rebuilt days
        _page_view("u-k6", "K-6", "2026-03-02 10:00:00"),
        _page_view("u-k99", "K-99", "2026-03-02 10:00:00"),
        _purchase("u-1003", "2026-03-02 10:00:00", "1003"),
        _purchase("u-9002", "2026-03-02 11:00:00", "#9002"),
        # in the rebuilt days: a new browser logged in as 3, and u9 (anonymous so far) logging in as 8
        _page_view("u-new", "3", "2026-03-31 09:00:00"),
        _page_view("u9", "8", "2026-03-31 10:00:00"),
    ],
}
# Rows of the scenario that arrive after the first build (moved to schema later, loaded back by a step).
HELD_BACK = {
    "shop_customers": "id = 78",
    "shop_orders": "id = 9002",
    "shop_order_lines": "order_id = 9002",
    "ga4_events": "event_date = date '2026-03-31'",
    "ga4_event_params": "event_date = date '2026-03-31'",
}


def _arrive(table: str) -> list[str]:
    return [f"insert into raw.{table} select * from later.{table}",
            f"update raw.{table} set _loaded_at = {{loaded}} where {HELD_BACK[table]}"]


# step -> (statements loading it, the browsers it re-points and the customer expected for each, None: no row)
STEPS: dict[str, tuple[list[str], dict[str, str | None]]] = {
    # ... and 30 March delivered again without u8's events, its only evidence
    "new-and-logged-in-browsers": ([*_arrive("ga4_events"), *_arrive("ga4_event_params"),
                                    "delete from raw.ga4_event_params where event_key in "
                                    "(select event_key from raw.ga4_events where user_pseudo_id = 'u8')",
                                    "delete from raw.ga4_events where user_pseudo_id = 'u8'"],
                                   {"u9": "8", "u-new": "3", "u8": None}),
    "late-order": ([*_arrive("shop_orders"), *_arrive("shop_order_lines")], {"u-9002": "4"}),
    "reloaded-order": (["update raw.shop_orders set customer_id = 5, _loaded_at = {loaded} where id = 1003"],
                       {"u-1003": "5"}),
    # Shopify customer 78 holds K-99's e-mail: K-99's record joins 78, the customer 'K-99' is gone
    "merge": (_arrive("shop_customers"), {"u-k99": None}),
    "split": (["update raw.shop_customers set email = 'eve.new@example.at', _loaded_at = {loaded} where id = 6"],
              {"u-k6": "K-6"}),
}
BEFORE = {"u8": "8", "u9": None, "u-new": None, "u-9002": None, "u-1003": "1", "u-k99": "K-99", "u-k6": None}


class Backend:
    """The warehouse of one adapter: run SQL on it and dbt against it."""

    def __init__(self, execute: Callable[[str], list[tuple]], run: Callable[[list[str]], Any]) -> None:
        self.execute, self.run = execute, run

    def customer_of(self, browser: str) -> str | None:
        rows = self.execute(f"select customer_id from main.int_identity_map where user_pseudo_id = '{browser}'")
        return rows[0][0] if rows else None


def _hold_back(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema later")
    for table, where in HELD_BACK.items():
        con.execute(f"create table later.{table} as select * from raw.{table} where {where}")
        con.execute(f"delete from raw.{table} where {where}")


@contextmanager
def _duckdb_backend(tmp_path: Path, target: Path) -> Iterator[Backend]:
    warehouse = fixture.build(tmp_path / "identity" / "warehouse.duckdb", SCENARIO)
    with duckdb.connect(str(warehouse)) as con:
        _hold_back(con)

    def execute(sql: str) -> list[tuple]:
        with duckdb.connect(str(warehouse)) as con:
            result = con.execute(sql)
            return result.fetchall() if result.description else []

    yield Backend(execute, lambda args: run_dbt(args, warehouse=warehouse, target_path=target,
                                                as_of_date=fixture.AS_OF_DATE))


@contextmanager
def _postgres_backend(tmp_path: Path, target: Path, cluster: Cluster) -> Iterator[Backend]:
    source = fixture.build(tmp_path / "identity-source.duckdb", SCENARIO)
    with duckdb.connect(str(source)) as con:
        _hold_back(con)
    copy_schema(source, cluster)
    copy_schema(source, cluster, schema="later")

    def execute(sql: str) -> list[tuple]:
        with closing(cluster.connect()) as pg, pg, pg.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []

    yield Backend(execute, lambda args: run_dbt(args, warehouse=None, target_path=target,
                                                as_of_date=fixture.AS_OF_DATE, target="postgres", env=cluster.env()))


def _compiled(target: Path, model: str) -> str:
    return next((target / "compiled" / "narrowcast" / "models").rglob(f"{model}.sql")).read_text()


def _assert_incremental_equals_full_refresh(backend: Backend, target: Path, step: str) -> None:
    backend.run(["run", *SELECT])
    assert "browsers_in_scope" in _compiled(target, "int_identity_map"), f"{step}: not run on a scope"
    for model in MODELS:
        backend.execute(f"drop table if exists main.{model}__incremental")
        backend.execute(f"create table main.{model}__incremental as select * from main.{model}")
    backend.run(["run", "--select", *MODELS, "--full-refresh"])
    for model in MODELS:
        for left, right in ((f"{model}__incremental", model), (model, f"{model}__incremental")):
            extra = backend.execute(f"select * from main.{left} except all select * from main.{right}")
            assert not extra, f"{step}: {model} rows only in {left}: {extra}"


def _check_steps(backend: Backend, target: Path) -> None:
    # GIVEN the scenario without its later rows, built once
    backend.run(["build", *SELECT, "--full-refresh"])
    assert {browser: backend.customer_of(browser) for browser in BEFORE} == BEFORE
    for day, (step, (statements, expected)) in enumerate(STEPS.items(), start=1):
        # WHEN the step's rows are loaded and the model runs incrementally
        for statement in statements:
            backend.execute(statement.format(loaded=LOADED.format(day=day)))
        # THEN it equals a full refresh, in which the step re-points its browser
        _assert_incremental_equals_full_refresh(backend, target, step)
        assert {browser: backend.customer_of(browser) for browser in expected} == expected, step


def test_incremental_identity_map_equals_full_refresh_on_duckdb(
        tmp_path: Path, dbt_target_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _duckdb_backend(tmp_path, dbt_target_path) as backend:
        _check_steps(backend, dbt_target_path)
        # WHEN the privacy purge erases customer 7 (the Shopify profile of frank@example.es, browser u7) ...
        monkeypatch.setenv(SALT_VARIABLE, "test-salt-not-a-secret")
        monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path))
        backend.execute("insert into raw.file_privacy_requests (customer_id, email, request_type, requested_at, "
                        "line_number, _file_name, _loaded_at) values (null, 'frank@example.es', 'delete', "
                        "timestamp '2026-04-08 20:00:00', 2, 'privacy_requests_20260408.csv', "
                        f"{LOADED.format(day=8)})")
        with connect(tmp_path / "identity" / "warehouse.duckdb") as wh:
            purge_deleted(wh, ENTITIES.values(), tmp_path / "landing")
        # THEN an incremental run still equals a full refresh
        _assert_incremental_equals_full_refresh(backend, dbt_target_path, "erasure")


@pytest.mark.postgres
def test_incremental_identity_map_equals_full_refresh_on_postgres(
        tmp_path: Path, postgres_database: Callable[[str], Cluster]) -> None:
    cluster = postgres_database("identity_incremental")
    with _postgres_backend(tmp_path, tmp_path / "pg_target", cluster) as backend:
        _check_steps(backend, tmp_path / "pg_target")
