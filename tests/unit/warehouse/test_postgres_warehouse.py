"""The PostgreSQL warehouse behaves as the DuckDB one: sessions, parameters, Arrow in and out, the dialect's SQL,
Parquet landing files, errors by meaning, and selection by ``NARROWCAST_WAREHOUSE_ENGINE``."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from narrowcast import settings
from narrowcast.warehouse import (
    STATEMENT_ERRORS,
    UndefinedObject,
    Warehouse,
    WarehouseBusy,
    WarehouseError,
    connect,
    in_memory,
    read_only,
)
from narrowcast.warehouse.postgres import PostgresWarehouse, translate

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_settings(postgres_database) -> settings.PostgresSettings:
    cluster = postgres_database("warehouse_unit")
    return settings.PostgresSettings(cluster.host, cluster.port, cluster.user, "", cluster.dbname, "main")


@pytest.fixture
def pg_env(pg_settings, monkeypatch) -> settings.PostgresSettings:
    """The process configured for the PostgreSQL warehouse, as an operator would set it."""
    monkeypatch.setenv("NARROWCAST_WAREHOUSE_ENGINE", "postgres")
    for name, value in {"HOST": pg_settings.host, "PORT": str(pg_settings.port), "USER": pg_settings.user,
                        "PASSWORD": "", "DBNAME": pg_settings.dbname, "SCHEMA": pg_settings.schema}.items():
        monkeypatch.setenv(f"NARROWCAST_PG_{name}", value)
    monkeypatch.delenv("NARROWCAST_DBT_TARGET", raising=False)
    return pg_settings


@pytest.fixture(params=["duckdb", "postgres"])
def wh(request) -> Warehouse:
    """An empty session on each engine with one table ``t``."""
    if request.param == "duckdb":
        session = in_memory()
    else:
        session = PostgresWarehouse(request.getfixturevalue("pg_settings"))
        session.execute("drop schema if exists unit cascade")
        session.execute("create schema unit")
        session.execute("set search_path = unit")
    session.execute("create table t (k varchar primary key, v bigint, seen timestamp)")
    yield session
    session.close()


@pytest.mark.parametrize(("sql", "named", "expected"), [
    pytest.param("select ? as a, '?' as b", False, "select %s as a, '?' as b", id="a-question-mark-in-a-string-stays"),
    pytest.param("select $x, '$x', x::text", True, "select %(x)s, '$x', x::text", id="named-parameters-and-casts"),
    pytest.param("select ? where k like 'a%'", False, "select %s where k like 'a%%'", id="a-percent-is-doubled"),
    pytest.param("select \"a?\" -- why?\n, ?", False, "select \"a?\" -- why?\n, %s",
                 id="quoted-names-and-comments-keep-their-marks"),
])
def test_parameters_are_translated_to_the_drivers_spelling(sql, named, expected):
    assert translate(sql, named) == expected


def test_a_statement_mixing_parameter_styles_is_refused():
    with pytest.raises(WarehouseError, match="named parameters"):
        translate("select $a, ?", True)


def test_a_transaction_commits_together_and_rolls_back_on_error(wh):
    with pytest.raises(RuntimeError), wh.transaction():
        wh.execute("insert into t values ('a', 1, null)")
        raise RuntimeError("boom")
    with wh.transaction():
        wh.execute("insert into t values (?, ?, ?)", ["b", 2, None])
        wh.execute("insert into t values ($k, $v, null)", {"k": "c", "v": 3})
    assert wh.fetchall("select k, v from t order by k") == [("b", 2), ("c", 3)]


def test_an_upsert_keeps_the_greatest_watermark(wh):
    upsert = wh.dialect.upsert("t", ["k", "v", "seen"], ["k"], keep_greatest=["seen"])
    later, earlier = dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1)
    wh.execute(upsert, ["a", 1, later])
    wh.execute(upsert, ["a", 2, earlier])
    assert wh.fetchall("select k, v, seen from t") == [("a", 2, later)]
    assert wh.modified("update t set v = v + 1 where k = ?", ["a"]) == 1
    several = wh.dialect.upsert("t", ["k", "v", "seen"], ["k"], keep_greatest=["seen"], rows=2)
    wh.execute(several, ["a", 5, earlier, "b", 6, earlier])
    assert wh.fetchall("select k, v, seen from t order by k") == [("a", 5, later), ("b", 6, earlier)]


def test_arrow_goes_in_through_copy_and_streams_back_in_batches(wh):
    table = pa.table({"k": ["x", "", None, "quote\"d, and\nnewline"], "v": [1, None, 3, 4],
                      "seen": pa.array([dt.datetime(2024, 5, 1, 12, 30), None, None, None], pa.timestamp("us"))})
    with wh.arrow_relation("incoming", table):
        assert wh.modified("insert into t select k, v, seen from incoming where k is not null") == 3
    with pytest.raises(UndefinedObject):
        wh.execute("select * from incoming")
    # An empty string stays empty, a null stays null, quotes and newlines survive.
    assert wh.fetchall("select k, v from t order by v nulls first") == [
        ("", None), ("x", 1), ("quote\"d, and\nnewline", 4)]
    reader = wh.stream("select k, v, seen from t order by k", None, 2)
    batches = list(reader)
    assert [b.num_rows for b in batches] == [2, 1]
    assert reader.schema.field("v").type == pa.int64()
    assert pa.Table.from_batches(batches).column("seen").to_pylist() == [None, None, dt.datetime(2024, 5, 1, 12, 30)]


def test_columns_come_in_the_contracts_spelling(wh):
    assert wh.columns("select k, v, seen, cast(1.5 as double precision) as d, now() as at, date '2024-01-01' as day, "
                      "true as b from t") == [("k", "VARCHAR"), ("v", "BIGINT"), ("seen", "TIMESTAMP"), ("d", "DOUBLE"),
                            ("at", "TIMESTAMP WITH TIME ZONE"), ("day", "DATE"), ("b", "BOOLEAN")]


def test_a_missing_table_is_undefined_and_any_failure_is_a_statement_error(wh):
    with pytest.raises(UndefinedObject, match="no_such_table"):
        wh.columns("select * from no_such_table")
    with pytest.raises(STATEMENT_ERRORS):
        wh.execute("select cast('abc' as integer)")


@pytest.mark.parametrize(("expression", "values", "expected"), [
    pytest.param("{try_cast}", ["2024-02-29", "no date", "2024-02-30"], [dt.date(2024, 2, 29), None, None],
                 id="try-cast-gives-null-where-text-is-no-date"),
    pytest.param("{parse}", ["2024-02-29", "20240301", "20240230"], [None, dt.date(2024, 3, 1), None],
                 id="a-yyyymmdd-date-parses-and-a-rollover-does-not"),
    pytest.param("{search}", ["2024-02-29", "20240301", "x2024"], [True, False, False],
                 id="a-regex-matches-part-of-the-text"),
    pytest.param("{full}", ["2024-02-29", "20240301", "x20240301"], [False, True, False],
                 id="a-full-regex-match-needs-the-whole-text"),
])
def test_the_dialects_spell_the_same_results(wh, expression, values, expected):
    dialect = wh.dialect
    sql = expression.format(
        try_cast=dialect.try_cast("x", "DATE"),
        parse=dialect.try_parse_date("x", "%Y%m%d"),
        search=dialect.regex_search("x", r"\d{4}-"),
        full=dialect.regex_full_match("x", r"[0-9]{8}"),
    )
    rows = wh.fetchall(f"select {sql} from (values (1, ?), (2, ?), (3, ?)) v(n, x) order by n", values)
    assert [row[0] for row in rows] == expected


def test_json_hashing_and_time_helpers_agree_between_engines(wh):
    dialect = wh.dialect
    payload = wh.scalar(f"select {dialect.json_object([('b', 'k'), ('a', 'v')])} from t")
    assert payload is None  # no rows yet
    wh.execute("insert into t values ('x', 7, null)")
    assert json.loads(wh.scalar(f"select {dialect.json_object([('b', 'k'), ('a', 'v')])} from t")) == {"b": "x", "a": 7}
    assert list(json.loads(wh.scalar(f"select {dialect.row_to_json('r')} from t r"))) == ["k", "v", "seen"]
    buckets = {row[0] for row in wh.fetchall(f"select {dialect.hash_bucket('g', 10)} from generate_series(1, 500) s(g)")}
    assert buckets == set(range(10))
    ago = wh.scalar(f"select {dialect.seconds_before_now('?')}", [3600.0])
    assert dt.timedelta(minutes=59) < dt.datetime.now(dt.UTC).replace(tzinfo=None) - ago < dt.timedelta(minutes=61)
    local = "timestamptz '2024-01-01 02:00:00+02:00'"
    assert wh.scalar(f"select {dialect.timestamptz_to_utc(local)}") == dt.datetime(2024, 1, 1, 0, 0)


def test_landed_parquet_files_are_read_with_columns_unioned_by_name(wh, tmp_path):
    folder = tmp_path / "batch=b1"
    folder.mkdir()
    pq.write_table(pa.table({"_row": [0, 1], "id": ["a", "b"], "amount": [1.5, None]}), folder / "part-00000.parquet")
    pq.write_table(pa.table({"_row": [2], "id": ["c"], "note": ["late column"]}), folder / "part-00001.parquet")
    source = wh.parquet_source(str(folder / "part-*.parquet"))
    rows = wh.fetchall(f"select _row, id, amount, note from {source} order by _row")
    assert rows == [(0, "a", 1.5, None), (1, "b", None, None), (2, "c", None, "late column")]
    assert dict(wh.columns(f"select * from {source}"))["id"] == "VARCHAR"
    # A landed file rewritten since (a privacy erasure does that) is read again
    pq.write_table(pa.table({"_row": [2], "id": [None], "note": ["erased"]}), folder / "part-00001.parquet")
    source = wh.parquet_source(str(folder / "part-*.parquet"))
    assert wh.fetchall(f"select id, note from {source} where _row = 2") == [(None, "erased")]


def test_the_configuration_selects_postgres_for_every_opener(pg_env):
    with connect() as wh:
        assert isinstance(wh, PostgresWarehouse)
        assert {"raw", "meta", "activation"} <= {r[0] for r in wh.fetchall(
            "select schema_name from information_schema.schemata")}
        wh.execute("create table if not exists meta.selected (n bigint)")
        with wh.new_session() as second:  # concurrent writers are fine on PostgreSQL
            second.execute("insert into meta.selected values (1)")
        wh.execute("insert into meta.selected values (2)")
    with read_only() as reader:
        assert reader.scalar("select count(*) from meta.selected") == 2
        with pytest.raises(STATEMENT_ERRORS, match="read-only"):
            reader.execute("insert into meta.selected values (3)")
    scratch = in_memory()
    try:
        assert isinstance(scratch, PostgresWarehouse) and scratch.settings.dbname != pg_env.dbname
        assert not scratch.table_exists("meta", "selected")
    finally:
        scratch.close()
    assert settings.dbt_target() == "postgres"


def test_an_unknown_engine_or_an_unreachable_server_is_a_clear_error(pg_env, monkeypatch):
    monkeypatch.setenv("NARROWCAST_WAREHOUSE_ENGINE", "oracle")
    with pytest.raises(settings.ConfigError, match="NARROWCAST_WAREHOUSE_ENGINE='oracle'"):
        settings.warehouse_engine()
    monkeypatch.setenv("NARROWCAST_WAREHOUSE_ENGINE", "postgres")
    monkeypatch.setenv("NARROWCAST_PG_DBNAME", "no_such_database")
    with pytest.raises(WarehouseError, match="no_such_database.*NARROWCAST_PG_") as caught:
        connect().__enter__()
    assert not isinstance(caught.value, WarehouseBusy)
