"""An idempotent sync keeps sending while another process holds the DuckDB file, and writes the outcomes after.

GIVEN an audience sync of five batches, WHEN another process takes the warehouse's write lock while the second
batch is with the destination (as a dbt build does for a minute or more beside a paced stock push) and holds it,
THEN the sync still sends every remaining batch while the file is held, does not finish before it can write, and
once the file is free writes every batch's outcome: all rows accepted, their state and the run log written.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from activation_fixtures import audience_rows, audience_sync, sync_in_thread

from narrowcast.activation.destinations import DESTINATIONS

HOLDER = """
import sys
from narrowcast.warehouse import connect
with connect(sys.argv[1], lock_wait_seconds=30) as wh:
    print(wh.scalar("select count(*) from activation.sync_state"), flush=True)
    sys.stdin.readline()
"""


def test_the_sync_sends_on_while_another_process_holds_the_warehouse(monkeypatch, emulators, connections,
                                                                      warehouse):
    monkeypatch.setenv("NARROWCAST_WAREHOUSE_LOCK_WAIT_SECONDS", "120")
    warehouse.replace("audience_members", audience_rows("champions", range(500)))
    spec = audience_sync("meta", batch_size=100, rate_limit={"rps": 500, "burst": 50, "concurrency": 1})
    assert not DESTINATIONS[spec.destination].objects[spec.object].send_once  # an idempotent object
    second_batch_sent, file_held, last_batch_sent = threading.Event(), threading.Event(), threading.Event()
    sent: list[int] = []
    real = DESTINATIONS[spec.destination]

    class Watched(real):  # type: ignore[misc, valid-type]
        def send(self, batch):
            sent.append(batch.seq)
            if batch.seq == 2:
                second_batch_sent.set()
                assert file_held.wait(60), "the test never took the warehouse"
            if batch.seq == batch.total:
                last_batch_sent.set()
            return super().send(batch)

    monkeypatch.setitem(DESTINATIONS, spec.destination, Watched)
    sync, outcome = sync_in_thread(spec, connections, warehouse.path)
    holder = None
    try:
        assert second_batch_sent.wait(60), "the sync never sent its second batch"
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse.path)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        recorded_before = holder.stdout.readline().strip()  # printed once it holds the file
        file_held.set()
        # THEN the remaining batches go out while the file is held ...
        assert last_batch_sent.wait(30), f"only batches {sent} were sent while another process held the warehouse"
        # ... and the run cannot end before it has written their outcomes
        sync.join(2)
        assert sync.is_alive(), "the sync ended without writing the outcomes it could not write yet"
    finally:
        file_held.set()
        if holder is not None:
            holder.communicate("\n", timeout=60)
        sync.join(120)
    assert recorded_before == "100"  # the first batch was written before the file was taken
    assert sent == [1, 2, 3, 4, 5]
    report = outcome["report"]
    assert (report.status, report.planned_adds, report.accepted) == ("success", 500, 500)
    assert warehouse.query("select count(*) from activation.sync_state")[0][0] == 500
    assert warehouse.query("select status, accepted from activation.sync_runs") == [("success", 500)]
