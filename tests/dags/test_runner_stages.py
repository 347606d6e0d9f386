"""The DAG runner runs adjacent runs of one stage side by side (a forked child each, after one parse), lets a run
wait for a task of another run or for the whole run, and stops after a stage in which a run failed, naming it.

GIVEN a DAG folder of its own (a DAG whose task sleeps and records when it ran, one whose task fails), WHEN the
runner runs a plan with a stage of two runs, THEN their tasks overlap in time and both are recorded in the SQLite
metadata DB (its writers queue: no "database is locked"); a run with ``after`` starts once that task (or that
whole run) succeeded;
a failing run in a stage is reported failed with its log, its neighbour still finishes, and no later run starts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from narrowcast_airflow.runner import PlannedRun, parse_plan, stages

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")

DAGS = '''
import json, os, time
from datetime import datetime, UTC
from airflow.sdk import dag, task

def record(name, seconds):
    started = time.time()
    time.sleep(seconds)
    with open(os.environ["STAGE_TEST_OUT"], "a") as out:
        out.write(json.dumps({"name": name, "start": started, "end": time.time(), "pid": os.getpid()}) + "\\n")

@dag(dag_id="slow", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC))
def slow():
    @task
    def first(**context):
        record(context["params"].get("name", "slow") + ":first", float(context["params"].get("seconds", 3)))
    @task
    def second(**context):
        record(context["params"].get("name", "slow") + ":second", 0.1)
    first() >> second()

slow()

@dag(dag_id="broken", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC))
def broken():
    @task(retries=0)
    def fail():
        raise ValueError("this run is meant to fail")
    fail()

broken()

@dag(dag_id="fanout", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC))
def fanout():
    @task
    def free(name):
        record("free:" + name, 6)
    @task(pool="one_slot")
    def held(name):
        record("held:" + name, 1)
    free.expand(name=["a", "b", "c"])
    held.expand(name=["x", "y"])

fanout()

@dag(dag_id="killed", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC))
def killed():
    @task(retries=0)
    def dies():
        os.kill(os.getpid(), 9)
    dies()

killed()
'''


def test_adjacent_runs_of_one_stage_group_together_and_others_run_alone() -> None:
    plan = parse_plan(json.dumps([
        {"dag_id": "a", "logical_date": "2026-01-01"},
        {"dag_id": "b", "logical_date": "2026-01-01", "stage": "s"},
        {"dag_id": "c", "logical_date": "2026-01-01", "stage": "s", "after": "b:t"},
        {"dag_id": "d", "logical_date": "2026-01-01", "stage": "other"},
        {"dag_id": "e", "logical_date": "2026-01-01"}]))
    assert [[run.step for run in stage] for stage in stages(plan)] == [["a"], ["b", "c"], ["d"], ["e"]]
    assert plan[2] == PlannedRun("c", "c", "2026-01-01", {}, stage="s", after="b:t")


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from narrowcast.runtime import airflow_env

    base = tmp_path_factory.mktemp("stages")
    (base / "dags").mkdir()
    (base / "dags" / "stage_dags.py").write_text(DAGS)
    env = airflow_env({k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NARROWCAST_"))},
                      airflow_home=base / "airflow", data_dir=base / "data")
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(base / "dags")
    env["STAGE_TEST_OUT"] = str(base / "out.jsonl")
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    return env


def run(env: dict[str, str], log_dir: Path, plan: list[dict], pools: tuple[str, ...] = ()
        ) -> tuple[subprocess.CompletedProcess, list[dict]]:
    out = Path(env["STAGE_TEST_OUT"])
    out.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "narrowcast_airflow.runner", "--log-dir", str(log_dir), "--plan",
                           json.dumps(plan), *(arg for pool in pools for arg in ("--pool", pool))],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    ran = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return proc, ran


def progress(proc: subprocess.CompletedProcess) -> dict[str, str]:
    return {done["step"]: done["state"] for done in map(json.loads, proc.stdout.splitlines())}


@pytest.mark.e2e  # migrates an Airflow metadata DB and runs DAGs
def test_two_runs_of_a_stage_run_side_by_side_and_a_run_can_wait_for_a_task(airflow, tmp_path: Path) -> None:
    day = "2026-03-01"
    proc, ran = run(airflow, tmp_path, [
        {"step": "alone", "dag_id": "slow", "logical_date": "2026-02-01", "conf": {"name": "alone", "seconds": 0.1}},
        {"step": "left", "dag_id": "slow", "logical_date": day, "conf": {"name": "left", "seconds": 6},
         "stage": "s"},
        {"step": "right", "dag_id": "slow", "logical_date": "2026-03-02", "conf": {"name": "right", "seconds": 6},
         "stage": "s"},
        {"step": "waits", "dag_id": "slow", "logical_date": "2026-03-03", "conf": {"name": "waits", "seconds": 0.1},
         "stage": "s", "after": "left:first"},
        {"step": "after-right", "dag_id": "slow", "logical_date": "2026-03-04",
         "conf": {"name": "after-right", "seconds": 0.1}, "stage": "s", "after": "right"}])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert progress(proc) == {"parse-dags": "success", "alone": "success", "left": "success", "right": "success",
                              "waits": "success", "after-right": "success"}
    task = {entry["name"]: entry for entry in ran}
    # side by side: each slow task started before the other ended, in a process of its own
    assert task["left:first"]["start"] < task["right:first"]["end"]
    assert task["right:first"]["start"] < task["left:first"]["end"]
    assert len({task["left:first"]["pid"], task["right:first"]["pid"], task["alone:first"]["pid"]}) == 3
    # the waiting run started only after the task it waits for had finished
    assert task["waits:first"]["start"] > task["left:first"]["end"]
    # a run waiting for a whole run started after that run's last task
    assert task["after-right:first"]["start"] > task["right:second"]["end"]
    for step in ("left", "right", "waits"):
        assert "database is locked" not in (tmp_path / f"{step}.log").read_text()
        # the DAG folder was written to the DB once, at the parse, not again by each run's DAG.test()
        assert "Bulk-writing dags to db" not in (tmp_path / f"{step}.log").read_text()
    assert "Bulk-writing dags to db" in (tmp_path / "parse-dags.log").read_text()
    (db,) = (Path(airflow["AIRFLOW_HOME"])).glob("*.db")
    with sqlite3.connect(db) as con:
        states = con.execute("select task_id, state from task_instance where dag_id = 'slow' and run_id in "
                             "(select run_id from dag_run where dag_id = 'slow' and conf like '%\"name\": \"left\"%' "
                             "or conf like '%\"name\": \"right\"%')").fetchall()
    assert sorted(states) == [("first", "success")] * 2 + [("second", "success")] * 2, states


@pytest.mark.e2e  # migrates an Airflow metadata DB and runs DAGs
def test_a_failing_run_in_a_stage_stops_the_plan_and_is_named(airflow, tmp_path: Path) -> None:
    proc, ran = run(airflow, tmp_path, [
        {"step": "fails", "dag_id": "broken", "logical_date": "2026-04-01", "stage": "s"},
        {"step": "beside", "dag_id": "slow", "logical_date": "2026-04-01", "conf": {"name": "beside", "seconds": 2},
         "stage": "s"},
        {"step": "waits-on-it", "dag_id": "slow", "logical_date": "2026-04-02", "stage": "s",
         "after": "fails:fail"},
        {"step": "waits-for-the-run", "dag_id": "slow", "logical_date": "2026-04-04", "stage": "s",
         "after": "fails"},
        {"step": "later", "dag_id": "slow", "logical_date": "2026-04-03", "conf": {"name": "later"}}])
    assert proc.returncode == 1
    assert progress(proc) == {"parse-dags": "success", "fails": "failed", "beside": "success",
                              "waits-on-it": "not_started", "waits-for-the-run": "not_started"}
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    failed = next(line for line in lines if line["state"] == "failed")
    assert failed["step"] == "fails" and failed["log"] == str(tmp_path / "fails.log")
    assert "this run is meant to fail" in (tmp_path / "fails.log").read_text()
    assert [entry["name"] for entry in ran] == ["beside:first", "beside:second"]  # nothing after the stage ran


@pytest.mark.e2e  # migrates an Airflow metadata DB and runs DAGs
def test_the_ready_task_instances_of_a_run_run_side_by_side_within_their_pools_slots(airflow, tmp_path: Path) -> None:
    proc, ran = run(airflow, tmp_path, [{"step": "fanout", "dag_id": "fanout", "logical_date": "2026-05-01"}],
                    pools=("one_slot:1:one at a time",))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    task = {entry["name"]: entry for entry in ran}
    free = [task[f"free:{name}"] for name in "abc"]
    # the default pool's three mapped instances at once, each in a process of its own
    assert max(t["start"] for t in free) < min(t["end"] for t in free), free
    assert len({t["pid"] for t in free}) == 3
    # the one-slot pool's two one after another
    held = sorted((task["held:x"], task["held:y"]), key=lambda t: t["start"])
    assert held[0]["end"] <= held[1]["start"], held
    assert "No tasks to run" not in (tmp_path / "fanout.log").read_text()
    (db,) = (Path(airflow["AIRFLOW_HOME"])).glob("*.db")
    with sqlite3.connect(db) as con:
        states = con.execute("select task_id, map_index, state from task_instance where dag_id = 'fanout'").fetchall()
    assert sorted(states) == [("free", 0, "success"), ("free", 1, "success"), ("free", 2, "success"),
                              ("held", 0, "success"), ("held", 1, "success")], states


@pytest.mark.e2e  # migrates an Airflow metadata DB and runs DAGs
def test_a_task_whose_process_dies_is_marked_failed_and_fails_its_run(airflow, tmp_path: Path) -> None:
    proc, _ = run(airflow, tmp_path, [{"step": "killed", "dag_id": "killed", "logical_date": "2026-05-02"}])
    assert proc.returncode == 1
    assert progress(proc) == {"parse-dags": "success", "killed": "failed"}
    assert "task dies (map index -1) ended without a final state; marked failed" in (tmp_path / "killed.log").read_text()


def test_the_demo_runs_its_extracts_in_two_lanes_pushes_stock_beside_the_transforms_and_syncs_audiences_after_the_marts() -> None:
    from narrowcast import demo

    world = demo.WorldArgs(customers=5000, days=92, start="2026-08-01", seed=42)
    plan = parse_plan(json.dumps(demo.pipeline_plan(world, record_audience_entry=True)))
    assert [[run.step for run in stage] for stage in stages(plan)] == [
        list(demo.EXTRACT_DAGS),
        ["activate_inventory", "transform-audience-entry", "transform", "activate_audiences"]]
    after = {run.step: run.after for run in plan}
    # the extracts in two lanes: GA4's landing alone, the other four one after another
    assert after["extract_web_events"] is None and after["extract_inbox"] is None
    assert (after["extract_shop"], after["extract_ad_costs"], after["extract_marketplace_orders"]) == (
        "extract_inbox", "extract_shop", "extract_ad_costs")
    # the transforms wait for the stock feed's dbt build, a task the inventory DAG declares; then one another
    assert after["activate_inventory"] is None
    assert after["transform-audience-entry"] == demo.FEED_BUILT
    assert (after["transform"], after["activate_audiences"]) == ("transform-audience-entry", demo.MARTS_PUBLISHED)
    step, _, task_id = demo.FEED_BUILT.partition(":")
    assert step == "activate_inventory"
    assert f'task_id="{task_id}"' in (ROOT / "dags" / "activate_inventory.py").read_text()
    # the audiences start when the transform publishes the mart assets they are scheduled on, as the scheduler
    # starts them: the task is the one whose outlets are the marts
    step, _, task_id = demo.MARTS_PUBLISHED.partition(":")
    transform_dag = (ROOT / "dags" / "transform.py").read_text()
    assert step == "transform" and f"@task(outlets=list(MART_ASSETS.values()))\n    def {task_id}(" in transform_dag
    # without an entry transform the final one waits for the feed's build
    rerun = {run["step"]: run.get("after") for run in demo.pipeline_plan(world)}
    assert rerun["transform"] == demo.FEED_BUILT


@pytest.mark.e2e  # migrates an Airflow metadata DB and runs DAGs
def test_a_runner_told_to_wait_starts_up_before_the_metadata_db_exists_and_runs_once_told_go(
        airflow, tmp_path: Path) -> None:
    """``--wait-for-go`` (the demo's): the runner imports and builds what needs no metadata DB while the DB is
    migrated beside it, then runs the plan once told ``go``; told anything else, it stops before touching the DB."""
    env = {**airflow, "AIRFLOW_HOME": str(tmp_path / "new-home")}  # a metadata DB not migrated yet
    plan = json.dumps([
        {"step": "left", "dag_id": "slow", "logical_date": "2026-06-01", "conf": {"name": "left", "seconds": 2},
         "stage": "s"},
        {"step": "right", "dag_id": "slow", "logical_date": "2026-06-02", "conf": {"name": "right", "seconds": 2},
         "stage": "s"}])

    def runner(log_dir: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "narrowcast_airflow.runner", "--log-dir", str(log_dir),
                                 "--plan", plan, "--wait-for-go"], env=env, cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    told_to_stop = runner(tmp_path / "stopped")
    assert json.loads(told_to_stop.stdout.readline())["step"] == "start-up"
    out, err = told_to_stop.communicate("stop\n", timeout=120)
    assert told_to_stop.returncode == 1 and out == "", err[-3000:]

    proc = runner(tmp_path / "logs")
    started = json.loads(proc.stdout.readline())
    assert (started["step"], started["state"]) == ("start-up", "success")
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    out, err = proc.communicate("go\n", timeout=600)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert {done["step"]: done["state"] for done in map(json.loads, out.splitlines())} == {
        "parse-dags": "success", "left": "success", "right": "success"}


WARM_UP_PROBE = '''
import json, os, sys
from airflow import settings
from airflow.models.dagrun import DagRun, get_or_create_dagrun
from airflow.sdk import timezone
from airflow.serialization.serialized_objects import DagSerialization
from airflow.utils.types import DagRunTriggeredByType
from sqlalchemy import event, func, select
from narrowcast_airflow import runner

dags = runner.load_dags()
def rows():
    with settings.Session() as session:
        return (session.scalar(select(func.count()).select_from(DagRun)),
                session.scalar(select(func.count()).select_from(DagRun).where(DagRun.dag_id == "slow")))
before = rows()
if sys.argv[1] == "warm":
    runner.warm_up_dag_runs(dags["slow"])
after = rows()
compiled = []
@event.listens_for(settings.engine, "before_cursor_execute")
def _compiled(conn, cursor, statement, params, context, executemany):
    if context is not None and context.compiled is not None and "miss" in str(context.cache_hit).lower():
        compiled.append(statement.split()[0])
read, write = os.pipe()
if os.fork() == 0:  # a run side by side: a forked child creating its DAG run as DAG.test() does
    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dags["slow"]))
    day = timezone.coerce_datetime(timezone.datetime(2026, 9, 1))
    session = settings.Session()
    run = get_or_create_dagrun(dag=scheduler_dag, logical_date=day, run_after=day, start_date=day, conf={},
                               data_interval=None, run_id="manual__probe", triggered_by=DagRunTriggeredByType.TEST,
                               triggering_user_name="dag_test", session=session)
    run.update_state(session=session, execute_callbacks=False)
    session.rollback()
    os.write(write, json.dumps(compiled).encode())
    os._exit(0)
os.close(write)
print(json.dumps({"before": before, "after": after, "compiled_in_child": json.loads(os.read(read, 65536))}))
'''


@pytest.mark.e2e  # migrates an Airflow metadata DB
@pytest.mark.parametrize("warm", [True, False], ids=["warmed", "cold"])
def test_the_runners_warm_up_leaves_the_metadata_db_as_it_was_and_its_forked_runs_compile_nothing_again(
        airflow, warm: bool) -> None:
    """The runner creates a DAG run and takes a scheduling pass over it, then rolls it back, before it forks the
    runs: each forked child then finds Airflow's SQL statements compiled (0.3 CPU-s a run otherwise)."""
    proc = subprocess.run([sys.executable, "-c", WARM_UP_PROBE, "warm" if warm else "cold"], env=airflow, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe = json.loads(proc.stdout.splitlines()[-1])
    assert probe["after"] == probe["before"]  # nothing of the warm-up stays in the metadata DB
    if warm:
        assert probe["compiled_in_child"] == [], probe
    else:  # what the warm-up spares: without it the child compiles the DAG run's statements itself
        assert "INSERT" in probe["compiled_in_child"] and "SELECT" in probe["compiled_in_child"], probe
