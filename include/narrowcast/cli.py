"""``narrowcast`` command line: one entry point delegating to each part's own CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from narrowcast import settings
from narrowcast.local_ports import port_in_use
from narrowcast.runtime import airflow_env

USAGE = """usage: narrowcast <command> [args]

commands:
  generate   generate the synthetic shop (narrowcast generate --help)
  sandbox    serve the API emulators on loopback
  extract    extract one source for a window (narrowcast extract --help)
  sync       run activation syncs (narrowcast sync --help)
  demo       run the whole pipeline on demo data through Airflow
  manifest   write the dbt manifest Cosmos renders the transform DAG from
  docs       generate and serve dbt docs on port 8081
  ui         start the Airflow UI (standalone) with the sandbox connections
  doctor     check every connection: reachable, authenticated, API version and token still valid
"""

DBT_DIR = settings.PROJECT_ROOT / "dbt_project"


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _dbt(args: list[str], env: dict[str, str]) -> int:
    return subprocess.call([_bin("dbt"), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)],
                           env=env)


def _port_free_or_exit(port: int, what: str) -> None:
    if port_in_use("127.0.0.1", port):
        print(f"error: port {port} is already in use, so {what} cannot start; stop the process using it "
              f"(`lsof -i :{port}`) and retry", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    env = airflow_env()
    if command == "generate":
        from narrowcast.datagen.cli import main as generate

        return generate(rest)
    if command == "sandbox":
        # A separate process: the package reaches the emulators only over HTTP.
        return subprocess.call([sys.executable, "-m", "narrowcast.sandbox.server", *rest], env=env)
    if command == "extract":
        from narrowcast.extract import main as extract

        return extract(rest)
    if command == "sync":
        from narrowcast.activation.cli import main as sync

        return sync(rest)
    if command == "doctor":
        from narrowcast.doctor import main as doctor

        return doctor(rest, env)
    if command == "demo":
        from narrowcast.demo import main as demo

        return demo(rest)
    if command == "manifest":
        Path(env["NARROWCAST_WAREHOUSE"]).parent.mkdir(parents=True, exist_ok=True)
        return _dbt(["parse"], env)
    if command == "docs":
        settings.require_data_dir()
        code = _dbt(["docs", "generate"], env)
        if code:
            return code
        _port_free_or_exit(8081, "dbt docs")
        return _dbt(["docs", "serve", "--port", "8081", "--host", "127.0.0.1", "--no-browser"], env)
    if command == "ui":
        _port_free_or_exit(8080, "the Airflow UI")
        Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
        subprocess.call([_bin("airflow"), "db", "migrate"], env=env, stdout=subprocess.DEVNULL)
        subprocess.call([_bin("airflow"), "pools", "set", "narrowcast_warehouse", "1", "DuckDB single writer"],
                        env=env, stdout=subprocess.DEVNULL)
        print("Airflow UI on http://localhost:8080 (user admin / admin). Start the sandbox in another shell "
              "with `make sandbox` so the connections answer.")
        os.execve(_bin("airflow"), [_bin("airflow"), "standalone"], env)
    print(f"error: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
