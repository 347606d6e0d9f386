"""Command line: ``python -m narrowcast.activation run <sync_id> | --group <g> [--dry-run]`` (and ``list``).

Connections come from ``AIRFLOW_CONN_<CONN_ID>`` environment variables (URI or JSON form), exactly as the
Airflow tasks receive them, so a sync can be run or planned by hand outside Airflow.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from narrowcast.activation.engine import run_group, run_sync
from narrowcast.activation.report import SyncFailed
from narrowcast.activation.spec import SyncConfigError, load_syncs
from narrowcast.contracts.connections import Connection

PREFIX = "AIRFLOW_CONN_"


def connections_from_env(environ: dict[str, str] | None = None) -> dict[str, Connection]:
    env = os.environ if environ is None else environ
    found = {}
    for name, uri in env.items():
        if name.startswith(PREFIX) and uri:
            conn_id = name[len(PREFIX):].lower()
            found[conn_id] = Connection.from_uri(conn_id, uri)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m narrowcast.activation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or plan) one sync or a schedule group")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("sync_id", nargs="?")
    target.add_argument("--group", choices=("audiences", "inventory"))
    run.add_argument("--dry-run", action="store_true", help="plan and report, send nothing")
    run.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: settings)")
    run.add_argument("--syncs", type=Path, default=None, help="sync declarations folder (default include/syncs)")
    listing = sub.add_parser("list", help="list declared syncs")
    listing.add_argument("--syncs", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        if args.command == "list":
            for spec in load_syncs(args.syncs):
                print(f"{spec.id:40s} {spec.schedule:10s} {spec.mode:9s} {spec.model} -> {spec.destination}/{spec.object}")
            return 0
        conns = connections_from_env()
        if args.group:
            reports = run_group(args.group, connections=conns, warehouse=args.warehouse, dry_run=args.dry_run,
                                syncs_dir=args.syncs)
        else:
            reports = [run_sync(args.sync_id, connections=conns, warehouse=args.warehouse, dry_run=args.dry_run,
                                syncs_dir=args.syncs)]
    except (SyncFailed, SyncConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for report in reports:
        print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
