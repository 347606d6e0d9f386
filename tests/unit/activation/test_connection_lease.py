"""The syncs of one connection send one after another; syncs of other connections send beside them.

A destination account's rate budget is shared by every sync that sends on it (Meta's ad-account score, Shopify's
bucket, an Amazon seller's per-operation limits), and each sync paces itself alone, so two of them sending at once
would ask for twice the budget. GIVEN two syncs on one connection and one on another, WHEN all three start at once
(as the activation DAGs' mapped syncs do, outside the warehouse's one-slot pool), THEN the two that share the
connection send one after another, each holding the connection's lease in ``activation.sync_leases`` while it
sends; the third sends meanwhile; all three finish with every row accepted and no lease left. A holder whose
process is gone is taken over.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from activation_fixtures import AUDIENCE_SYNCS, audience_rows, audience_sync

from narrowcast.activation import run_sync
from narrowcast.contracts.connections import connection_variable
from narrowcast.processes import pid_scope

ROOT = Path(__file__).resolve().parents[3]
LEASES = "select sync_id, run_id from activation.sync_leases"
SLOW = {"rps": 500, "burst": 50, "concurrency": 1}


class _Timed(list):
    """An emulator's ``received`` list that notes when each entry arrived."""

    def append(self, item) -> None:
        super().append({**item, "at": time.monotonic()})


def _env(connections) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "include"), "NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS": "60"}
    for conn in connections.values():
        env[connection_variable(conn.conn_id)] = json.dumps(
            {"conn_type": "http", "host": conn.base_url, "password": conn.password, "extra": conn.extra})
    return env


def test_two_syncs_on_one_connection_send_one_after_another_and_another_connection_beside_them(
        tmp_path, sandbox, emulators, connections, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(300)) + audience_rows("loyal", range(400, 700))
                      + audience_rows("vip", range(800, 1100)))
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    common = {"model": "audience_members", "key": "customer_id", "schedule": "audiences", "batch_size": 100,
              "rate_limit": SLOW}
    declared = {
        "meta_champions": {**common, **AUDIENCE_SYNCS["meta"], "filter": {"audience_id": "champions"},
                           "target": {"audience_id": "2385000001"}},
        "meta_loyal": {**common, **AUDIENCE_SYNCS["meta"], "filter": {"audience_id": "loyal"},
                       "target": {"audience_id": "2385000002"}},
        "google_vip": {**common, **AUDIENCE_SYNCS["google_audiences"], "filter": {"audience_id": "vip"}}}
    for sync_id, raw in declared.items():
        (syncs / f"{sync_id}.yml").write_text(yaml.safe_dump(raw))
    # Meta answers in 3 s, so its two syncs send for 18 s together; Google answers in 1.5 s
    sandbox.faults("meta", latency_ms=3000)
    sandbox.faults("data_manager", latency_ms=1500)
    emulators["meta_audiences"].received = meta = _Timed()
    emulators["data_manager"].received = google = _Timed()

    def start(sync_id: str) -> subprocess.Popen:
        # each in a process of its own, as the DAGs' mapped syncs run
        return subprocess.Popen([sys.executable, "-m", "narrowcast.activation", "run", sync_id, "--syncs", str(syncs),
                                 "--warehouse", str(warehouse.path)], env=_env(connections), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    # WHEN the Meta syncs start at once, and the Google sync once Meta has an answer (so one holds Meta's lease and
    # the other waits for it, however long each process takes to start on a busy machine)
    runs = [start("meta_champions"), start("meta_loyal")]
    deadline = time.monotonic() + 120
    while not meta and time.monotonic() < deadline and all(run.poll() is None for run in runs):
        time.sleep(0.05)
    runs.append(start("google_vip"))
    outcomes = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err[-2000:] for _, err in outcomes]
    assert warehouse.query("select sync_id, status, accepted from activation.sync_runs order by 1") == [
        ("google_vip", "success", 300), ("meta_champions", "success", 300), ("meta_loyal", "success", 300)]
    # THEN the Meta syncs sent one after another: one audience's batches all before the other's ...
    order = [entry["audience_id"] for entry in meta]
    assert len(order) == 6 and order in (["2385000001"] * 3 + ["2385000002"] * 3,
                                         ["2385000002"] * 3 + ["2385000001"] * 3), order
    # ... and the Google sync did not wait for Meta's connection: it sent while the Meta syncs did
    assert len(google) == 3 and google[0]["at"] < meta[-1]["at"] - 3, ([e["at"] for e in google],
                                                                      [e["at"] for e in meta])
    assert warehouse.query(LEASES) == []


def test_a_connection_held_by_a_process_that_is_gone_is_taken_over(monkeypatch, emulators, connections, warehouse,
                                                                    caplog):
    from narrowcast.activation import state
    from narrowcast.warehouse import connect

    warehouse.replace("audience_members", audience_rows("champions", range(10)))
    spec = audience_sync("meta")
    with connect(warehouse.path) as wh:
        state.ensure_tables(wh)
    # a run on this host whose process no longer exists (pid 2**22 + 1 is above Linux's pid_max)
    warehouse.execute("insert into activation.sync_leases values (?, 'run-killed', ?, ?, ?, now()::timestamp, "
                      "now()::timestamp)", [state.connection_lease(spec.connection), socket.gethostname(),
                                            2**22 + 1, pid_scope()])
    report = run_sync(spec, connections=connections, warehouse=warehouse.path)
    assert (report.status, report.accepted) == ("success", 10)
    assert "took over the lease of run run-killed" in caplog.text
    assert warehouse.query(LEASES) == []


def test_klaviyo_syncs_on_endpoints_limited_apart_send_side_by_side_and_on_one_endpoint_in_turn(
        emulators, connections, warehouse, caplog):
    """Klaviyo limits each endpoint on its own, per account: while a live run sends events on the connection, a
    list sync (profile imports, list relationships) sends at once and another event sync waits for its turn."""
    from narrowcast.activation import state
    from narrowcast.warehouse import connect

    warehouse.replace("audience_members", audience_rows("champions", range(10)))
    list_sync = audience_sync("klaviyo")
    event_sync = audience_sync("klaviyo", id="test_klaviyo_event", object="event", mode="add_only",
                               target={"metric": "Entered champions"}, fields={"external_id": "customer_id"},
                               pii=[])
    caplog.set_level(logging.INFO, logger="narrowcast.activation.engine")
    events_budget = state.connection_lease("narrowcast_klaviyo", "bulk_create_events")
    with connect(warehouse.path) as wh:
        state.ensure_tables(wh)
        state.take_lease(wh, events_budget, "run-sending-events")  # this live process: not taken over

    class WouldWait(Exception):
        pass

    def no_waiting(seconds: float) -> None:
        raise WouldWait(seconds)

    slept: list[float] = []

    def a_few_job_polls(seconds: float) -> None:  # a list sync polls its import job; it must not wait for events
        slept.append(seconds)
        if len(slept) > 20:
            raise WouldWait(seconds)

    report = run_sync(list_sync, connections=connections, warehouse=warehouse.path, sleep=a_few_job_polls)
    assert (report.status, report.accepted) == ("success", 10)
    assert "test_klaviyo_champions: success" in caplog.text and "waiting to send" not in caplog.text
    with pytest.raises(WouldWait):
        run_sync(event_sync, connections=connections, warehouse=warehouse.path, sleep=no_waiting)
    assert ("test_klaviyo_event: waiting to send: connection narrowcast_klaviyo (bulk_create_events) is in use by run "
            "run-sending-events") in caplog.text
    with connect(warehouse.path) as wh:
        state.release_lease(wh, events_budget, "run-sending-events")
    report = run_sync(event_sync, connections=connections, warehouse=warehouse.path, sleep=lambda _s: None)
    assert (report.status, report.accepted) == ("success", 10)
    assert warehouse.query(LEASES) == []


def test_a_run_waiting_for_its_connection_asks_again_as_soon_as_the_holder_frees_it(warehouse):
    """The holder rings the connection's bell (a file beside the warehouse) once it freed the lease and closed its
    session; a waiter looks at the bell between its asks, so it takes the connection on its next look instead of
    after the rest of its second-long wait."""
    from narrowcast.activation import engine, state
    from narrowcast.warehouse import connect

    spec = audience_sync("meta")
    key = state.connection_lease(spec.connection)
    with connect(warehouse.path) as wh:
        state.ensure_tables(wh)
        state.take_lease(wh, spec.id, "run-waiting")
        state.take_lease(wh, key, "run-sending")  # this live process: not taken over
    slept: list[float] = []

    def holder_finishes_on_the_third_look(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            freed: list[str] = []
            with connect(warehouse.path) as wh:
                engine._release_in(wh, [key], "run-sending", freed)
            engine._ring_bells(warehouse.path, freed)
        assert len(slept) < 200, "the waiter never took the freed connection"

    assert engine._take_connection(warehouse.path, spec, "run-waiting", holder_finishes_on_the_third_look) == key
    assert len(slept) == 3 and sum(slept) < engine.CONNECTION_POLL_SECONDS / 10, slept
    assert warehouse.query(LEASES + " where sync_id = ?", [key]) == [(key, "run-waiting")]
