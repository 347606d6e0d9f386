"""The local runtime: the environment Airflow, dbt and the sandbox run with, and how their servers are stopped.

``make demo``, ``make ui`` and the end-to-end tests all build their environment here, so the Airflow home,
folders, telemetry switches and the default (sandbox) connections are defined once; ``make ui``, ``make docs``
and ``make sandbox`` run their server through :func:`run_until_stopped`, so stopping one leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from narrowcast import settings
from narrowcast.local_credentials import (
    LOCAL_API_TOKEN,
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
    LOCAL_UI_PASSWORD,
    LOCAL_UI_USER,
)
from narrowcast.privacy.subjects import local_salt

if TYPE_CHECKING:
    import psutil

TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__CORE__ALLOW_TELEMETRY": "False",
}

# Extra fields of each sandbox connection; the same keys a user fills in for the real service.
SANDBOX_CONNECTIONS: dict[str, tuple[str, dict[str, object]]] = {
    "narrowcast_shopify": ("shopify", {"api_version": "2026-10", "location_id": "1"}),
    "narrowcast_meta": ("meta", {"api_version": "v27.0", "ad_account_id": "act_1048576200001"}),
    "narrowcast_google_ads": (
        "google_ads",
        {"api_version": "v26", "developer_token": "sandbox-developer-token", "customer_id": "4815162342",
         "login_customer_id": "4815162342"},
    ),
    "narrowcast_ebay": ("ebay", {"marketplace_id": "EBAY_DE"}),
    "narrowcast_amazon": ("amazon", {"marketplace_ids": "A1PA6795UKMFR9,A13V1IB3VIYZZH,A1F83G8C2ARO7P,APJ6JRA9NG5V4,A1RKKUPIHCS9HS",
                           "marketplace_id": "A1PA6795UKMFR9", "seller_id": "A2SANDBOXSELLER"}),
    "narrowcast_klaviyo": ("klaviyo", {"revision": "2026-10-15"}),
    "narrowcast_google_data_manager": ("data_manager", {"api_version": "v1"}),
    "narrowcast_ecb": ("ecb", {}),
    "narrowcast_etsy": ("etsy", {"shop_id": "27182818"}),
}

# The APIs whose real access tokens expire within hours authenticate with a refresh-token grant, against the
# sandbox's token endpoint for that vendor, exactly as a deployment does against the real one.
SANDBOX_TOKEN_ENDPOINTS = {
    "narrowcast_amazon": "oauth/amazon/auth/o2/token",
    "narrowcast_ebay": "oauth/ebay/identity/v1/oauth2/token",
    "narrowcast_google_ads": "oauth/google/token",
    "narrowcast_google_data_manager": "oauth/google/token",
    "narrowcast_etsy": "etsy/v3/public/oauth/token",
}


# Executor workers import the task modules once, before they fork task processes
# (``narrowcast_airflow.worker_preload``): the LocalExecutor's workers through the scheduler's forkserver, which
# leaves the scheduler process itself as it was; a Celery worker through its Celery configuration's ``imports``.
LOCAL_EXECUTOR_PRELOAD = {
    "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
    "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": "narrowcast_airflow.worker_preload",
}
CELERY_WORKER_PRELOAD = {"AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "narrowcast_airflow.celery_config.CELERY_CONFIG"}


def sandbox_url() -> str:
    return f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"


def sandbox_connection_json(conn_id: str, base_url: str | None = None) -> str:
    """The ``AIRFLOW_CONN_*`` value (Airflow's JSON form) pointing ``conn_id`` at the sandbox."""
    prefix, extra = SANDBOX_CONNECTIONS[conn_id]
    base = base_url or sandbox_url()
    if conn_id in SANDBOX_TOKEN_ENDPOINTS:
        return json.dumps({
            "conn_type": "http", "host": f"{base}/{prefix}", "login": LOCAL_CLIENT_ID, "password": LOCAL_CLIENT_SECRET,
            "extra": {**extra, "refresh_token": LOCAL_REFRESH_TOKEN,
                      "token_url": f"{base}/{SANDBOX_TOKEN_ENDPOINTS[conn_id]}"},
        })
    return json.dumps({"conn_type": "http", "host": f"{base}/{prefix}", "password": LOCAL_API_TOKEN, "extra": extra})


def airflow_env(
    base: Mapping[str, str] | None = None,
    *,
    airflow_home: Path | None = None,
    data_dir: Path | None = None,
    sandbox: str | None = None,
) -> dict[str, str]:
    """Environment for every Airflow/dbt process of the local runtime.

    Values already set in ``base`` win (a user's real ``AIRFLOW_CONN_*`` is never overwritten).
    """
    env = dict(os.environ if base is None else base)
    root = settings.PROJECT_ROOT
    defaults = {
        "AIRFLOW_HOME": str(airflow_home or root / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "NARROWCAST_DATA_DIR": str(data_dir or settings.data_dir()),
        "NARROWCAST_DBT_PROJECT_DIR": str(root / "dbt_project"),
        "NARROWCAST_RETRY_DELAY_SECONDS": "5",
        "DBT_PROFILES_DIR": str(root / "dbt_project"),
        **TELEMETRY_OFF,
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    # Cosmos keeps dbt's partial-parse state between runs; its default, one /tmp folder for every project on the
    # machine, lets another checkout's parse (another warehouse path) force a full parse here.
    env.setdefault("AIRFLOW__COSMOS__CACHE_DIR", str(Path(env["AIRFLOW_HOME"]) / "cosmos"))
    env["NARROWCAST_WAREHOUSE"] = env.get("NARROWCAST_WAREHOUSE") or str(
        Path(env["NARROWCAST_DATA_DIR"]) / "warehouse" / "narrowcast.duckdb"
    )
    # One setting moves every stage: the dbt target follows the warehouse engine unless set on its own.
    env["NARROWCAST_DBT_TARGET"] = (env.get("NARROWCAST_DBT_TARGET") or env.get("NARROWCAST_WAREHOUSE_ENGINE")
                                    or "duckdb").strip().lower()
    env["NARROWCAST_ERASURE_SALT"] = env.get("NARROWCAST_ERASURE_SALT") or local_salt(Path(env["NARROWCAST_DATA_DIR"]))
    # Airflow starts its components as `airflow ...` looked up on PATH: this interpreter's environment first.
    scripts = str(Path(sys.executable).parent)
    if scripts not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join(p for p in (scripts, env.get("PATH", "")) if p)
    include = str(root / "include")
    if include not in env.get("PYTHONPATH", "").split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (include, env.get("PYTHONPATH", "")) if p)
    for conn_id in SANDBOX_CONNECTIONS:
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        if not env.get(key):
            env[key] = sandbox_connection_json(conn_id, sandbox)
    return env


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the host's total, inside containers and CI)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def ui_env(base: Mapping[str, str], port: int) -> dict[str, str]:
    """``airflow standalone`` settings on top of :func:`airflow_env`: loopback only, sized to the machine, its
    LocalExecutor's workers pre-importing the task modules (:data:`LOCAL_EXECUTOR_PRELOAD`).

    The simple auth manager reads its passwords from a file; the local login is fixed there (see
    :func:`write_ui_login`) so the README's ``admin`` / ``admin`` works, which is safe only because the
    api-server listens on loopback. Values already set in ``base`` win.
    """
    env = dict(base)
    home = Path(env["AIRFLOW_HOME"])
    defaults = {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # One async api-server process serves one local user; Airflow's default starts four.
        "AIRFLOW__API__WORKERS": "1",
        # LocalExecutor starts one worker process per parallelism slot: one per CPU, not Airflow's 32.
        "AIRFLOW__CORE__PARALLELISM": str(max(2, cpu_count())),
        **LOCAL_EXECUTOR_PRELOAD,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{LOCAL_UI_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "simple_auth_manager_passwords.json"),
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    # Airflow ships the connection "Test" button off: it lets anyone allowed to edit connections make the api-server
    # run hook code against a host of their choosing. Served on loopback to the one local user, who already holds every
    # credential in this environment, there is no one to guard against; on any other host Airflow's default stays.
    if env["AIRFLOW__API__HOST"] in ("127.0.0.1", "localhost", "::1"):
        env.setdefault("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    return env


def write_ui_login(env: Mapping[str, str]) -> bool:
    """Put the local login's password into the simple auth manager's passwords file; False when the user
    configured their own users (then their passwords are theirs to manage)."""
    if env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS") != f"{LOCAL_UI_USER}:admin":
        return False
    path = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        passwords = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        passwords = {}  # an empty or half-written file: the manager would regenerate it anyway
    if not isinstance(passwords, dict):
        passwords = {}
    passwords[LOCAL_UI_USER] = LOCAL_UI_PASSWORD
    path.write_text(json.dumps(passwords) + "\n")
    path.chmod(0o600)
    return True


def run_until_stopped(command: Sequence[str], env: Mapping[str, str], *, grace_seconds: float = 30.0) -> int:
    """Run a local server in its own session until it exits or this process receives SIGINT or SIGTERM.

    Either way every process of that session (and any that left it) is then stopped: SIGTERM, up to
    ``grace_seconds`` to exit, SIGKILL for what is left. ``airflow standalone`` alone would leave its
    scheduler and executor workers running. Returns the server's exit status, or 0 when it was asked to stop.
    """
    stop_requested: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    proc = subprocess.Popen(list(command), env=dict(env), start_new_session=True)
    try:
        while proc.poll() is None and not stop_requested:
            time.sleep(0.2)
    finally:
        stop_session(proc.pid, grace_seconds)
        proc.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stop_requested else proc.returncode


def session_processes(session_id: int) -> list[psutil.Process]:
    """Live processes of a session, plus their descendants that started sessions of their own."""
    import psutil  # Airflow's dependency, so present wherever the servers run; the package core stays lean.

    members: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == session_id and _alive(proc):
                members[proc.pid] = proc
        except (ProcessLookupError, PermissionError):
            continue
    for proc in list(members.values()):
        try:
            members.update((c.pid, c) for c in proc.children(recursive=True) if _alive(c))
        except psutil.Error:
            continue
    return list(members.values())


def _alive(proc: psutil.Process) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_session(session_id: int, grace_seconds: float = 30.0) -> None:
    """SIGTERM every process of the session, wait up to ``grace_seconds``, then SIGKILL what is left."""
    import psutil

    deadline = time.monotonic() + grace_seconds
    # Remembered across rounds: a descendant that left the session is found only while its parent lives.
    tracked: dict[int, psutil.Process] = {}
    terminated: set[int] = set()
    while True:
        tracked.update((p.pid, p) for p in session_processes(session_id))
        alive = [p for p in tracked.values() if _alive(p)]
        if not alive:
            return
        if time.monotonic() > deadline + 10:
            print(f"warning: processes {[p.pid for p in alive]} survived SIGKILL", file=sys.stderr)
            return
        killing = time.monotonic() > deadline
        for proc in alive:
            # A process forked during shutdown gets its own SIGTERM; past the grace period everyone gets SIGKILL.
            if killing or proc.pid not in terminated:
                with contextlib.suppress(psutil.Error):
                    proc.send_signal(signal.SIGKILL if killing else signal.SIGTERM)
                terminated.add(proc.pid)
        time.sleep(0.2)
