"""A throwaway PostgreSQL cluster on a free loopback port, for the adapter-parity test.

Uses the Debian server binaries (``scripts/setup-os.sh`` installs them). PostgreSQL refuses to run as root, so
when the tests run as root the server runs as the `postgres` system user through runuser.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2
from os_packages import postgresql_bin_dir

from narrowcast.local_ports import free_port

SERVER_USER = "postgres"
DATABASE = "narrowcast"
ROLE = "narrowcast"

# DuckDB column types of the raw contract -> PostgreSQL types.
_TYPE_MAP = {"VARCHAR": "text", "DOUBLE": "double precision", "BIGINT": "bigint", "INTEGER": "integer",
             "BOOLEAN": "boolean", "TIMESTAMP": "timestamp", "DATE": "date"}


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    dbname: str

    def env(self) -> dict[str, str]:
        """The NARROWCAST_PG_* variables profiles.yml reads for the postgres target."""
        return {"NARROWCAST_PG_HOST": self.host, "NARROWCAST_PG_PORT": str(self.port), "NARROWCAST_PG_USER": self.user,
                "NARROWCAST_PG_PASSWORD": "", "NARROWCAST_PG_DBNAME": self.dbname, "NARROWCAST_PG_SCHEMA": "main"}

    def connect(self) -> psycopg2.extensions.connection:
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=self.dbname)


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", SERVER_USER, "--", *args]


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """Start initdb + pg_ctl in a temp dir (trust auth, loopback only); stop and delete it afterwards."""
    bin_dir = postgresql_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="narrowcast-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SERVER_USER)
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    try:
        subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust",
                                        "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
        subprocess.run(_as_server_user([
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60",
            "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        ]), check=True, capture_output=True)
        cluster = Cluster("127.0.0.1", port, ROLE, DATABASE)
        for _ in range(50):
            try:
                admin = psycopg2.connect(host=cluster.host, port=port, user=ROLE, dbname="postgres")
                break
            except psycopg2.OperationalError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"PostgreSQL on port {port} did not accept connections; see {root / 'server.log'}")
        admin.autocommit = True
        admin.cursor().execute(f"create database {DATABASE}")
        admin.close()
        yield cluster
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                           check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def copy_schema(source: Path, cluster: Cluster, schema: str = "raw") -> list[str]:
    """Copy every table of ``schema`` from a DuckDB file into PostgreSQL (CSV through COPY); return the names."""
    copied = []
    with duckdb.connect(str(source), read_only=True) as duck, cluster.connect() as pg, pg.cursor() as cur:
        cur.execute(f"create schema if not exists {schema}")
        tables = [row[0] for row in duck.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]).fetchall()]
        for table in tables:
            cols = duck.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]).fetchall()
            ddl = ", ".join(f'"{name}" {_pg_type(kind)}' for name, kind in cols)
            cur.execute(f'drop table if exists {schema}."{table}"')
            cur.execute(f'create table {schema}."{table}" ({ddl})')
            with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
                duck.execute(f"copy {schema}.\"{table}\" to '{handle.name}' (header, format csv)")
                with open(handle.name, encoding="utf-8") as csv_file:
                    cur.copy_expert(f'copy {schema}."{table}" from stdin with (format csv, header)', csv_file)
            copied.append(table)
        pg.commit()
    return copied


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    if duckdb_type not in _TYPE_MAP:
        raise ValueError(f"no PostgreSQL type for DuckDB type {duckdb_type!r}: add it to _TYPE_MAP")
    return _TYPE_MAP[duckdb_type]
