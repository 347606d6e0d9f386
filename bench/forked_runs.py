"""Run a program's entry point several times, each in a process forked from one that prepared it first.

    python bench/forked_runs.py --import narrowcast.extract --prepare narrowcast.extract:prepare \
        --run narrowcast.extract:main --runs 3 -- shopify --start ... --end ...

What a run costs when a long-lived worker forks it, as Airflow's LocalExecutor and Celery workers fork every task
process on Linux: the imports (and whatever ``--prepare`` builds) are paid once, in the parent. Each run gets
``sys.argv = [module, *args]``; its output is discarded. Prints one JSON line per run: ``wall`` and ``cpu``
seconds (user + system of the forked process, from ``wait4``) and its exit ``status``. Standard library only, so
it runs in any virtualenv (``bench_vs_dlt.py`` uses it in the project's and in dlt's).

``--forkserver-preload MODULE`` forks the runs from a worker started the way Airflow's scheduler starts its
LocalExecutor workers under ``[scheduler] mp_start_method = forkserver`` and ``mp_forkserver_preload``: a
``multiprocessing`` forkserver imports the modules, a worker process forked from it forks each run; this process
imports nothing of the program.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import sys
import time


def resolve(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def fork_runs(run: str, args: list[str], runs: int) -> None:
    """Fork ``runs`` processes one after the other, each calling ``run``; print each one's figures."""
    entry = resolve(run)
    for _ in range(runs):
        sys.stdout.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            sys.argv = [run.partition(":")[0], *args]
            try:
                status = entry() or 0
            except BaseException:  # noqa: BLE001 - the exit status reports it
                status = 1
            sys.stdout.flush()
            os._exit(int(status))
        _, wait_status, usage = os.wait4(pid, 0)
        print(json.dumps({"wall": time.monotonic() - started, "cpu": usage.ru_utime + usage.ru_stime,
                          "status": os.waitstatus_to_exitcode(wait_status)}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import", dest="imports", action="append", default=[], help="module to import first")
    parser.add_argument("--prepare", action="append", default=[], help="module:function to call before forking")
    parser.add_argument("--forkserver-preload", action="append", default=[],
                        help="fork from a worker of a forkserver that imported this module")
    parser.add_argument("--run", required=True, help="module:function each forked process calls")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    for module in options.imports:
        importlib.import_module(module)
    for target in options.prepare:
        resolve(target)()
    if not options.forkserver_preload:
        fork_runs(options.run, options.args, options.runs)
        return 0
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(options.forkserver_preload)
    worker = context.Process(target=fork_runs, args=(options.run, options.args, options.runs))
    worker.start()
    worker.join()
    return worker.exitcode or 0


if __name__ == "__main__":
    raise SystemExit(main())
