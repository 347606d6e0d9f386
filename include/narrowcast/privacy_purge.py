"""``narrowcast privacy purge``: the purge of :mod:`narrowcast.privacy` over every declared table, run by the inbox
DAG after each load and by hand.

It wires what the privacy package must not import (the source registry imports the loader, which calls the
privacy package): the registry's table declarations, the data directory's landing zone and, when a Klaviyo
connection is configured, the deletion of the person's Klaviyo profiles before their e-mail is erased here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from narrowcast import settings
from narrowcast.activation.destinations.klaviyo import request_profile_deletion
from narrowcast.apis.klaviyo import CONNECTION_ID as KLAVIYO_CONNECTION
from narrowcast.apis.klaviyo import KlaviyoApi
from narrowcast.contracts.connections import Connection, connections_from_env
from narrowcast.privacy.purge import PurgeReport, purge_deleted
from narrowcast.sources.registry import ENTITIES
from narrowcast.warehouse import connect


def run_purge(
    *, warehouse: Path | None = None, data_dir: Path | None = None, klaviyo: Connection | None = None
) -> PurgeReport:
    """Purge everyone with a delete request; ``klaviyo`` defaults to ``AIRFLOW_CONN_NARROWCAST_KLAVIYO`` if set."""
    paths = settings.Paths(Path(data_dir)) if data_dir else settings.paths()
    klaviyo = klaviyo or connections_from_env().get(KLAVIYO_CONNECTION)

    def delete_klaviyo_profiles(emails: list[str]) -> None:
        if klaviyo is None:
            return
        client = KlaviyoApi.from_connection(klaviyo)
        for email in emails:
            request_profile_deletion(client, email=email)

    with connect(warehouse) as wh:
        return purge_deleted(wh, ENTITIES.values(), paths.landing, before_erasure=delete_klaviyo_profiles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="narrowcast privacy", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["purge"])
    parser.add_argument("--data-dir", type=Path, default=None, help="default $NARROWCAST_DATA_DIR")
    parser.add_argument("--warehouse", type=Path, default=None, help="default $NARROWCAST_WAREHOUSE")
    args = parser.parse_args(argv)
    report = run_purge(warehouse=args.warehouse, data_dir=args.data_dir)
    rows = sum(t.rows_blanked for t in report.tables.values())
    files = sum(t.files_rewritten for t in report.tables.values())
    print(f"privacy purge: {report.new_identifiers} new identifier(s) erased; {rows} row(s) blanked, "
          f"{files} landed file(s) rewritten")
    return 0
