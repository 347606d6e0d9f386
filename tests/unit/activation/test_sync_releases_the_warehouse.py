"""A sync holds the DuckDB file only to read and write it, not while it waits on its destination.

GIVEN an audience sync of three batches whose destination blocks on its second batch (as a rate limit or an
import-job poll keeps it waiting), WHEN another process opens the warehouse for writing meanwhile, THEN it gets the
file at once, writes, and sees the first batch's outcome already committed; once the destination answers, the
sync finishes with every row accepted and its state and run log written.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from activation_fixtures import audience_rows, audience_sync, sync_in_thread

from narrowcast.activation.destinations import DESTINATIONS

OTHER_WRITER = """
import sys
from narrowcast.warehouse import connect
with connect(sys.argv[1], lock_wait_seconds=5) as wh:
    wh.execute("create table if not exists main.other_writer (note varchar)")
    wh.execute("insert into main.other_writer values ('written while the sync waited')")
    print(wh.scalar("select count(*) from activation.sync_state"))
"""


def test_another_process_writes_the_warehouse_while_a_sync_waits_on_its_destination(
        monkeypatch, emulators, connections, warehouse):
    warehouse.replace("audience_members", audience_rows("champions", range(250)))
    spec = audience_sync("meta", batch_size=100, rate_limit={"rps": 500, "burst": 50, "concurrency": 1})
    second_batch_sent, destination_may_answer = threading.Event(), threading.Event()
    real = DESTINATIONS[spec.destination]

    class Blocking(real):  # type: ignore[misc, valid-type]
        def send(self, batch):
            if batch.seq == 2:
                second_batch_sent.set()
                assert destination_may_answer.wait(60), "the test never let the destination answer"
            return super().send(batch)

    monkeypatch.setitem(DESTINATIONS, spec.destination, Blocking)
    sync, outcome = sync_in_thread(spec, connections, warehouse.path)
    try:
        assert second_batch_sent.wait(60), "the sync never sent its second batch"
        # WHEN another process writes while the destination keeps the sync waiting
        other = subprocess.run([sys.executable, "-c", OTHER_WRITER, str(warehouse.path)], capture_output=True,
                               text=True, timeout=120)
    finally:
        destination_may_answer.set()
        sync.join(120)
    # THEN it wrote, and saw the first batch's state already committed (batches commit as they are answered)
    assert other.returncode == 0, other.stderr[-2000:]
    assert other.stdout.strip() == "100"
    report = outcome["report"]
    assert (report.status, report.planned_adds, report.accepted) == ("success", 250, 250)
    assert warehouse.query("select count(*) from activation.sync_state")[0][0] == 250
    assert warehouse.query("select note from main.other_writer") == [("written while the sync waited",)]
    assert warehouse.query("select status, accepted from activation.sync_runs") == [("success", 250)]
