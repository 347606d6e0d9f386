"""Run several DAGs one after another in one Airflow process, each exactly as ``airflow dags test`` runs it.

``airflow dags test`` pays interpreter and Airflow start-up, a parse of every DAG file (the transform DAG renders
the dbt manifest) and the first imports of the task code (Great Expectations alone takes seconds) once per DAG.
This runner pays them once: it parses the DAG folder once, then calls ``DAG.test()`` per run in order — the same
call the CLI makes, so every task still runs through Airflow's task runner, with the run conf and logical date
given, and every DAG run and task instance is recorded in the metadata DB.

    python -m narrowcast_airflow.runner --log-dir LOGS --plan '[{"step": "extract_shop", "dag_id": "extract_shop",
        "logical_date": "2026-11-01", "conf": {"start": "2020-01-01", "end": "2026-11-01"}}, ...]'

``--pool NAME:SLOTS:DESCRIPTION`` (repeatable) creates or updates a pool first, as ``airflow pools set`` does,
without a CLI process of its own. Each run's output (Airflow's, the tasks', dbt's) goes to ``LOGS/<step>.log``. Standard output carries one JSON
line per finished run (``step``, ``dag_id``, ``state``, ``seconds``, ``log``); the runner stops at the first run
that does not succeed and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

# The first progress line: parsing the DAG folder, before any run.
DAG_BAG_STEP = "parse-dags"


@dataclass(frozen=True)
class PlannedRun:
    """One DAG run: the name its log and progress line carry, the DAG, its logical date and run conf."""

    step: str
    dag_id: str
    logical_date: str
    conf: dict[str, Any] = field(default_factory=dict)


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


def run_one(dags: dict[str, Any], planned: PlannedRun) -> str:
    """``DAG.test()`` for one planned run; the DAG run's final state (``success`` or ``failed``)."""
    from airflow.sdk import timezone

    dag = dags.get(planned.dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {planned.dag_id!r} is not in the DAG folder (found: {sorted(dags)})")
    dag_run = dag.test(logical_date=timezone.parse(planned.logical_date), run_conf=planned.conf)
    return str(getattr(dag_run.state, "value", dag_run.state))


def run_plan(plan: list[PlannedRun], log_dir: Path, progress: TextIO, pools: list[PoolSpec] | None = None) -> bool:
    """Run ``plan`` in order, one JSON progress line per run on ``progress``; False once a run did not succeed.

    ``pools`` are created or updated before the DAG folder is parsed (the first step)."""
    log_dir.mkdir(parents=True, exist_ok=True)

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
        progress.write(json.dumps({"step": step, "dag_id": dag_id, "state": state,
                                   "seconds": round(time.monotonic() - started, 2), "log": str(log_file)}) + "\n")
        progress.flush()
        return state

    dags: dict[str, Any] = {}

    def load() -> str:
        # What the CLI's commands do first (``providers_configuration_loaded``): the providers' config defaults.
        from airflow.providers_manager import ProvidersManager

        ProvidersManager().initialize_providers_configuration()
        ensure_pools(pools or [])
        dags.update(load_dags())
        return "success"

    if attempt(DAG_BAG_STEP, "", load) != "success":
        return False
    for planned in plan:
        if attempt(planned.step, planned.dag_id, lambda planned=planned: run_one(dags, planned)) != "success":
            return False
    return True


def parse_plan(text: str) -> list[PlannedRun]:
    return [PlannedRun(step=item.get("step") or item["dag_id"], dag_id=item["dag_id"],
                       logical_date=item["logical_date"], conf=item.get("conf") or {})
            for item in json.loads(text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True, help="JSON list of {step, dag_id, logical_date, conf}")
    parser.add_argument("--log-dir", required=True, type=Path)
    parser.add_argument("--pool", action="append", default=[], help="NAME:SLOTS[:DESCRIPTION], created first")
    args = parser.parse_args(argv)
    plan = parse_plan(args.plan)
    try:
        pools = [PoolSpec.parse(text) for text in args.pool]
    except ValueError as exc:
        parser.error(str(exc))
    # Progress goes to the descriptor stdout had at start; runs write their own output into their logs.
    progress = os.fdopen(os.dup(1), "w")
    return 0 if run_plan(plan, args.log_dir, progress, pools) else 1


if __name__ == "__main__":
    raise SystemExit(main())
