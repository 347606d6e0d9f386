"""Run several DAGs in one Airflow process, one after another or side by side, each as ``airflow dags test`` runs it.

``airflow dags test`` pays interpreter and Airflow start-up, a parse of every DAG file (the transform DAG renders
the dbt manifest) and the first imports of the task code (Great Expectations alone takes seconds) once per DAG.
This runner pays them once: it parses the DAG folder once, then calls ``DAG.test()`` per run in order — the same
call the CLI makes, so every task still runs through Airflow's task runner, with the run conf and logical date
given, and every DAG run and task instance is recorded in the metadata DB.

Runs that share a ``stage`` and stand next to each other in the plan run side by side: after the one parse, the
runner forks a child per run (the fork inherits the parsed DAGs and every module imported so far; SQLAlchemy's
pool is disposed in the child by Airflow's own fork hook). A run may wait for a task of another run of its stage
(``"after": "STEP:TASK_ID"``): it starts once that task succeeded, e.g. once a dbt build that would compete with
its own for the CPU is done; or for the whole run (``"after": "STEP"``): it starts once that run succeeded, so a
stage can hold a chain (transform, then the audiences) beside a run it does not depend on; or for several of these
(``"after": [...]``). A run starts the moment what it waits for ended (each child's pipe wakes the runner; a
wait for a task polls the metadata DB every tenth of a second). Before the first fork the runner creates one DAG
run and takes a scheduling pass over it, then rolls both back (:func:`warm_up_dag_runs`): every child inherits
Airflow's compiled SQL and metrics registry instead of building them again. On a SQLite metadata DB (the demo's)
the runner switches it to WAL and gives every connection a busy timeout, so the children's writes queue instead of
failing with "database is locked".

Within a run, ``DAG.test()`` would run the task instances one after another; the runner starts each in a forked
child as it becomes ready, as an executor does, bounded by its pool's slots within the run
(:class:`TaskInstancesSideBySide`): a DAG's mapped syncs to different destinations send at once, its tasks in the
one-slot warehouse pool run one at a time. Pools are not shared across the runs of a stage: runs side by side
meet on DuckDB's writer lock, which every warehouse writer waits for.

    python -m narrowcast_airflow.runner --log-dir LOGS --plan '[{"step": "extract_shop", "dag_id": "extract_shop",
        "logical_date": "2026-11-01", "conf": {"start": "2020-01-01", "end": "2026-11-01"}}, ...]'

``--wait-for-go`` (the demo's) lets the runner start while Airflow's DB is still being migrated: it imports and
builds what needs no metadata DB (step ``start-up``), then waits for a line ``go`` on its standard input. Each run's
``DAG.test()`` is kept from writing the DAG folder to the DB again: the runner wrote it once at its parse.

``--preload MODULE`` (repeatable) imports a module before the DAG folder is parsed, as an executor worker imports
``narrowcast_airflow.worker_preload`` before it forks task processes: runs forked side by side inherit it instead
of each importing it again. ``--pool NAME:SLOTS:DESCRIPTION`` (repeatable) creates or updates a pool first, as ``airflow pools set`` does,
without a CLI process of its own. Each run's output (Airflow's, the tasks', dbt's) goes to ``LOGS/<step>.log``. Standard output carries one JSON
line per finished run (``step``, ``dag_id``, ``state``, ``seconds``, ``log``), in the order runs finish; the
runner stops after the first stage in which a run does not succeed (its other runs finish first; a run waiting
for a task that never succeeded is reported ``not_started``) and exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import select
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

# The first progress line: parsing the DAG folder, before any run.
DAG_BAG_STEP = "parse-dags"
# With ``--wait-for-go``, the line before it: what the runner does before it needs the metadata DB.
START_UP_STEP = "start-up"
GO = "go"


@dataclass(frozen=True)
class PlannedRun:
    """One DAG run: the name its log and progress line carry, the DAG, its logical date and run conf."""

    step: str
    dag_id: str
    logical_date: str
    conf: dict[str, Any] = field(default_factory=dict)
    # Adjacent runs with the same stage run side by side; ``after`` is "STEP:TASK_ID" or "STEP" (the whole run) of
    # another run of the stage, or several of them (it starts once all of them succeeded).
    stage: str | None = None
    after: str | tuple[str, ...] | None = None

    @property
    def waits_for(self) -> tuple[str, ...]:
        return () if self.after is None else (self.after,) if isinstance(self.after, str) else self.after


@contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Send everything this process and its children write (stdout and stderr, at the descriptor level) to
    ``log_file``; Airflow's log handlers, the task runner and dbt subprocesses all write there."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@dataclass(frozen=True)
class PoolSpec:
    """A pool the runs need: ``name``, ``slots`` and ``description``, as ``airflow pools set`` takes them."""

    name: str
    slots: int
    description: str = ""

    @classmethod
    def parse(cls, text: str) -> PoolSpec:
        """``NAME:SLOTS[:DESCRIPTION]``; ``ValueError`` naming the malformed argument."""
        name, _, rest = text.partition(":")
        slots, _, description = rest.partition(":")
        if not name.strip() or not slots.strip().isdigit():
            raise ValueError(f"--pool {text!r}: expected NAME:SLOTS[:DESCRIPTION] with SLOTS a whole number")
        return cls(name.strip(), int(slots), description)


def ensure_pools(pools: list[PoolSpec]) -> None:
    """Create or update each pool in the metadata DB (what ``airflow pools set`` does)."""
    from airflow.models.pool import Pool

    for pool in pools:
        Pool.create_or_update_pool(name=pool.name, slots=pool.slots, description=pool.description,
                                   include_deferred=False)


def load_dags() -> dict[str, Any]:
    """Parse the configured DAG folder once and record it in the metadata DB, as the CLI does before a test run.

    Raises ``RuntimeError`` naming each file that failed to import.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    dags: dict[str, Any] = {}
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        if bag.import_errors:
            raise RuntimeError("DAG files failed to import:\n" + "\n".join(
                f"{path}: {error}" for path, error in bag.import_errors.items()))
        sync_bag_to_db(bag, bundle.name, bundle.version)
        dags.update(bag.dags)
    return dags


def warm_up_dag_runs(dag: Any) -> None:
    """Create a DAG run of ``dag`` and take one scheduling pass over it, then roll it all back: the metadata DB is
    left as it was, and this process holds what the first run pays for otherwise.

    Each run side by side is a forked child of this process. A child's ``DAG.test()`` compiled its first SQL
    statements (SQLAlchemy caches them per engine, and the fork keeps the engine) and read Airflow's metrics
    registry (a YAML file, on its first counter) itself: ~0.3 CPU-s per run, 0.6-1.4 s of wall time beside another
    run on two cores, from "creating dag run" to "Created dag run." in every run's log."""
    from airflow import settings
    from airflow.models.dagrun import DagRun, get_or_create_dagrun
    from airflow.sdk import timezone
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import select

    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    # A microsecond after the latest start date: a run before a task's start date would have no task instance to
    # create or schedule. No run is ever there; if one were, it is left alone and nothing is warmed.
    starts = [start for start in (dag.start_date, *(task.start_date for task in dag.tasks)) if start is not None]
    logical_date = timezone.coerce_datetime(max(starts, default=timezone.datetime(1970, 1, 1))) + timedelta(
        microseconds=1)
    session = settings.Session()
    try:
        if session.scalar(select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.logical_date == logical_date)):
            return
        dag_run = get_or_create_dagrun(  # what DAG.test() calls
            dag=scheduler_dag, logical_date=logical_date, run_after=logical_date, start_date=logical_date, conf={},
            data_interval=coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=logical_date),
            run_id=DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=logical_date,
                                          run_after=logical_date),
            triggered_by=DagRunTriggeredByType.TEST, triggering_user_name="dag_test", session=session)
        dag_run.update_state(session=session, execute_callbacks=False)
        dag_run.get_task_instances(session=session)
    finally:
        session.rollback()
        session.close()


def run_one(dags: dict[str, Any], planned: PlannedRun) -> str:
    """``DAG.test()`` for one planned run, its ready task instances side by side within their pools' slots
    (:class:`TaskInstancesSideBySide`); the DAG run's final state (``success`` or ``failed``)."""
    from airflow.sdk import timezone

    dag = dags.get(planned.dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {planned.dag_id!r} is not in the DAG folder (found: {sorted(dags)})")
    with TaskInstancesSideBySide(), _folder_synced_at_parse():  # leaving it waits for every task it started
        dag_run = dag.test(logical_date=timezone.parse(planned.logical_date), run_conf=planned.conf)
    return str(getattr(dag_run.state, "value", dag_run.state))


@contextmanager
def _folder_synced_at_parse() -> Iterator[None]:
    """``DAG.test()`` writes the DAG folder to the metadata DB again on every call (``sync_bag_to_db``: every
    DAG serialized and hashed, 0.7-2 s per run in the demo, beside other runs). The runner wrote the same folder
    with the same bundle in :func:`load_dags` and the folder does not change while it runs, so within a run the
    write is skipped: the DB already holds every DAG and its version. Only ``DAG.test()``'s own call, made in this
    process and thread, is skipped; nothing else calls it here."""
    from airflow.dag_processing import dagbag

    write, caller, pid = dagbag.sync_bag_to_db, threading.get_ident(), os.getpid()

    def already_synced(bag: Any, bundle_name: str, bundle_version: str | None, *args: Any, **kwargs: Any) -> None:
        if threading.get_ident() != caller or os.getpid() != pid:
            write(bag, bundle_name, bundle_version, *args, **kwargs)

    dagbag.sync_bag_to_db = already_synced
    try:
        yield
    finally:
        dagbag.sync_bag_to_db = write


class _QuietWhileTasksRun(logging.Filter):
    """Drops ``DAG.test()``'s "No tasks to run" line, which it logs every second while the task instances it
    started run in their own processes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No tasks to run")


# How long a task instance whose pool is full waits for a slot before DAG.test()'s loop goes on to the others.
POOL_FULL_WAIT_SECONDS = 0.5


class TaskInstancesSideBySide:
    """While in effect, ``DAG.test()`` runs each task instance in a forked child and goes on scheduling the rest,
    as an executor does, instead of running them one after another: mapped syncs to different destinations, or a
    run's independent branches, run at once. A pool's slots bound how many of the run's task instances in it run
    at once (the one-slot ``narrowcast_warehouse`` pool: one), as the scheduler bounds them.

    The child runs Airflow's own ``_run_task`` (the task runner, the in-process execution API, XComs, the state in
    the metadata DB), so ``DAG.test()``'s loop sees each task instance finish as it would its own. A child that
    dies without recording an end state (killed, out of memory) has its task instance marked failed.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._running: dict[str, int] = {}  # pool -> task instances of this run in it, running
        self._ended = 0  # task instances ended so far (wakes DAG.test()'s loop)
        self._slots: dict[str, int] = {}
        self._reapers: list[threading.Thread] = []
        self._original: Callable[..., Any] | None = None
        self._filter = _QuietWhileTasksRun()

    def __enter__(self) -> TaskInstancesSideBySide:
        from airflow.sdk.definitions import dag as dag_module

        self._original = dag_module._run_task
        dag_module._run_task = self._start
        logging.getLogger(dag_module.__name__).addFilter(self._filter)
        # DAG.test()'s loop sleeps a second between passes while nothing is ready; a task instance ending wakes it,
        # so the next one starts at once (the loop imports ``time`` inside the method: only ``time.sleep`` can be
        # met, and only the loop's thread is answered by the early wake-up).
        self._loop_thread, self._real_sleep = threading.get_ident(), time.sleep
        time.sleep = self._sleep
        return self

    def __exit__(self, *exc: object) -> None:
        from airflow.sdk.definitions import dag as dag_module

        time.sleep = self._real_sleep
        dag_module._run_task = self._original
        logging.getLogger(dag_module.__name__).removeFilter(self._filter)
        self.wait_all()

    def _sleep(self, seconds: float) -> None:
        if threading.get_ident() != self._loop_thread:
            self._real_sleep(seconds)
            return
        with self._lock:
            ended = self._ended
            self._lock.wait_for(lambda: self._ended != ended, timeout=seconds)

    def wait_all(self) -> None:
        for reaper in self._reapers:
            reaper.join()
        self._reapers.clear()

    def _pool_slots(self, pool: str) -> int:
        if pool not in self._slots:
            from airflow.models.pool import Pool

            found = Pool.get_pool(pool)
            # A pool's open slots (-1: unlimited); a pool that does not exist runs nothing in the scheduler, one
            # at a time here.
            self._slots[pool] = 1 if found is None else (sys.maxsize if found.slots < 0 else max(1, found.slots))
        return self._slots[pool]

    def _start(self, *, ti: Any, task: Any, run_triggerer: bool = False) -> None:
        from airflow.utils.state import TaskInstanceState

        pool = ti.pool or "default_pool"
        slots = self._pool_slots(pool)
        with self._lock:
            # A full pool leaves the task instance scheduled: DAG.test()'s next pass offers it again, and the
            # instances of other pools start meanwhile.
            if not self._lock.wait_for(lambda: self._running.get(pool, 0) < slots, timeout=POOL_FULL_WAIT_SECONDS):
                return
            self._running[pool] = self._running.get(pool, 0) + 1
        # Queued before the fork, so the next pass of DAG.test()'s loop does not schedule it again.
        ti.set_state(TaskInstanceState.QUEUED)
        original = self._original
        _before_fork()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into DAG.test()'s loop
            # The loop's early wake-up is the parent's; the task's own sleeps are plain ones (and the condition it
            # waits on may have been copied held by a reaper thread).
            time.sleep = self._real_sleep
            code = 1
            try:
                _after_fork()
                original(ti=ti, task=task, run_triggerer=run_triggerer)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        key = {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id, "map_index": ti.map_index}
        reaper = threading.Thread(target=self._reap, args=(pid, pool, key), name=f"reap-{ti.task_id}", daemon=True)
        self._reapers.append(reaper)
        reaper.start()

    def _reap(self, pid: int, pool: str, key: dict[str, Any]) -> None:
        try:
            os.waitpid(pid, 0)
            _fail_if_unfinished(key)
        finally:
            with self._lock:
                self._running[pool] -= 1
                self._ended += 1
                self._lock.notify_all()


def _fail_if_unfinished(key: dict[str, Any]) -> None:
    """Mark the task instance ``key`` failed if its process ended without recording an end state."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import State, TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(select(TaskInstance).filter_by(**key))
        if ti is not None and ti.state not in State.finished and ti.state != TaskInstanceState.UP_FOR_RETRY:
            print(f"task {key['task_id']} (map index {key['map_index']}) ended without a final state; marked failed",
                  file=sys.stderr, flush=True)
            ti.set_state(TaskInstanceState.FAILED, session=session)


# How long a metadata-DB connection waits for another process's write (SQLite's busy timeout), in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 120_000


def queue_sqlite_writers() -> None:
    """On a SQLite metadata DB: WAL (readers never block the writer) and a busy timeout on every connection, so
    DAG runs side by side wait for each other's short write transactions instead of failing "database is locked"."""
    from airflow import settings
    from sqlalchemy import event

    engine = settings.engine
    if engine is None or engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"pragma busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")

    engine.dispose()  # connections opened so far get the timeout too
    with engine.connect() as con:
        con.exec_driver_sql("pragma journal_mode = wal")


# The parent's in-process execution API objects, kept alive in a forked child: their event-loop thread did not
# survive the fork, and finalising them would wait on that loop for ever.
_INHERITED: list[Any] = []
# The thread Airflow's in-process execution API runs its event loop in (``InProcessExecutionAPI.transport``).
API_LOOP_THREAD = "InProcessExecutionAPI-loop"
_api_started_here = False


def _before_fork() -> None:
    """Build the in-process execution API's app once, before the children need it, unless a ``DAG.test`` in this
    process already started it (then each child builds its own, see :func:`_after_fork`)."""
    global _api_started_here
    from airflow.sdk.execution_time import supervisor

    _api_started_here = any(thread.name == API_LOOP_THREAD for thread in threading.enumerate())
    if not _api_started_here:
        # the app alone starts no thread; each child starts its loop
        _build_versioned_routes(supervisor.in_process_api_server().app)


def _build_versioned_routes(app: Any) -> None:
    """Build the execution API's versioned routes now, once, for every child to inherit. Cadwyn (the API's
    versioning) builds them on its first request, ~2 CPU-seconds that each forked task process would otherwise pay
    again, several at once on two cores. Without that hook (another Cadwyn) the children build them as before."""
    build = getattr(app, "_cadwyn_initialize", None)
    if callable(build) and getattr(app, "_cadwyn_initialized", True) is False:
        build()


def _after_fork() -> None:
    """In a forked child: an in-process execution API whose event loop runs in this process (Airflow's fork
    hook has already disposed the SQLAlchemy pool the parent's connections belong to)."""
    from airflow.sdk.execution_time import supervisor

    if _api_started_here:  # its loop thread stayed in the parent
        _INHERITED.append(supervisor.in_process_api_server())
        supervisor.in_process_api_server.cache_clear()


def _fork_run(dags: dict[str, Any], planned: PlannedRun, log_file: Path) -> tuple[int, int]:
    """Start ``planned`` in a forked child writing to ``log_file``; (pid, the pipe its final state comes on)."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1
    try:  # the child: never returns into the parent's code
        os.close(read_end)
        with output_to(log_file):
            state = "failed"
            try:
                _after_fork()
                state = run_one(dags, planned)
            except BaseException:
                traceback.print_exc()
        os.write(write_end, state.encode())
        code = 0
    finally:
        os._exit(code)


def task_succeeded(planned: PlannedRun, task_id: str, since: float) -> bool:
    """Has task ``task_id`` of ``planned``'s DAG run (at its logical date, started after ``since``) succeeded?"""
    from datetime import UTC, datetime

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk import timezone
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        states = session.scalars(
            select(TaskInstance.state).join(TaskInstance.dag_run).where(
                DagRun.dag_id == planned.dag_id, DagRun.logical_date == timezone.parse(planned.logical_date),
                TaskInstance.start_date >= datetime.fromtimestamp(since, UTC),
                TaskInstance.task_id == task_id)).all()
    return bool(states) and all(str(getattr(s, "value", s)) == "success" for s in states)


def _readiness(run: PlannedRun, by_step: dict[str, PlannedRun], started_at: dict[str, float],
               finished: dict[str, str]) -> str:
    """"ready" to start, "wait", or "never" (something it waits for ended without succeeding)."""
    answers = {_readiness_for(after, by_step, started_at, finished) for after in run.waits_for}
    return "never" if "never" in answers else "wait" if "wait" in answers else "ready"


def _readiness_for(after: str, by_step: dict[str, PlannedRun], started_at: dict[str, float],
                   finished: dict[str, str]) -> str:
    step, _, task_id = after.partition(":")
    if step not in started_at:
        return "wait"
    if not task_id:  # the whole run
        if step not in finished:
            return "wait"
        return "ready" if finished[step] == "success" else "never"
    if task_succeeded(by_step[step], task_id, started_at[step]):
        return "ready"
    return "never" if step in finished else "wait"


def run_side_by_side(dags: dict[str, Any], runs: list[PlannedRun], log_dir: Path,
                     report: Callable[[PlannedRun, str, float, Path], None], poll_seconds: float = 0.1) -> bool:
    """Run ``runs`` at once, each in a forked child; a run with ``after`` starts once that task (or, without a
    task id, that whole run) succeeded.

    Reports each run as it finishes (a run whose awaited task ended otherwise is reported ``not_started``); waits
    for every started run before returning. False unless every run succeeded."""
    by_step = {run.step: run for run in runs}
    for run in runs:
        for after in run.waits_for:
            if after.partition(":")[0] not in by_step:
                raise ValueError(f"run {run.step!r}: after {after!r} names no other run of its stage "
                                 f"({sorted(by_step)})")
    _before_fork()
    started_at: dict[str, float] = {}
    children: dict[int, tuple[PlannedRun, int]] = {}
    finished: dict[str, str] = {}
    waiting = list(runs)
    while waiting or children:
        for run in list(waiting):
            readiness = _readiness(run, by_step, started_at, finished)
            if readiness == "wait":
                continue
            if readiness == "never":
                waiting.remove(run)
                report(run, "not_started", 0.0, log_dir / f"{run.step}.log")
                finished[run.step] = "not_started"
                continue
            waiting.remove(run)
            log_file = log_dir / f"{run.step}.log"
            log_file.write_text("")
            started_at[run.step] = time.time()
            pid, pipe = _fork_run(dags, run, log_file)
            children[pid] = (run, pipe)
        if not children:  # the rest wait for runs that can never start (``after`` in a circle)
            for run in waiting:
                report(run, "not_started", 0.0, log_dir / f"{run.step}.log")
                finished[run.step] = "not_started"
            break
        # A child's pipe is readable once it has written its state, or died: a run ending starts what waits for
        # it at once. Only a wait for a task needs polling (the metadata DB says when the task succeeded).
        pid_of = {pipe: pid for pid, (_, pipe) in children.items()}
        ended, _, _ = select.select(list(pid_of), [], [], poll_seconds if waiting else None)
        if not ended:
            continue
        pid = pid_of[ended[0]]
        run, pipe = children.pop(pid)
        with os.fdopen(pipe, "rb") as answer:
            state = answer.read().decode() or "failed"  # nothing written: the child died before it could say
        os.waitpid(pid, 0)
        finished[run.step] = state
        report(run, state, time.time() - started_at[run.step], log_dir / f"{run.step}.log")
    return all(state == "success" for state in finished.values())


def stages(plan: list[PlannedRun]) -> list[list[PlannedRun]]:
    """``plan`` cut into what runs together: adjacent runs sharing a stage, every other run alone."""
    grouped: list[list[PlannedRun]] = []
    for run in plan:
        if grouped and run.stage is not None and grouped[-1][-1].stage == run.stage:
            grouped[-1].append(run)
        else:
            grouped.append([run])
    return grouped


def run_plan(plan: list[PlannedRun], log_dir: Path, progress: TextIO, pools: list[PoolSpec] | None = None,
             preload: list[str] | None = None, go: Callable[[], bool] | None = None) -> bool:
    """Run ``plan`` stage by stage, one JSON progress line per run on ``progress``; False once a run did not succeed.

    ``pools`` are created or updated and the ``preload`` modules imported before the DAG folder is parsed (the
    first step). With ``go``, the runner first starts up without the metadata DB (providers' configuration,
    ``preload``, the in-process execution API: step :data:`START_UP_STEP`), then waits for ``go()`` (False: stop)
    before its first use of the DB, so it can start while the DB is still being migrated."""
    log_dir.mkdir(parents=True, exist_ok=True)

    def report(step: str, dag_id: str, state: str, seconds: float, log_file: Path) -> None:
        progress.write(json.dumps({"step": step, "dag_id": dag_id, "state": state, "seconds": round(seconds, 2),
                                   "log": str(log_file)}) + "\n")
        progress.flush()

    def attempt(step: str, dag_id: str, action: Callable[[], str]) -> str:
        """``action``'s state (an exception is ``failed``, its traceback in the log), reported as it finishes."""
        started = time.monotonic()
        log_file = log_dir / f"{step}.log"
        log_file.write_text("")
        with output_to(log_file):
            try:
                state = action()
            except Exception:
                traceback.print_exc()
                state = "failed"
        report(step, dag_id, state, time.monotonic() - started, log_file)
        return state

    dags: dict[str, Any] = {}
    grouped = stages(plan)

    def start_up() -> str:
        # What the CLI's commands do first (``providers_configuration_loaded``): the providers' config defaults.
        from airflow.providers_manager import ProvidersManager

        ProvidersManager().initialize_providers_configuration()
        for module in preload or []:
            importlib.import_module(module)
        if go is not None:
            _before_fork()  # what the first side-by-side stage would build, built while the DB is not ready
        return "success"

    def load() -> str:
        if go is None:
            start_up()
        queue_sqlite_writers()  # runs side by side, and the task instances of every run
        ensure_pools(pools or [])
        dags.update(load_dags())
        if plan and plan[0].dag_id in dags:  # an unknown DAG fails its run, naming the DAG folder's
            try:
                warm_up_dag_runs(dags[plan[0].dag_id])
            except Exception:  # noqa: BLE001 - a saving, never a reason to stop: each run then pays it itself
                logging.getLogger(__name__).warning("the DAG-run warm-up failed; each run builds its own",
                                                    exc_info=True)
        return "success"

    if go is not None:
        if attempt(START_UP_STEP, "", start_up) != "success":
            return False
        if not go():
            return False
    if attempt(DAG_BAG_STEP, "", load) != "success":
        return False
    for stage in grouped:
        if len(stage) > 1:
            if not run_side_by_side(dags, stage, log_dir, lambda run, state, seconds, log_file: report(
                    run.step, run.dag_id, state, seconds, log_file)):
                return False
            continue
        (planned,) = stage
        if attempt(planned.step, planned.dag_id, lambda planned=planned: run_one(dags, planned)) != "success":
            return False
    return True


def parse_plan(text: str) -> list[PlannedRun]:
    return [PlannedRun(step=item.get("step") or item["dag_id"], dag_id=item["dag_id"],
                       logical_date=item["logical_date"], conf=item.get("conf") or {}, stage=item.get("stage"),
                       after=tuple(item["after"]) if isinstance(item.get("after"), list) else item.get("after"))
            for item in json.loads(text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True,
                        help="JSON list of {step, dag_id, logical_date, conf[, stage, after (one or a list)]}")
    parser.add_argument("--log-dir", required=True, type=Path)
    parser.add_argument("--pool", action="append", default=[], help="NAME:SLOTS[:DESCRIPTION], created first")
    parser.add_argument("--preload", action="append", default=[], help="a module to import before any run")
    parser.add_argument("--wait-for-go", action="store_true",
                        help=f"start up, report step {START_UP_STEP!r}, then wait for a line {GO!r} on standard input "
                             "before touching the metadata DB (any other line or its end: exit 1)")
    args = parser.parse_args(argv)
    plan = parse_plan(args.plan)
    try:
        pools = [PoolSpec.parse(text) for text in args.pool]
    except ValueError as exc:
        parser.error(str(exc))
    # Progress goes to the descriptor stdout had at start; runs write their own output into their logs.
    progress = os.fdopen(os.dup(1), "w")
    go = (lambda: sys.stdin.readline().strip() == GO) if args.wait_for_go else None
    return 0 if run_plan(plan, args.log_dir, progress, pools, args.preload, go) else 1


if __name__ == "__main__":
    raise SystemExit(main())
