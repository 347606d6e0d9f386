"""Command line for syncs: ``narrowcast sync list`` and ``narrowcast sync run <sync_id> | --group <g> [--dry-run]``.

``--confirm-removals`` lets a mirror run remove more than its ``max_remove_share`` of the members (refused otherwise).
A group run skips (and names) each sync whose destination connection is not set; a single sync needs its connection.

Also ``python -m narrowcast.activation``. Connections come from ``AIRFLOW_CONN_<CONN_ID>`` environment variables
(URI or JSON form), exactly as the Airflow tasks receive them, so a sync can be run or planned by hand outside
Airflow. Exit status: 0 done, 1 the sync failed or could not run, 2 wrong usage or configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from pathlib import Path

from narrowcast import settings
from narrowcast.activation.engine import resolve, run_group, run_sync
from narrowcast.activation.report import SyncFailed
from narrowcast.activation.spec import SyncConfigError, SyncSpec, read_syncs
from narrowcast.contracts.connections import (
    Connection,
    ConnectionNotUsable,
    connection_variable,
    connections_from_env,
)
from narrowcast.contracts.redaction import redact
from narrowcast.sources.enabled import not_connected
from narrowcast.warehouse import STATEMENT_ERRORS

EXIT_FAILED, EXIT_USAGE = 1, 2


def _require_connections(specs: list[SyncSpec], connections: Mapping[str, Connection]) -> None:
    missing = sorted({s.connection for s in specs if s.connection not in connections})
    if missing:
        needed = ", ".join(connection_variable(c) for c in missing)
        raise ConnectionNotUsable(f"set {needed} (an Airflow connection URI or JSON) to run this sync; "
                                  "`--dry-run` plans without any connection")


def _selected(args: argparse.Namespace) -> list[SyncSpec]:
    """The valid syncs the run covers; a group's invalid declarations are reported by the group run itself."""
    if args.group:
        chosen, invalid = read_syncs(args.syncs).in_group(args.group)
        if not chosen and not invalid:
            raise SyncConfigError(f"no enabled sync has schedule {args.group!r}")
        return chosen
    try:
        return [resolve(args.sync_id, args.syncs)]
    except SyncFailed as exc:
        raise SyncFailed(f"{exc} (`narrowcast sync list` shows them)") from exc


def _list(syncs_dir: Path | None) -> None:
    declarations = read_syncs(syncs_dir)
    print(f"{'sync':40s} {'schedule':10s} {'mode':9s} model -> destination/object")
    for spec in declarations.specs:
        disabled = "  (disabled)" if not spec.enabled else ""
        print(f"{spec.id:40s} {spec.schedule:10s} {spec.mode:9s} {spec.model} -> {spec.destination}/{spec.object}"
              f"{disabled}")
    for invalid in declarations.invalid:
        print(f"{invalid.id:40s} {invalid.schedule or '?':10s} {'-':9s} invalid, not run: {invalid.error}")


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0],
                                     epilog="Connections: AIRFLOW_CONN_<CONN_ID> (URI or JSON), e.g. "
                                            "AIRFLOW_CONN_NARROWCAST_META for connection narrowcast_meta.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or plan, with --dry-run) one sync or a schedule group")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("sync_id", nargs="?", help="the sync's id (its YAML file name)")
    target.add_argument("--group", choices=("audiences", "inventory"), help="every enabled sync of this schedule")
    run.add_argument("--dry-run", action="store_true", help="plan and report adds/changes/removes; send nothing")
    run.add_argument("--confirm-removals", action="store_true",
                     help="let mirror syncs remove more than their max_remove_share of the current members")
    run.add_argument("--warehouse", type=Path, default=None,
                     help="DuckDB file (default: $NARROWCAST_WAREHOUSE or $NARROWCAST_DATA_DIR/warehouse)")
    run.add_argument("--syncs", type=Path, default=None, help="sync declarations folder (default include/syncs)")
    run.add_argument("-v", "--verbose", action="store_true", help="log each step (retries, batches), redacted")
    listing = sub.add_parser("list", help="list declared syncs")
    listing.add_argument("--syncs", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m narrowcast.activation") -> int:
    args = _parser(prog).parse_args(argv)
    # The summary goes to stdout; the engine's own lines repeat it unless asked for.
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "list":
            _list(args.syncs)
            return 0
        specs = _selected(args)
        connections = connections_from_env()
        unconnected: list[SyncSpec] = []
        if args.group and not args.dry_run:
            # A merchant without a destination: the group's syncs for it are skipped with the fix, the others run.
            unconnected = [s for s in specs if s.connection not in connections]
        elif not args.dry_run:
            _require_connections(specs, connections)
        warehouse = args.warehouse or settings.paths().warehouse
        if not warehouse.is_file():
            # The engine would create an empty file here and then fail on the missing model.
            raise SyncConfigError(f"warehouse {warehouse} does not exist: run `make demo` (or dbt build) first, "
                                  "or point --warehouse / NARROWCAST_WAREHOUSE at it")
        for spec in unconnected:
            print(f"skipped: {not_connected(f'sync {spec.id}: destination {spec.destination}', spec.connection)}")
        if args.group:
            reports = run_group(args.group, connections=connections, warehouse=warehouse, dry_run=args.dry_run,
                                syncs_dir=args.syncs, confirm_removals=args.confirm_removals,
                                exclude={s.id for s in unconnected})
        else:
            reports = [run_sync(specs[0], connections=connections, warehouse=warehouse, dry_run=args.dry_run,
                                confirm_removals=args.confirm_removals)]
    except (SyncConfigError, ConnectionNotUsable, settings.ConfigError) as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except (SyncFailed, *STATEMENT_ERRORS) as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    for report in reports:
        print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
