"""Two runs of one sync never run at once: the lease in ``activation.sync_leases``.

GIVEN a sync whose destination keeps its run waiting (as a rate limit or an import-job poll does) — the run
holding the DuckDB file only to read and write it — WHEN a second run of the same sync starts (the CLI beside a
DAG run), THEN it fails at once naming the sync, the holding run and since when, and sends nothing; a run of another
sync goes ahead meanwhile. A lease whose heartbeat is stale, or whose process is gone, is taken over with a warning;
a run frees its sync however it ends; a run whose lease was taken over stops sending.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
import yaml
from activation_fixtures import AUDIENCE_SYNCS, audience_rows, audience_sync

from narrowcast.activation import load_syncs, run_sync
from narrowcast.activation.destinations import DESTINATIONS
from narrowcast.activation.report import SyncFailed
from narrowcast.processes import pid_scope

ROOT = Path(__file__).resolve().parents[3]
LEASES = "select sync_id, run_id from activation.sync_leases"


def _blocking(spec, monkeypatch, *, fail: bool = False):
    """Make the sync's destination wait on its second batch until released (or then fail, with ``fail``)."""
    sent, may_answer = threading.Event(), threading.Event()
    real = DESTINATIONS[spec.destination]

    class Blocking(real):  # type: ignore[misc, valid-type]
        def send(self, batch):
            if batch.seq == 2 and batch.kind == "upsert":
                sent.set()
                assert may_answer.wait(60), "the test never let the destination answer"
                if fail:
                    raise RuntimeError("the destination's connection dropped")
            return super().send(batch)

    monkeypatch.setitem(DESTINATIONS, spec.destination, Blocking)
    return sent, may_answer


def _in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["report"] = target()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _hold(warehouse, sync_id: str, run_id: str, *, host: str = "another-host", pid: int = 4242,
          pid_scope: str = "pid:[1]", heartbeat_minutes_ago: float = 0) -> None:
    """A lease row as another run would have written it."""
    from narrowcast.activation import state
    from narrowcast.warehouse import connect

    with connect(warehouse.path) as wh:
        state.ensure_tables(wh)
    warehouse.execute(
        "insert into activation.sync_leases values (?, ?, ?, ?, ?, now()::timestamp - interval 2 hour, "
        "now()::timestamp - to_microseconds(cast(? * 60e6 as bigint)))",
        [sync_id, run_id, host, pid, pid_scope, heartbeat_minutes_ago])


def _wait_for_state(warehouse, rows: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(duckdb.IOException):  # the run writing meanwhile
            if warehouse.query("select count(*) from activation.sync_state")[0][0] == rows:
                return
        time.sleep(0.05)
    raise AssertionError(f"the run never recorded {rows} rows")


def test_a_second_run_of_a_sync_is_refused_while_the_first_waits_on_its_destination(
        tmp_path, monkeypatch, emulators, connections, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(250)))
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "lease_meta.yml").write_text(yaml.safe_dump({
        "model": "audience_members", "key": "customer_id", "filter": {"audience_id": "champions"},
        "schedule": "audiences", "batch_size": 100, "rate_limit": {"rps": 500, "burst": 50, "concurrency": 1},
        **AUDIENCE_SYNCS["meta"]}))
    (spec,) = load_syncs(syncs)
    sent, may_answer = _blocking(spec, monkeypatch)
    sync, outcome = _in_thread(lambda: run_sync(spec, connections=connections, warehouse=warehouse.path))
    try:
        assert sent.wait(60), "the first run never sent its second batch"
        # WHEN the CLI runs the same sync in another process while the destination keeps the first waiting
        env = {**os.environ, "PYTHONPATH": str(ROOT / "include"),
               "AIRFLOW_CONN_NARROWCAST_META": json.dumps({"conn_type": "http", "host": "http://127.0.0.1:9"})}
        second = subprocess.run(
            [sys.executable, "-m", "narrowcast.activation", "run", "lease_meta", "--syncs", str(syncs),
             "--warehouse", str(warehouse.path)], env=env, capture_output=True, text=True, timeout=120)
        held = warehouse.query(LEASES)
    finally:
        may_answer.set()
        sync.join(120)
    report = outcome["report"]
    # THEN the second run failed at once, naming the sync, the run holding it and since when
    assert second.returncode != 0
    assert "sync lease_meta is already running: run " + report.run_id in second.stderr, second.stderr[-2000:]
    assert " since " in second.stderr and f"pid {os.getpid()}" in second.stderr
    assert sorted(held) == [("connection:narrowcast_meta", report.run_id), ("lease_meta", report.run_id)]
    # and the first finished alone: every row sent once, its lease freed
    assert (report.status, report.planned_adds, report.accepted) == ("success", 250, 250)
    assert warehouse.query("select count(*), count(distinct run_id) from activation.sync_runs") == [(1, 1)]
    assert len(emulators["meta_audiences"].received) == 3
    assert warehouse.query(LEASES) == []


def test_two_syncs_on_different_connections_run_side_by_side(monkeypatch, emulators, connections, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(250)) + audience_rows("loyal", range(300, 350)))
    first = audience_sync("meta", batch_size=100, rate_limit={"rps": 500, "burst": 50, "concurrency": 1})
    other = audience_sync("google", audience_id="loyal", batch_size=100)
    sent, may_answer = _blocking(first, monkeypatch)
    sync, outcome = _in_thread(lambda: run_sync(first, connections=connections, warehouse=warehouse.path))
    try:
        assert sent.wait(60), "the first run never sent its second batch"
        # WHEN another sync runs while the first waits on its destination
        report = run_sync(other, connections=connections, warehouse=warehouse.path)
        held = warehouse.query(LEASES)
    finally:
        may_answer.set()
        sync.join(120)
    # THEN it ran to the end, beside the first's lease
    assert (report.status, report.accepted) == ("success", 50)
    assert sorted(held) == [("connection:narrowcast_meta", outcome["report"].run_id),
                            (first.id, outcome["report"].run_id)]
    assert (outcome["report"].status, outcome["report"].accepted) == ("success", 250)
    assert warehouse.query(LEASES) == []


def test_a_lease_with_a_fresh_heartbeat_refuses_the_run(connections, emulators, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(10)))
    spec = audience_sync("meta")
    _hold(warehouse, spec.id, "run-elsewhere", heartbeat_minutes_ago=1)
    with pytest.raises(SyncFailed, match=rf"sync {spec.id} is already running: run run-elsewhere \(pid 4242 on "
                                         r"another-host\) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"):
        run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert emulators["meta_audiences"].received == []
    assert warehouse.query(LEASES) == [(spec.id, "run-elsewhere")]
    assert warehouse.query("select count(*) from activation.sync_state")[0][0] == 0


def test_a_dry_run_plans_beside_a_running_sync(connections, emulators, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(10)))
    spec = audience_sync("meta")
    _hold(warehouse, spec.id, "run-elsewhere")
    report = run_sync(spec, connections=connections, warehouse=warehouse.path, dry_run=True)
    assert (report.status, report.planned_adds) == ("planned", 10)
    assert warehouse.query(LEASES) == [(spec.id, "run-elsewhere")]
    with pytest.raises(SyncFailed, match="already running: run run-elsewhere"):  # a real run stays refused
        run_sync(spec, connections=connections, warehouse=warehouse.path)


@pytest.mark.parametrize("stale_seconds", [None, "60"], ids=["default-15-minutes", "setting-60-seconds"])
def test_a_stale_lease_is_taken_over_with_a_warning(stale_seconds, monkeypatch, caplog, connections, emulators,
                                                    warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(10)))
    spec = audience_sync("meta")
    if stale_seconds is None:
        monkeypatch.delenv("NARROWCAST_SYNC_LEASE_STALE_SECONDS", raising=False)
        _hold(warehouse, spec.id, "run-that-hung", heartbeat_minutes_ago=16)
    else:
        monkeypatch.setenv("NARROWCAST_SYNC_LEASE_STALE_SECONDS", stale_seconds)
        _hold(warehouse, spec.id, "run-that-hung", heartbeat_minutes_ago=2)
    with caplog.at_level(logging.WARNING, logger="narrowcast.activation.state"):
        report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (report.status, report.accepted) == ("success", 10)
    warnings = [r.getMessage() for r in caplog.records if "took over the lease" in r.getMessage()]
    assert len(warnings) == 1 and "run run-that-hung (pid 4242 on another-host)" in warnings[0]
    assert "heartbeat is stale" in warnings[0]
    assert warehouse.query(LEASES) == []


def test_the_lease_of_a_killed_run_on_this_host_is_taken_over_at_once(caplog, connections, emulators, warehouse):

    warehouse.replace("audience_members", audience_rows("champions", range(10)))
    spec = audience_sync("meta")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    _hold(warehouse, spec.id, "killed-run", host=socket.gethostname(), pid=int(gone.stdout),
          pid_scope=pid_scope(), heartbeat_minutes_ago=0)
    with caplog.at_level(logging.WARNING, logger="narrowcast.activation.state"):
        report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (report.status, report.accepted) == ("success", 10)
    assert any("killed-run" in r.getMessage() and "its process is gone" in r.getMessage() for r in caplog.records)
    assert warehouse.query(LEASES) == []


def test_the_lease_is_released_after_a_failure(monkeypatch, connections, emulators, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(250)))
    spec = audience_sync("meta", batch_size=100, rate_limit={"rps": 500, "burst": 50, "concurrency": 1})
    sent, may_answer = _blocking(spec, monkeypatch, fail=True)
    sync, outcome = _in_thread(lambda: run_sync(spec, connections=connections, warehouse=warehouse.path))
    try:
        assert sent.wait(60), "the run never sent its second batch"
        held = warehouse.query(LEASES)
    finally:
        may_answer.set()  # WHEN the destination fails the run
        sync.join(120)
    assert isinstance(outcome.get("error"), RuntimeError), outcome
    (run_id,) = warehouse.query("select run_id from activation.sync_runs")[0]
    assert sorted(held) == [("connection:narrowcast_meta", run_id), (spec.id, run_id)]
    assert warehouse.query(LEASES) == []
    assert warehouse.query("select status from activation.sync_runs") == [("failed",)]
    # a run that fails before sending (its model is gone) frees the sync too
    broken = audience_sync("meta", model="no_such_model")
    with pytest.raises(SyncFailed, match="does not exist"):
        run_sync(broken, connections=connections, warehouse=warehouse.path)
    assert warehouse.query(LEASES) == []
    # and the next run goes ahead
    monkeypatch.undo()
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (report.status, report.accepted) == ("success", 150)


def test_a_run_whose_lease_was_taken_over_stops_sending(monkeypatch, connections, emulators, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(250)))
    spec = audience_sync("meta", batch_size=100, rate_limit={"rps": 500, "burst": 50, "concurrency": 1})
    sent, may_answer = _blocking(spec, monkeypatch)
    sync, outcome = _in_thread(lambda: run_sync(spec, connections=connections, warehouse=warehouse.path))
    try:
        assert sent.wait(60), "the run never sent its second batch"
        _wait_for_state(warehouse, 100)  # the first batch is recorded (and its heartbeat written)
        # WHEN another run takes the sync over (as it would once this run's heartbeat went stale)
        warehouse.execute("update activation.sync_leases set run_id = 'run-that-took-over' where sync_id = ?",
                          [spec.id])
    finally:
        may_answer.set()
        sync.join(120)
    # THEN the first run stops after recording the batch it had sent, and leaves the new holder's lease alone
    assert isinstance(outcome.get("error"), SyncFailed), outcome
    assert "lost its lease (now held by run run-that-took-over" in str(outcome["error"])
    assert warehouse.query("select count(*) from activation.sync_state")[0][0] == 200
    assert warehouse.query(LEASES) == [(spec.id, "run-that-took-over")]
    assert warehouse.query("select status from activation.sync_runs") == [("failed",)]


# ---- PostgreSQL: nothing but the lease keeps two runs apart, so its statements must be atomic ------------------

@pytest.fixture(scope="module")
def pg_settings(postgres_database):
    from narrowcast import settings

    cluster = postgres_database("sync_lease")
    return settings.PostgresSettings(cluster.host, cluster.port, cluster.user, "", cluster.dbname, "main")


@pytest.fixture
def pg(pg_settings):
    """Two sessions on a PostgreSQL warehouse with the activation tables and no lease."""
    from narrowcast.activation import state
    from narrowcast.warehouse.postgres import PostgresWarehouse

    first, second = PostgresWarehouse(pg_settings), PostgresWarehouse(pg_settings)
    state.ensure_tables(first)
    first.execute("delete from activation.sync_leases")
    yield first, second
    first.close()
    second.close()


@pytest.mark.postgres
def test_the_lease_on_postgres_is_taken_refused_renewed_taken_over_and_released(pg, caplog):
    from narrowcast.activation import state

    wh, other = pg
    assert state.take_lease(wh, "audience_meta", "run-a") is None
    with pytest.raises(SyncFailed, match=r"sync audience_meta is already running: run run-a \(pid \d+ on .+\) since"):
        state.take_lease(other, "audience_meta", "run-b")
    state.take_lease(other, "audience_google", "run-c")  # another sync is free
    state.renew_lease(wh, "audience_meta", "run-a")
    # a heartbeat older than the setting: taken over, with a warning naming the old run
    wh.execute("update activation.sync_leases set heartbeat_at = now()::timestamp - interval '16 minutes', "
               "host = 'another-host' where sync_id = 'audience_meta'")
    with caplog.at_level(logging.WARNING, logger="narrowcast.activation.state"):
        previous = state.take_lease(other, "audience_meta", "run-b")
    assert previous is not None and previous.run_id == "run-a"
    assert any("took over the lease of run run-a" in r.getMessage() for r in caplog.records)
    # the run taken over may no longer write its batches, nor free the new holder's lease
    with pytest.raises(SyncFailed, match="run run-a lost its lease \\(now held by run run-b"):
        state.renew_lease(wh, "audience_meta", "run-a")
    state.release_lease(wh, "audience_meta", "run-a")
    assert wh.fetchall("select sync_id, run_id from activation.sync_leases order by 1") == [
        ("audience_google", "run-c"), ("audience_meta", "run-b")]
    state.release_lease(other, "audience_meta", "run-b")
    assert state.lease_holder(wh, "audience_meta") is None


@pytest.mark.postgres
def test_two_runs_taking_over_one_stale_lease_on_postgres_leave_one_holder(pg, pg_settings):
    """The take-over is one conditional statement: a run that read the stale lease before another took it over
    blocks on the row, then matches nothing and is refused naming the new holder."""
    from narrowcast.activation import state
    from narrowcast.warehouse.postgres import PostgresWarehouse

    wh, other = pg
    state.take_lease(wh, "audience_meta", "run-hung")
    wh.execute("update activation.sync_leases set heartbeat_at = now()::timestamp - interval '1 hour', "
               "host = 'another-host'")
    # GIVEN run B in the middle of its take-over (row updated, not committed yet)
    other.execute("begin")
    other.execute("""update activation.sync_leases set run_id = 'run-b', heartbeat_at = now()::timestamp
                     where sync_id = 'audience_meta' and run_id = 'run-hung'""")
    # WHEN run A takes the lease over meanwhile (it still reads the stale lease of the hung run)
    taking, outcome = _in_thread(lambda: state.take_lease(wh, "audience_meta", "run-a"))
    watcher = PostgresWarehouse(pg_settings)
    try:
        deadline, blocked = time.monotonic() + 30, 0
        while not blocked and time.monotonic() < deadline:
            time.sleep(0.05)
            blocked = watcher.scalar("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                     "and query like '%sync_leases%' and pid <> pg_backend_pid()")
    finally:
        other.execute("commit")
        taking.join(30)
        watcher.close()
    assert blocked, "run A's take-over never waited on run B's row"
    # THEN A was refused, naming B, and B holds the sync
    assert isinstance(outcome.get("error"), SyncFailed), outcome
    assert "is already running: run run-b" in str(outcome["error"])
    assert wh.fetchall("select run_id from activation.sync_leases") == [("run-b",)]


@pytest.mark.postgres
def test_a_second_run_of_a_sync_on_postgres_is_refused_while_the_first_waits(
        pg, pg_settings, monkeypatch, connections, emulators):
    import pyarrow as pa
    from activation_fixtures import AUDIENCE_DDL

    wh, _ = pg
    monkeypatch.setenv("NARROWCAST_WAREHOUSE_ENGINE", "postgres")
    for name, value in {"HOST": pg_settings.host, "PORT": str(pg_settings.port), "USER": pg_settings.user,
                        "PASSWORD": "", "DBNAME": pg_settings.dbname, "SCHEMA": pg_settings.schema}.items():
        monkeypatch.setenv(f"NARROWCAST_PG_{name}", value)
    monkeypatch.delenv("NARROWCAST_DBT_TARGET", raising=False)
    wh.execute(f"create schema if not exists {pg_settings.schema}")
    wh.execute("drop table if exists audience_members")
    wh.execute(AUDIENCE_DDL)
    with wh.arrow_relation("incoming", pa.Table.from_pylist(audience_rows("champions", range(250)))):
        wh.execute("insert into audience_members select * from incoming")
    spec = audience_sync("meta", batch_size=100, rate_limit={"rps": 500, "burst": 50, "concurrency": 1})
    sent, may_answer = _blocking(spec, monkeypatch)
    sync, outcome = _in_thread(lambda: run_sync(spec, connections=connections))
    try:
        assert sent.wait(60), "the first run never sent its second batch"
        # WHEN a second run of the sync starts while the destination keeps the first waiting
        with pytest.raises(SyncFailed, match=f"sync {spec.id} is already running: run ") as refused:
            run_sync(spec, connections=connections)
    finally:
        may_answer.set()
        sync.join(120)
    report = outcome["report"]
    assert f"run {report.run_id} (pid {os.getpid()}" in str(refused.value)
    assert (report.status, report.accepted) == ("success", 250)
    assert len(emulators["meta_audiences"].received) == 3
    assert wh.fetchall(LEASES) == []
