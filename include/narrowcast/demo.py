"""Run the whole pipeline end to end on demo data through Airflow, then print where to look.

generate (synthetic shop) → sandbox APIs on loopback → every extract DAG → transform (dbt via Cosmos) → activation
DAGs → a summary of rows per stage and of every sync. The DAGs run in one Airflow process, each as
``airflow dags test`` runs it (:mod:`narrowcast_airflow.runner`, a DAG's ready tasks side by side within their
pools): the extracts in two lanes (GA4's alone, the other four one after another), then the stock push beside the
transforms, and the audience syncs once the transform published the marts, beside its docs
(:data:`AFTER_EXTRACTS_STAGE`). The
inventory DAG builds its own listing feed from the raw tables, as it does on its own schedule; the transforms start
once that build is done. Every sync holds the warehouse only to plan and to write each batch's outcome, not while
it waits on a destination's rate limit or import job, so the stock pushes' paced calls go on while dbt builds, and
syncs to different destination accounts send at once.
Safe to re-run: the world is regenerated only when its arguments change, and a second run finds nothing new to send.

What the demo runs of the transform DAG: its dbt layer as one Airflow task, ``dbt build`` over the whole project
(``NARROWCAST_DBT_EXECUTION_MODE=build`` unless set otherwise; every model, seed and test, each listed with its
result in that task's log), not the task per dbt node the UI renders (each node task costs a fraction of a second
in ``DAG.test``, several hundred of them a minute). A first run records audience membership at the audience-entry
day first: a transform run that builds only the audience-history path (run conf ``build: audience_history``, no
tests, nothing published); the final transform then builds and tests everything and generates the dbt docs once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import requests

from narrowcast import settings
from narrowcast.local_ports import wait_until_up
from narrowcast.runtime import airflow_env
from narrowcast.warehouse.connection import LOCK_WAIT_VARIABLE

EXTRACT_DAGS = ("extract_inbox", "extract_shop", "extract_web_events", "extract_ad_costs",
                "extract_marketplace_orders")
# The extracts run in two lanes side by side (:data:`EXTRACTS_STAGE`): the GA4 export's landing, the largest and
# mostly CPU, alone in one; the other four one after another in the other, mostly waiting on their APIs' paging and
# rate limits. Each load takes DuckDB's writer lock only to load. All five side by side took 40.6 s wall and more
# CPU against 27.5 s one after another on two cores (bench/bench_demo.py): their CPU competes. The two lanes
# (December 2026): the demo's extracts ~21 s instead of 45.8 s one after another (make demo 179.6 → 156.0 s), the
# 1M day's ~85 s, against ~148 s for the same runs one after another (GA4 80.4 s in its lane, 62.9 s alone).
# Starting the stock push after the three extracts it reads (stock, products, orders), beside the GA4 and ad-cost
# extracts, was measured too (December 2026): the feed's dbt build then shares the two cores with the GA4 load,
# which took 35.4 s instead of 23.6 s in the demo, and 101.3 s at 1M customers (45.8 s one after another in the
# previous measured day, on a day the machine ran ~30% faster), on the audiences' path; so the stock push starts
# after the last extract.
EXTRACTS_STAGE = "extracts"
LANE_OF_ITS_OWN = "extract_web_events"
ENTITY_DAGS = ("extract_shop", "extract_marketplace_orders")
FIRST_LOAD_START = "2020-01-01"
# After the extracts, one stage: the stock push beside the transform, the audiences after it. The inventory DAG
# builds its own listing feed from the raw tables with every model upstream of it (its schedule is the clock and
# new stock files, not the transform), so it needs only the extracts; its pushes then wait on the marketplaces'
# rate limits (Amazon's 5 PATCHes a second) while the transform builds. The transforms start once the feed's dbt
# build is done, so the two builds do not share the two cores; the audience syncs start once the transform
# succeeded. A writer meeting the other's hold on the DuckDB file waits for it (the syncs: the lock wait below;
# dbt: its profile's connect retries).
AFTER_EXTRACTS_STAGE = "after-extracts"
FEED_BUILT = "activate_inventory:refresh_listing_feed"
# The transform's task that publishes the mart assets activate_audiences is scheduled on: the scheduler starts the
# audience syncs when it succeeds, beside the docs and the profile snapshot, and so does the demo.
MARTS_PUBLISHED = "transform:publish_marts"
# The demo's transform runs dbt as one task (see the module docstring); a user's own setting wins.
DBT_EXECUTION_MODE = "build"
WAREHOUSE_POOL = "narrowcast_warehouse"
# The runner creates it before the DAG runs (``--pool``, as ``airflow pools set`` would in a process of its own).
POOL = f"{WAREHOUSE_POOL}:1:DuckDB takes one writer: every warehouse writer runs here"
# How long a warehouse writer of a DAG run side by side with others waits for DuckDB's lock (connect()).
LOCK_WAIT_SECONDS = 900
# What an executor worker imports before it forks task processes; the runner imports it before forking runs.
PRELOAD = "narrowcast_airflow.worker_preload"


class DemoError(RuntimeError):
    """A demo step failed; the message names the step and where its log is. ``step`` is the DAG run that failed
    (None for a set-up step) and ``seconds`` the runs' seconds up to and including it."""

    def __init__(self, message: str, step: str | None = None, seconds: dict[str, float] | None = None):
        super().__init__(message)
        self.step, self.seconds = step, dict(seconds or {})


@dataclass(frozen=True)
class WorldArgs:
    customers: int
    days: int
    start: str
    seed: int

    @property
    def end(self) -> date:
        return date.fromisoformat(self.start) + timedelta(days=self.days)

    @property
    def audience_entry(self) -> date | None:
        """The day the demo records audience membership, so ``audience_uplift`` sees 30 days of outcomes after it
        (the generator plants its treatment effects after this day: narrowcast.datagen.planted_uplift)."""
        from narrowcast.datagen.planted_uplift import entry_day

        day = entry_day(self.days)
        return None if day is None else date.fromisoformat(self.start) + timedelta(days=day)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _run(step: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> float:
    """Run one command, its output to a log file; raise :class:`DemoError` naming the log on failure."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{step}.log"
    started = time.monotonic()
    with log_file.open("w") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=settings.PROJECT_ROOT)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-25:])
        raise DemoError(f"step {step!r} failed (exit {proc.returncode}); full log: {log_file}\n{tail}")
    print(f"  ✓ {step:<32} {elapsed:6.1f}s", flush=True)
    return elapsed


def ensure_world(paths: settings.Paths, args: WorldArgs) -> None:
    stamp = paths.world / "demo-args.json"
    wanted = json.dumps(asdict(args), sort_keys=True)
    if stamp.exists() and stamp.read_text() == wanted:
        print(f"  ✓ world already generated ({args.customers} customers, seed {args.seed})")
        return
    from narrowcast.datagen import generate

    started = time.monotonic()
    generate(paths.data_dir, customers=args.customers, days=args.days, start=date.fromisoformat(args.start),
             seed=args.seed, progress=lambda msg: print(f"    {msg}", flush=True))
    stamp.write_text(wanted)
    print(f"  ✓ {'generate':<32} {time.monotonic() - started:6.1f}s")


@contextmanager
def sandbox(paths: settings.Paths, env: dict[str, str], start_timeout: float = 60.0):
    """The sandbox in a subprocess for the demo's lifetime (reused if one already answers on the port).

    Yields a function that waits until it answers, so it starts up while the rest of the set-up runs; it waits up
    to ``start_timeout`` seconds (the sandbox loads the whole world first: 225 s and 14 GB for 1M customers) and
    fails at once if the sandbox exits.
    """
    url = f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"
    try:
        if requests.get(f"{url}/_sandbox/health", timeout=2).ok:
            print(f"  ✓ sandbox already running at {url}")
            yield lambda: url
            return
    except requests.ConnectionError:
        pass
    log = (paths.logs / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrowcast.sandbox.server", "--world", str(paths.world),
         "--port", str(settings.SANDBOX_PORT)], env=env, stdout=log, stderr=subprocess.STDOUT)

    def ready() -> str:
        try:
            wait_until_up(f"{url}/_sandbox/health", timeout=start_timeout, server=proc)
        except (TimeoutError, RuntimeError) as exc:
            raise DemoError(f"sandbox did not start; see {paths.logs / 'sandbox.log'}") from exc
        print(f"  ✓ sandbox serving the APIs at {url}")
        return url

    try:
        yield ready
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def ensure_airflow(env: dict[str, str], log_dir: Path) -> None:
    """Migrate the metadata DB, once per Airflow version (the runner creates the one-slot pool: :data:`POOL`)."""
    from importlib.metadata import version

    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    stamp = home / f".narrowcast-initialised-{version('apache-airflow')}"
    if stamp.exists():
        return
    _run("airflow-db-migrate", [_bin("airflow"), "db", "migrate"], env, log_dir)
    stamp.touch()


def ensure_manifest(env: dict[str, str], log_dir: Path, as_of_date: str) -> None:
    """``dbt parse``: the manifest Cosmos renders the transform DAG from, and dbt's partial-parse state.

    dbt reuses a saved parse for the same command-line vars, profile, target and connection (and the environment
    variables ``dbt_project.yml`` reads). Parsing with the environment the DAGs' dbt commands get
    (:func:`dbt_parse_env`) lets every dbt command of the demo, the audience-entry transform's at an earlier date
    included, re-parse nothing: the macros read the dates only when dbt executes. Parses again when the project or
    those inputs change.
    """
    dbt_dir = settings.PROJECT_ROOT / "dbt_project"
    manifest = dbt_dir / "target" / "manifest.json"
    target = env["NARROWCAST_DBT_TARGET"]
    dates = dbt_parse_env(date.fromisoformat(as_of_date))
    inputs = json.dumps({"env": dates, "target": target, "warehouse": env.get("NARROWCAST_WAREHOUSE", "")})
    stamp = dbt_dir / "target" / ".narrowcast-parse-inputs.json"
    newest = max((p.stat().st_mtime for p in dbt_dir.rglob("*") if p.is_file() and "target" not in p.parts
                  and "logs" not in p.parts), default=0)
    if (manifest.exists() and manifest.stat().st_mtime >= newest and stamp.exists()
            and stamp.read_text() == inputs):
        return
    _run("dbt-parse (manifest)", [_bin("dbt"), "parse", "--project-dir", str(dbt_dir), "--profiles-dir",
                                   str(dbt_dir), "--profile", "narrowcast", "--target", target],
         {**env, **dates}, log_dir)
    stamp.write_text(inputs)


def dbt_parse_env(as_of: date) -> dict[str, str]:
    """The dates every dbt command of the DAGs gets in its environment for a daily run at ``as_of``
    (``narrowcast_airflow.defaults.dbt_dates_env``: ``as_of_date``, the first day a daily run rebuilt, from which
    the large models' data tests read, and that the run's data tests are scoped)."""
    from narrowcast_airflow.defaults import INCREMENTAL_LOOKBACK_DAYS

    since = as_of - timedelta(days=INCREMENTAL_LOOKBACK_DAYS)
    return {"NARROWCAST_AS_OF_DATE": as_of.isoformat(), "NARROWCAST_DATA_TESTS_SINCE_DATE": since.isoformat(),
            "NARROWCAST_DBT_SCOPED_TESTS": "true"}


def run_dags(plan: list[dict], env: dict[str, str], log_dir: Path,
             set_up: Callable[[], None] | None = None) -> dict[str, float]:
    """Run ``plan`` (``step``, ``dag_id``, ``logical_date``, ``conf``, optional ``stage`` and ``after`` per DAG run)
    in one Airflow process (:mod:`narrowcast_airflow.runner`: ``DAG.test()`` per run, as ``airflow dags test`` does;
    adjacent runs of one stage side by side), printing each step as it finishes; raise :class:`DemoError` naming the
    first step that failed and its log. Returns seconds per step.

    ``set_up`` (the metadata DB's migration, dbt's parse) runs while the runner starts up: the runner imports and
    builds what needs no metadata DB, then waits for it (``--wait-for-go``)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    runner_log = log_dir / "runner.log"
    seconds: dict[str, float] = {}
    finished = 0
    failed: dict | None = None
    with runner_log.open("w") as stray:
        proc = subprocess.Popen(
            [sys.executable, "-m", "narrowcast_airflow.runner", "--log-dir", str(log_dir), "--plan", json.dumps(plan),
             "--pool", POOL, "--preload", PRELOAD, *(["--wait-for-go"] if set_up else [])],
            env=env, stdin=subprocess.PIPE if set_up else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stray,
            text=True, cwd=settings.PROJECT_ROOT)
        if set_up is not None:
            go = ""
            try:
                set_up()
                go = "go\n"
            finally:
                with suppress(BrokenPipeError):  # a runner that failed to start up is reported below
                    proc.stdin.write(go)
                    proc.stdin.close()
                if not go:
                    proc.wait()
        for line in proc.stdout:
            try:
                done = json.loads(line)
            except ValueError:
                stray.write(line)  # the runner's own output, outside any step
                continue
            seconds[done["step"]] = done["seconds"]
            finished += 1
            if done["state"] != "success":
                failed = failed or done  # the first: a run side by side may fail, or not start, because of it
                continue
            print(f"  ✓ {done['step']:<32} {done['seconds']:6.1f}s", flush=True)
        returncode = proc.wait()
    if failed is not None:
        log_file = Path(failed["log"])
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-25:])
        raise DemoError(f"step {failed['step']!r} failed; full log: {log_file}\n{tail}", failed["step"], seconds)
    if returncode != 0 or finished < len(plan) + (2 if set_up else 1):  # + the DAG-folder parse (and start-up)
        tail = "\n".join(runner_log.read_text(errors="replace").splitlines()[-25:])
        raise DemoError(f"the DAG runner exited {returncode} before every step ran; full log: {runner_log}\n{tail}")
    return seconds


def range_plan(start: date, end: date, first_load: bool = True, transforms_before: list[dict] | None = None
               ) -> list[dict]:
    """Every DAG of the pipeline for the days ``[start, end)``: each extract over that window, the transform as of
    ``end``, the activations, all at logical date ``end``.

    On a ``first_load`` the entity sources (updated_at / last-modified watermarks) take everything up to ``end``;
    otherwise they read what changed in the window, as a daily run does. The extracts run in two lanes
    (:data:`EXTRACTS_STAGE`): GA4's alone, the others one after another. ``transforms_before`` run, in order,
    before the final transform. After the extracts the stock push runs beside the transforms
    (:data:`AFTER_EXTRACTS_STAGE`), the audiences once the final transform published the marts
    (:data:`MARTS_PUBLISHED`), as the scheduler starts them on those assets: beside its docs and profile snapshot.
    """
    window = {"start": start.isoformat(), "end": end.isoformat()}
    full_history = {"start": FIRST_LOAD_START, "end": end.isoformat()}
    logical = end.isoformat()
    plan = []
    previous = None
    for dag_id in EXTRACT_DAGS:
        run = {"step": dag_id, "dag_id": dag_id, "logical_date": logical, "stage": EXTRACTS_STAGE,
               "conf": full_history if first_load and dag_id in ENTITY_DAGS else window}
        if dag_id != LANE_OF_ITS_OWN:
            if previous is not None:
                run["after"] = previous
            previous = dag_id
        plan.append(run)
    plan.append({"step": "activate_inventory", "dag_id": "activate_inventory", "logical_date": logical, "conf": {},
                 "stage": AFTER_EXTRACTS_STAGE})
    chain = [*(transforms_before or []),
             {"step": "transform", "dag_id": "transform", "logical_date": logical,
              "conf": {"as_of_date": end.isoformat()}},
             {"step": "activate_audiences", "dag_id": "activate_audiences", "logical_date": logical, "conf": {}}]
    after = FEED_BUILT
    for run in chain:
        plan.append({**run, "stage": AFTER_EXTRACTS_STAGE, "after": after})
        after = MARTS_PUBLISHED if run["step"] == "transform" else run["step"]
    return plan


def audience_entry_run(entry: date, one_build_task: bool = True) -> dict:
    """The transform run that records audience membership at ``entry``; with ``one_build_task`` (the transform's
    build mode) it builds only the audience-history path."""
    conf = {"as_of_date": entry.isoformat(), **({"build": "audience_history"} if one_build_task else {})}
    return {"step": "transform-audience-entry", "dag_id": "transform", "logical_date": entry.isoformat(),
            "conf": conf}


def pipeline_plan(world: WorldArgs, record_audience_entry: bool = False, one_build_task: bool = True) -> list[dict]:
    """Every DAG of the pipeline in order: extracts, transform, activation, all at the world's end date.

    With ``record_audience_entry`` a transform at the world's audience entry day runs first, so the membership
    history holds spells whose outcome window has passed by the end date (a shop running daily has them anyway).
    """
    entry = world.audience_entry
    before = [audience_entry_run(entry, one_build_task)] if record_audience_entry and entry is not None else []
    return range_plan(date.fromisoformat(world.start), world.end, transforms_before=before)


def membership_recorded(paths: settings.Paths) -> bool:
    """Does the warehouse already hold an audience membership history (a re-run must not go back in time)?"""
    from narrowcast.warehouse import read_only

    with read_only(paths.warehouse) as con:
        if con is None:
            return False
        return bool(con.scalar("select count(*) from information_schema.tables where table_schema = 'main' "
                               "and table_name = 'audience_membership_history'"))


def summary(paths: settings.Paths) -> str:
    from narrowcast.demo_summary import render_summary

    return render_summary(paths)


def run_env() -> dict[str, str]:
    """The environment the demo's DAG runs get: the local runtime's, dbt as one task (a user's setting wins), and
    DAG runs side by side queueing on DuckDB's writer lock for up to :data:`LOCK_WAIT_SECONDS` (a load on a busy
    machine, or a full build at 1M customers, holds it over the default minute)."""
    env = airflow_env()
    env.setdefault("NARROWCAST_DBT_EXECUTION_MODE", DBT_EXECUTION_MODE)
    env.setdefault(LOCK_WAIT_VARIABLE, str(LOCK_WAIT_SECONDS))
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the Narrowcast pipeline end to end on demo data.")
    parser.add_argument("--customers", type=int, default=settings.env_int("NARROWCAST_DEMO_CUSTOMERS", 5000))
    parser.add_argument("--days", type=int, default=92)
    parser.add_argument("--start", default="2026-08-01")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.customers < 10:
        print(f"error: --customers must be at least 10, got {args.customers}", file=sys.stderr)
        return 2
    world = WorldArgs(args.customers, args.days, args.start, args.seed)
    paths = settings.paths().ensure()
    env = run_env()
    log_dir = paths.logs / "demo"
    started = time.monotonic()
    print(f"Narrowcast demo — data directory {paths.data_dir}")
    try:
        ensure_world(paths, world)
        with sandbox(paths, env) as sandbox_ready:
            plan = pipeline_plan(world, record_audience_entry=not membership_recorded(paths),
                                 one_build_task=env["NARROWCAST_DBT_EXECUTION_MODE"] == "build")

            def set_up() -> None:
                # Airflow's metadata DB and dbt's parse side by side, beside the sandbox and the runner's start-up.
                with ThreadPoolExecutor(max_workers=2) as setup:
                    steps = [setup.submit(ensure_airflow, env, log_dir),
                             setup.submit(ensure_manifest, env, log_dir, world.end.isoformat())]
                    for step in steps:
                        step.result()
                sandbox_ready()

            run_dags(plan, env, log_dir, set_up)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\nPipeline finished in {time.monotonic() - started:.0f}s\n")
    print(summary(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
