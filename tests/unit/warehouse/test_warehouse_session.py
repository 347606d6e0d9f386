"""The warehouse session: atomic transactions, Arrow in and out, upserts from the dialect, errors by meaning."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from warehouse_holder import held_for, hold_the_file

from narrowcast.warehouse import UndefinedObject, WarehouseBusy, connect, in_memory, read_only


@pytest.fixture
def wh():
    session = in_memory()
    session.execute("create table t (k varchar primary key, v bigint, seen timestamp)")
    yield session
    session.close()


def test_a_transaction_commits_every_statement_together(wh):
    with wh.transaction():
        wh.execute("insert into t values ('a', 1, null)")
        wh.execute("insert into t values ('b', 2, null)")
    assert wh.fetchall("select k, v from t order by k") == [("a", 1), ("b", 2)]


@pytest.mark.parametrize("interrupt", [
    pytest.param(RuntimeError("boom"), id="an-error-rolls-back"),
    pytest.param(KeyboardInterrupt(), id="an-interrupt-rolls-back-too"),
])
def test_a_transaction_that_raises_writes_nothing(wh, interrupt):
    with pytest.raises(type(interrupt)), wh.transaction():
        wh.execute("insert into t values ('a', 1, null)")
        raise interrupt
    assert wh.scalar("select count(*) from t") == 0
    with wh.transaction():  # and the session is usable afterwards
        wh.execute("insert into t values ('b', 2, null)")
    assert wh.scalar("select count(*) from t") == 1


def test_an_upsert_overwrites_a_row_but_keeps_the_greatest_of_a_watermark(wh):
    upsert = wh.dialect.upsert("t", ["k", "v", "seen"], ["k"], keep_greatest=["seen"])
    later, earlier = dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1)
    wh.execute(upsert, ["a", 1, later])
    wh.execute(upsert, ["a", 2, earlier])
    assert wh.fetchall("select k, v, seen from t") == [("a", 2, later)]


def test_an_upsert_of_several_rows_inserts_the_new_and_updates_the_known_in_one_statement(wh):
    upsert = wh.dialect.upsert("t", ["k", "v", "seen"], ["k"], keep_greatest=["seen"], rows=2)
    later, earlier = dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1)
    wh.execute("insert into t values ('a', 1, ?)", [later])
    wh.execute(upsert, ["a", 2, earlier, "b", 3, earlier])
    assert wh.fetchall("select k, v, seen from t order by k") == [("a", 2, later), ("b", 3, earlier)]


def test_a_table_or_view_is_found_with_its_columns_and_a_missing_one_leaves_the_transaction_usable(wh):
    wh.execute("create schema raw")
    wh.execute('create table raw."Shop Orders" (id bigint, "Order Number" varchar)')
    wh.execute("create view raw.v as select 1 as x")
    with wh.transaction():
        assert wh.table_exists("raw", "Shop Orders") and wh.table_exists("raw", "v")
        assert not wh.table_exists("raw", "nope") and not wh.table_exists("nope", "t")
        assert wh.column_names("raw", "Shop Orders") == {"id", "Order Number"}
        assert wh.column_names("raw", "v") == {"x"} and wh.column_names("raw", "nope") == set()
        wh.execute("insert into t values ('a', 1, null)")  # the misses did not abort the transaction
    assert wh.scalar("select count(*) from t") == 1


def test_arrow_goes_in_as_a_relation_for_the_block_and_comes_back_in_batches(wh):
    table = pa.table({"k": [str(i) for i in range(10)], "v": list(range(10))})
    with wh.arrow_relation("incoming", table):
        assert wh.modified("insert into t select k, v, null from incoming") == 10
    with pytest.raises(UndefinedObject):
        wh.execute("select * from incoming")
    reader = wh.stream("select k, v from t order by v", None, 4)
    assert sum(batch.num_rows for batch in reader) == 10


def test_rows_are_json_ready_dicts(wh):
    wh.execute("insert into t values ('a', 1, timestamp '2024-01-02 03:04:05')")
    assert wh.rows("select k, v, seen, 1.5::decimal(4, 2) as d, date '2024-01-02' as day from t") == [
        {"k": "a", "v": 1, "seen": "2024-01-02 03:04:05", "d": 1.5, "day": "2024-01-02"}]


def test_a_missing_table_is_reported_as_undefined(wh):
    with pytest.raises(UndefinedObject, match="no_such_table"):
        wh.columns("select * from no_such_table")


def test_a_reader_is_told_the_warehouse_is_busy_while_another_process_writes(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = hold_the_file(path)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy), read_only(path):
            pass
        with pytest.raises(WarehouseBusy), connect(path, lock_wait_seconds=0):
            pass
    finally:
        holder.communicate("\n", timeout=30)


def test_a_writer_waits_for_the_lock_as_long_as_the_setting_says_then_gets_it(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    with held_for(path, 3):  # the holder lets go 3 s from now
        # Told not to wait, a writer gives up at once; one that ignored the setting and waited the default 60 s
        # would get the file when the holder lets go and raise nothing.
        monkeypatch.setenv("NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS", "0")
        with pytest.raises(WarehouseBusy), connect(path):
            pass
        monkeypatch.setenv("NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS", "60")
        with connect(path) as wh:  # waiting up to 60 s, it gets the file once the holder lets go
            assert wh.scalar("select 1") == 1


def test_a_reader_told_to_wait_gets_the_file_once_the_writer_lets_go(tmp_path):
    path = tmp_path / "w.duckdb"
    with held_for(path, 2):
        with pytest.raises(WarehouseBusy), read_only(path):  # a page asks now: told at once
            pass
        with read_only(path, lock_wait_seconds=60) as wh:  # a task waits for it
            assert wh is not None and wh.scalar("select 1") == 1


def test_the_profile_snapshot_task_waits_for_a_writer_instead_of_failing(tmp_path, monkeypatch):
    from narrowcast.serve import profile_snapshot

    path = tmp_path / "w.duckdb"
    opened: list[bool] = []
    monkeypatch.setattr(profile_snapshot, "export_profile_snapshot",
                        lambda wh, output, **options: opened.append(wh.scalar("select 1") == 1) or 0)
    monkeypatch.setenv("NARROWCAST_WAREHOUSE", str(path))
    monkeypatch.setenv("NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS", "60")
    with held_for(path, 2):
        assert profile_snapshot.export_from_warehouse(tmp_path / "snapshot") == 0
    assert opened == [True]
