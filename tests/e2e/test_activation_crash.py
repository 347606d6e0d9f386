"""Crash safety: a sync process killed with SIGKILL mid-run loses nothing and the rerun converges."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "activation"))

from activation_fixtures import AUDIENCE_SYNCS, audience_rows, emulators, sandbox, warehouse  # noqa: E402

from narrowcast.activation import load_syncs, run_sync  # noqa: E402
from narrowcast.contracts.connections import Connection  # noqa: E402
from narrowcast.sandbox.framework import SANDBOX_TOKEN  # noqa: E402

pytestmark = pytest.mark.e2e
__all__ = ["emulators", "sandbox", "warehouse"]
MEMBERS, BATCH = 3_000, 100
AUDIENCE = "2385000001"


def test_killing_the_sync_process_mid_run_loses_no_row_and_the_rerun_converges(tmp_path, sandbox, emulators, warehouse):
    # GIVEN a 3,000-member audience, synced by a separate process in batches of 100 against a slow API
    rows = audience_rows("champions", range(MEMBERS))
    warehouse.replace("audience_members", rows)
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "crash_meta.yml").write_text(yaml.safe_dump({
        "model": "audience_members", "key": "customer_id", "filter": {"audience_id": "champions"},
        "schedule": "audiences", "batch_size": BATCH, "rate_limit": {"rps": 100, "burst": 10, "concurrency": 2},
        **AUDIENCE_SYNCS["meta"]}))
    sandbox.faults("meta", latency_ms=80)
    extra = {"retry_base_delay": 0.01}
    # Its own TMPDIR: a SIGKILLed run leaves its plan's scratch folder behind, and it goes with tmp_path.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "include"), "TMPDIR": str(scratch),
           "AIRFLOW_CONN_NARROWCAST_META": json.dumps({"conn_type": "http", "host": f"{sandbox.url}/meta",
                                                        "password": SANDBOX_TOKEN, "extra": extra})}
    process = subprocess.Popen(
        [sys.executable, "-m", "narrowcast.activation", "run", "crash_meta", "--syncs", str(syncs),
         "--warehouse", str(warehouse.path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    meta = emulators["meta_audiences"]
    # WHEN it is killed (SIGKILL: no cleanup at all) once some batches have landed
    deadline = time.monotonic() + 60
    while len(meta.received) < 8 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, f"sync finished before it could be killed: {process.communicate()}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    landed = len(meta.snapshot()["audiences"][AUDIENCE])
    assert 0 < landed < MEMBERS
    # THEN a rerun sends only what was not confirmed, and the audience equals the mart
    sandbox.faults("meta")
    (spec,) = load_syncs(syncs)
    connection = Connection("narrowcast_meta", f"{sandbox.url}/meta", password=SANDBOX_TOKEN, extra=extra)
    report = run_sync(spec, connections={"narrowcast_meta": connection}, warehouse=warehouse.path)
    members = meta.snapshot()["audiences"][AUDIENCE]
    assert members == sorted(r["email_sha256"] for r in rows)
    confirmed = warehouse.query("select count(*) from activation.sync_state")[0][0]
    assert confirmed == MEMBERS
    # at most the batches in flight at the kill (concurrency 2 → up to 4 queued) are sent twice
    assert report.planned_adds >= MEMBERS - landed
    assert meta.duplicate_adds <= 4 * BATCH
    # the killed run is visible in the run log as never finished
    statuses = warehouse.query("select status, finished_at is null from activation.sync_runs order by started_at")
    assert statuses[0] == ("running", True) and statuses[-1] == ("success", False)
