"""Sessions of the package queue for the DuckDB file on its turn file: a writer alone, readers together, the
sessions of one process sharing its turn, and no write lost among writers that take turns."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from narrowcast.warehouse import WarehouseBusy, connect, read_only

SESSION_IN_ANOTHER_PROCESS = """
import sys
from narrowcast.warehouse import connect, read_only
path, mode = sys.argv[1], sys.argv[2]
with (connect(path) if mode == "write" else read_only(path)) as wh:
    if mode == "write":
        wh.execute("insert into meta.turn_log values ('holder')")
    print("held", flush=True)
    sys.stdin.readline()
"""

WRITER_TAKING_TURNS = """
import sys
from narrowcast.warehouse import connect
path, name, sessions = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(sessions):
    with connect(path, lock_wait_seconds=120) as wh:
        n = wh.scalar("select count(*) from meta.turn_log")
        wh.execute("insert into meta.turn_log values (?)", [f"{name}-{i}-after-{n}"])
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


@pytest.fixture
def warehouse(tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    with connect(path) as wh:
        wh.execute("create table meta.turn_log (entry varchar)")
    return path


def _holding(path: Path, mode: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", SESSION_IN_ANOTHER_PROCESS, str(path), mode], env=_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_writer_waits_for_another_writers_turn_then_sees_its_writes(warehouse):
    holder = _holding(warehouse, "write")
    try:
        with pytest.raises(WarehouseBusy, match=r"in use by another process .*w\.duckdb\.turn"), \
                connect(warehouse, lock_wait_seconds=0):
            pass
        with pytest.raises(WarehouseBusy), read_only(warehouse):  # a page asks now: told at once
            pass
        waiting = threading.Thread(target=holder.communicate, args=("\n",), kwargs={"timeout": 30})
        waiting.start()
        with connect(warehouse, lock_wait_seconds=60) as wh:  # waits its turn, then has the file
            assert wh.fetchall("select entry from meta.turn_log") == [("holder",)]
        waiting.join()
    finally:
        if holder.poll() is None:
            holder.kill()
    assert holder.returncode == 0


def test_readers_share_their_turn_and_a_writer_waits_for_them(warehouse):
    holder = _holding(warehouse, "read")
    try:
        with read_only(warehouse) as wh:  # another reader is no reason to wait
            assert wh.scalar("select count(*) from meta.turn_log") == 0
        with pytest.raises(WarehouseBusy), connect(warehouse, lock_wait_seconds=0):
            pass
    finally:
        holder.communicate("\n", timeout=30)
    with connect(warehouse, lock_wait_seconds=0) as wh:  # the reader gone, the writer's turn is free
        assert wh.scalar("select 1") == 1


def test_sessions_of_one_process_share_its_turn(warehouse):
    """A second session of the process that holds the turn (nested, or on another thread) does not wait for
    itself: DuckDB lets one process open its file in several connections."""
    seen: list[int] = []
    with connect(warehouse) as outer:
        outer.execute("insert into meta.turn_log values ('outer')")
        with connect(warehouse, lock_wait_seconds=0) as inner:
            seen.append(inner.scalar("select count(*) from meta.turn_log"))

        def on_a_thread() -> None:
            with connect(warehouse, lock_wait_seconds=0) as wh:
                seen.append(wh.scalar("select count(*) from meta.turn_log"))

        thread = threading.Thread(target=on_a_thread)
        thread.start()
        thread.join(timeout=30)
    assert seen == [1, 1]
    holder = _holding(warehouse, "write")  # and the turn was given back when the last session closed
    holder.communicate("\n", timeout=30)
    assert holder.returncode == 0


def test_a_forked_child_does_not_take_its_parents_turn_for_its_own(warehouse):
    with connect(warehouse):
        pid = os.fork()
        if pid == 0:  # the child: its parent's session is another process's
            try:
                with connect(warehouse, lock_wait_seconds=0):
                    os._exit(1)
            except WarehouseBusy:
                os._exit(0)
            except BaseException:
                os._exit(2)
            os._exit(3)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_writers_taking_turns_lose_no_write(warehouse):
    writers = [subprocess.Popen([sys.executable, "-c", WRITER_TAKING_TURNS, str(warehouse), f"w{n}", "15"],
                                env=_env(), stderr=subprocess.PIPE, text=True) for n in range(4)]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err[-2000:]
    with read_only(warehouse) as wh:
        entries = [e for (e,) in wh.fetchall("select entry from meta.turn_log")]
    assert len(entries) == 60
    # Each session saw every write of the sessions before it: the counts each one read are 0..59, once each.
    assert sorted(int(e.rsplit("-", 1)[1]) for e in entries) == list(range(60))


TURN_HELD_FOR_A_PROGRAM = """
import sys
from narrowcast.warehouse import writer_turn
with writer_turn(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_the_writers_turn_held_for_another_program_leaves_it_the_file_and_queues_the_sessions(warehouse):
    import duckdb

    # GIVEN a process holding the writer's turn for a program that opens the file itself (the docs step's dbt)
    holder = subprocess.Popen([sys.executable, "-c", TURN_HELD_FOR_A_PROGRAM, str(warehouse)], env=_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        # THEN that program finds the file free: the turn opens nothing
        with duckdb.connect(str(warehouse)) as program:
            program.execute("insert into meta.turn_log values ('program')")
        # AND the package's sessions wait for the turn
        with pytest.raises(WarehouseBusy, match=r"w\.duckdb\.turn"), connect(warehouse, lock_wait_seconds=0):
            pass
        holder.communicate("\n", timeout=30)
        with connect(warehouse, lock_wait_seconds=30) as wh:
            assert wh.fetchall("select entry from meta.turn_log") == [("program",)]
    finally:
        if holder.poll() is None:
            holder.kill()
    assert holder.returncode == 0
