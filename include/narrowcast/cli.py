"""``narrowcast`` command line: one entry point delegating to each part's own CLI.

The local servers (``sandbox``, ``docs``, ``ui``) listen on loopback, run in their own session and stop with
everything they started on Ctrl-C or SIGTERM (:func:`narrowcast.runtime.run_until_stopped`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from narrowcast import demo, settings
from narrowcast.local_credentials import LOCAL_UI_PASSWORD, LOCAL_UI_USER
from narrowcast.local_ports import port_in_use
from narrowcast.runtime import airflow_env, run_until_stopped, ui_env, write_ui_login

USAGE = """usage: narrowcast <command> [args]

commands:
  generate   generate the synthetic shop (narrowcast generate --help)
  sandbox    serve the API emulators on 127.0.0.1 [--port, default $NARROWCAST_SANDBOX_PORT or 8765]
  extract    extract one source for a window (narrowcast extract --help)
  sync       list, run or dry-run activation syncs (narrowcast sync --help)
  demo       run the whole pipeline on demo data through Airflow
  manifest   write the dbt manifest Cosmos renders the transform DAG from
  docs       generate and serve dbt docs [--port, default $NARROWCAST_DOCS_PORT or 8081]
  ui         start the Airflow UI (standalone) with the sandbox connections [--port, default
             $NARROWCAST_UI_PORT or 8080]; sign in as admin / admin
  doctor     check every connection: reachable, authenticated, API version and token still valid
  privacy    privacy purge: erase everyone with a delete request (raw tables, landing files, quarantine)
  serve      Shopify webhook receiver, profile read API, profile snapshot, API keys (narrowcast serve --help)
"""

DBT_DIR = settings.PROJECT_ROOT / "dbt_project"
EXIT_USAGE = 2


class CommandError(RuntimeError):
    """A command cannot start; the message says why and what to do."""


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _dbt(*args: str) -> list[str]:
    return [_bin("dbt"), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]


def _require_free_port(port: int, what: str) -> None:
    if port_in_use("127.0.0.1", port):
        raise CommandError(f"port {port} is already in use, so {what} cannot start; stop the process using it "
                           f"(`lsof -i :{port}`) or pass another --port")


def _port(prog: str, args: list[str], default: int, variable: str) -> int:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--port", type=int, default=default, help=f"loopback port (default: ${variable} or {default})")
    return parser.parse_args(args).port


def docs(args: list[str], env: dict[str, str]) -> int:
    """dbt docs of the built warehouse, served on loopback until stopped."""
    port = _port("narrowcast docs", args, settings.DOCS_PORT, "NARROWCAST_DOCS_PORT")
    settings.require_data_dir()
    if not Path(env["NARROWCAST_WAREHOUSE"]).is_file():
        raise CommandError(f"warehouse {env['NARROWCAST_WAREHOUSE']} does not exist: run `make demo` first, "
                           "so the docs have tables to describe")
    _require_free_port(port, "dbt docs")
    code = subprocess.call(_dbt("docs", "generate"), env=env)
    if code:
        return code
    print(f"dbt docs on http://localhost:{port} (Ctrl-C stops them)", flush=True)
    return run_until_stopped(_dbt("docs", "serve", "--port", str(port), "--host", "127.0.0.1", "--no-browser"), env,
                             grace_seconds=10)


def ui(args: list[str], env: dict[str, str]) -> int:
    """``airflow standalone`` on the project's DAGs and plugins with the local login, until stopped."""
    port = _port("narrowcast ui", args, settings.UI_PORT, "NARROWCAST_UI_PORT")
    _require_free_port(port, "the Airflow UI")
    env = ui_env(env, port)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    login = (f"sign in as {LOCAL_UI_USER} / {LOCAL_UI_PASSWORD}" if write_ui_login(env)
             else "sign in with the users and passwords you configured for the simple auth manager")
    demo.ensure_airflow(env, Path(env["AIRFLOW_HOME"]) / "logs" / "setup")
    print(f"Airflow UI on http://localhost:{port} ({login}); it is ready when the log says "
          "'Airflow is ready'. Ctrl-C stops every Airflow process. Start the sandbox in another shell with "
          "`make sandbox` so the connections answer.", flush=True)
    return run_until_stopped([_bin("airflow"), "standalone"], env)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    env = airflow_env()
    try:
        if command == "generate":
            from narrowcast.datagen.cli import main as generate

            return generate(rest)
        if command == "sandbox":
            # A separate process: the package reaches the emulators only over HTTP.
            return run_until_stopped([sys.executable, "-m", "narrowcast.sandbox.server", *rest], env,
                                     grace_seconds=10)
        if command == "extract":
            from narrowcast.extract import main as extract

            return extract(rest)
        if command == "sync":
            from narrowcast.activation.__main__ import main as sync

            return sync(rest, prog="narrowcast sync")
        if command == "doctor":
            from narrowcast.doctor import main as doctor

            return doctor(rest, env)
        if command == "privacy":
            from narrowcast.privacy_purge import main as privacy

            # By hand on the local runtime, the same salt its Airflow tasks use (a deployment's own wins).
            os.environ.setdefault("NARROWCAST_ERASURE_SALT", env["NARROWCAST_ERASURE_SALT"])
            return privacy(rest)
        if command == "serve":
            from narrowcast.serve.cli import main as serve

            return serve(rest)
        if command == "demo":
            return demo.main(rest)
        if command == "manifest":
            Path(env["NARROWCAST_WAREHOUSE"]).parent.mkdir(parents=True, exist_ok=True)
            return subprocess.call(_dbt("parse"), env=env)
        if command == "docs":
            return docs(rest, env)
        if command == "ui":
            return ui(rest, env)
    except (CommandError, settings.ConfigError, demo.DemoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C during a setup step (migration, dbt docs generate): the step got it too and stopped.
        print("interrupted", file=sys.stderr)
        return 130
    print(f"error: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
