"""docker-compose.yml and the Dockerfile make a real deployment (official Airflow pattern), checked without Docker.

What a Docker engine would reject or a container would trip over is checked against what is here instead: the
Compose spec's structure, the installed Airflow's CLI parser and configuration reference, dbt's CLI, the lock
file and the repository's folders. ``.env.example`` documents every variable.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTAINER_HOME = PurePosixPath("/opt/airflow")

AIRFLOW_SERVICES = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker", "airflow-init"]
LONG_RUNNING = [s for s in AIRFLOW_SERVICES if s != "airflow-init"] + ["postgres", "redis"]
# The Compose specification's top-level and service keys (compose-spec/schema/compose-spec.json).
COMPOSE_TOP_LEVEL = {"version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models"}
COMPOSE_SERVICE_KEYS = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent", "command",
    "configs", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
    "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec", "depends_on", "deploy", "develop",
    "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "env_file",
    "environment", "expose", "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck",
    "hostname", "image", "init", "ipc", "isolation", "labels", "links", "logging", "mac_address", "mem_limit",
    "mem_reservation", "mem_swappiness", "memswap_limit", "network_mode", "networks", "oom_kill_disable",
    "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start", "pre_stop", "privileged", "profiles",
    "pull_policy", "read_only", "restart", "runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open",
    "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "user", "userns_mode",
    "uts", "volumes", "volumes_from", "working_dir",
}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
DEPENDS_ON_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTART_POLICIES = {"no", "always", "on-failure", "unless-stopped"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
# Variables Python, dbt and telemetry libraries read; no Narrowcast or Airflow code does.
TOOL_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS", "DO_NOT_TRACK", "SCARF_NO_ANALYTICS", "PYTHONPATH", "DBT_PROFILES_DIR"}
# Variables only the official image's entrypoint reads: void on a service that replaces the entrypoint.
ENTRYPOINT_ENV = {"DUMB_INIT_SETSID", "_AIRFLOW_DB_MIGRATE", "_AIRFLOW_WWW_USER_CREATE", "_PIP_ADDITIONAL_REQUIREMENTS"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def airflow_cli():
    """The installed Airflow's own CLI parser (what ``airflow <command> --help`` prints from)."""
    from airflow.cli.cli_parser import get_parser

    return get_parser()


@pytest.fixture(scope="module")
def airflow_options() -> dict[str, set[str]]:
    """The installed Airflow's configuration reference: section -> option names (core and providers)."""
    from airflow.configuration import conf

    return {section: set(spec["options"]) for section, spec in conf.configuration_description.items()}


def parse_airflow_command(parser, args: list[str]) -> None:
    """Fail with the CLI's own message unless ``airflow <args>`` is a valid invocation."""
    try:
        parser.parse_args(args)
    except SystemExit as exc:
        pytest.fail(f"`airflow {shlex.join(args)}` is not a valid command of the installed Airflow (exit {exc.code})")


VOLUME = re.compile(r"^(?P<source>\$\{[^}]*\}|[^:]+):(?P<target>/[^:]*)(?::(?P<mode>[a-z,]+))?$")


def mounts(service: dict) -> dict[str, str]:
    """Container path -> host source of a service's volumes (short syntax, sources may be ``${VAR:-default}``)."""
    parsed = {}
    for volume in service.get("volumes", []):
        match = VOLUME.match(volume)
        assert match, f"{volume!r} is not a source:target[:mode] volume"
        parsed[match["target"]] = match["source"]
    return parsed


def in_container(path: str, service: dict) -> Path | None:
    """The repository path a container path maps to through a bind mount of a repository folder."""
    for target, source in mounts(service).items():
        if source.startswith("./") and (path == target or path.startswith(f"{target}/")):
            return ROOT / source / PurePosixPath(path).relative_to(target)
    return None


def script_lines(command: list[str] | str) -> list[list[str]]:
    """Each line of a ``bash -c`` script as words."""
    script = command[-1] if isinstance(command, list) else command
    return [shlex.split(line) for line in script.splitlines() if line.strip()]


def test_compose_has_every_service_of_the_official_celery_pattern(compose):
    assert set(AIRFLOW_SERVICES + ["postgres", "redis"]) <= set(compose["services"])


def test_compose_uses_only_keys_of_the_compose_spec(compose):
    assert set(compose) - COMPOSE_TOP_LEVEL <= {k for k in compose if k.startswith("x-")}, set(compose)
    for name, service in compose["services"].items():
        assert set(service) <= COMPOSE_SERVICE_KEYS, (name, set(service) - COMPOSE_SERVICE_KEYS)
        assert "image" in service or "build" in service, name
        assert service.get("restart", "no") in RESTART_POLICIES, name
        if "healthcheck" in service:
            assert set(service["healthcheck"]) <= HEALTHCHECK_KEYS, name
            for key in ("interval", "timeout", "start_period"):
                assert DURATION.match(service["healthcheck"].get(key, "1s")), (name, key)


def test_every_dependency_is_a_service_in_a_state_it_can_reach(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert spec["condition"] in DEPENDS_ON_CONDITIONS, (name, dependency)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency} to be healthy"
            if spec["condition"] == "service_completed_successfully":
                assert services[dependency].get("restart", "no") == "no", f"{dependency} must run once and exit"


def test_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for source in mounts(service).values():
            if not source.startswith((".", "/", "$")):
                assert source in declared, (name, source)


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_long_running_service_has_a_healthcheck(compose, service):
    test = compose["services"][service]["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, test


@pytest.mark.parametrize("service", ["postgres", "redis"])
def test_third_party_images_are_pinned(compose, service):
    assert re.fullmatch(r"[a-z0-9./-]+:[\w.-]+", compose["services"][service]["image"])
    assert not compose["services"][service]["image"].endswith(":latest")


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_airflow_services_share_the_common_block(compose, service):
    svc = compose["services"][service]
    env = svc["environment"]
    assert svc["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include", "/opt/airflow/dbt_project"} <= set(
        mounts(svc))


@pytest.mark.parametrize("service", [s for s in AIRFLOW_SERVICES if s not in ("airflow-init", "airflow-worker")])
def test_each_airflow_service_runs_a_command_of_the_installed_airflow(compose, airflow_cli, service):
    # The official image's entrypoint runs `airflow <command>`.
    parse_airflow_command(airflow_cli, shlex.split(compose["services"][service]["command"]))


def test_the_worker_runs_the_celery_worker_of_the_celery_executor(compose, airflow_cli):
    # `airflow celery` comes from the celery provider, which the lock pins (as the official image bundles it).
    worker = compose["services"]["airflow-worker"]
    parse_airflow_command(airflow_cli, shlex.split(worker["command"]))
    assert shlex.split(worker["command"]) == ["celery", "worker"]
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


@pytest.mark.parametrize("service", ["airflow-dag-processor", "airflow-triggerer"])
def test_job_healthchecks_are_valid_airflow_commands(compose, airflow_cli, service):
    words = shlex.split(compose["services"][service]["healthcheck"]["test"][1])
    assert words[0] == "airflow"
    parse_airflow_command(airflow_cli, words[1:])


def test_the_scheduler_healthcheck_asks_the_port_its_health_server_listens_on(compose, airflow_options):
    from airflow.configuration import conf

    scheduler = compose["services"]["airflow-scheduler"]
    assert scheduler["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    port = conf.get("scheduler", "scheduler_health_check_server_port")
    assert f"http://localhost:{port}/health" in scheduler["healthcheck"]["test"]


def test_the_api_server_healthcheck_asks_a_route_of_the_installed_api(compose):
    import airflow

    api = compose["services"]["airflow-apiserver"]
    (url,) = [word for word in api["healthcheck"]["test"] if word.startswith("http")]
    match = re.fullmatch(r"http://localhost:(\d+)(/api/v2/.+)", url)
    assert match, url
    assert match.group(1) in [str(port).rsplit(":", 1)[-1] for port in api["ports"]], "the checked port is not served"
    spec = Path(airflow.__file__).parent / "api_fastapi" / "core_api" / "openapi" / "v2-rest-api-generated.yaml"
    assert match.group(2) in yaml.safe_load(spec.read_text())["paths"], f"{match.group(2)} is not an API route"


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_every_airflow_setting_is_a_real_option_with_a_valid_value(compose, airflow_options, service):
    import importlib

    from airflow.executors.executor_constants import CORE_EXECUTOR_NAMES

    for name, value in compose["services"][service]["environment"].items():
        if not name.startswith("AIRFLOW__"):
            continue
        section, option = (part.lower() for part in name.removeprefix("AIRFLOW__").split("__", 1))
        if section == "cosmos":
            # Cosmos reads its settings with a fallback and does not declare them: check its source reads it.
            import cosmos.settings

            assert f'"cosmos", "{option}"' in Path(cosmos.settings.__file__).read_text(), name
        else:
            assert option in airflow_options.get(section, set()), f"{name} is not an option of the installed Airflow"
        if value in ("true", "false", "True", "False"):
            continue
        if name == "AIRFLOW__CORE__EXECUTOR":
            assert value in CORE_EXECUTOR_NAMES, value
        if name == "AIRFLOW__CORE__AUTH_MANAGER":
            module, _, cls = value.rpartition(".")
            assert hasattr(importlib.import_module(module), cls), value


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_every_other_variable_is_read_by_the_project_or_a_known_tool(compose, service):
    code = "\n".join(p.read_text() for folder in ("include", "dags", "plugins") for p in (ROOT / folder).rglob("*.py"))
    code += (ROOT / "dbt_project" / "profiles.yml").read_text()
    svc = compose["services"][service]
    for name in svc["environment"]:
        if name in ENTRYPOINT_ENV:
            assert "entrypoint" not in svc, f"{name} is read by the image's entrypoint, which {service} replaces"
        elif not name.startswith("AIRFLOW__") and name not in TOOL_ENV:
            assert name in code, f"{name} is set for {service} but nothing reads it"


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_container_paths_in_settings_are_mounted_project_folders(compose, service):
    svc = compose["services"][service]
    for name, value in svc["environment"].items():
        if str(value).startswith(f"{CONTAINER_HOME}/"):
            assert any(str(value) == t or str(value).startswith(f"{t}/") for t in mounts(svc)), (name, value)
            repo_path = in_container(str(value), svc)
            assert repo_path is None or repo_path.is_dir(), (name, value, repo_path)


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_bind_mounts_are_project_folders_or_ignored_local_state(compose, service):
    for source in mounts(compose["services"][service]).values():
        if not source.startswith(("./", "${")):
            continue
        local = source.split(":-", 1)[1].rstrip("}") if source.startswith("${") else source
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", local], cwd=ROOT, capture_output=True)
        ignored = subprocess.run(["git", "check-ignore", "-q", f"{local}/probe"], cwd=ROOT)
        assert ((ROOT / local).is_dir() and tracked.returncode == 0) or ignored.returncode == 0, (
            f"{source} is neither a project folder in git nor git-ignored local state")


def test_the_init_job_migrates_creates_the_single_writer_pool_and_parses_dbt(compose, airflow_cli):
    from dbt.cli.main import cli as dbt_cli

    init = compose["services"]["airflow-init"]
    lines = script_lines(init["command"])
    airflow_lines = [words[1:] for words in lines if words[0] == "airflow"]
    for args in airflow_lines:
        parse_airflow_command(airflow_cli, args)
    assert ["db", "migrate"] in airflow_lines
    assert any(args[:4] == ["pools", "set", "narrowcast_warehouse", "1"] for args in airflow_lines)
    (dbt,) = [words for words in lines if words[0] == "dbt"]
    assert dbt[1] == "parse"
    # dbt checks its --project-dir/--profiles-dir exist: give it the repository folders they are mounted from.
    args = [str(in_container(w, init) or w) if w.startswith(f"{CONTAINER_HOME}/") else w for w in dbt[2:]]
    context = dbt_cli.commands["parse"].make_context("parse", args)
    assert (Path(context.params["project_dir"]) / "dbt_project.yml").is_file()
    assert (Path(context.params["profiles_dir"]) / "profiles.yml").is_file()


def test_the_image_is_the_locked_airflow_on_the_projects_python(dockerfile):
    (base,) = re.findall(r"^FROM\s+apache/airflow:(\S+)-python(\d+\.\d+)\s*$", dockerfile, re.MULTILINE)
    locked = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert locked and base[0] == locked.group(1), f"image apache/airflow:{base[0]}, lock {locked and locked.group(1)}"
    major, minor = (int(n) for n in base[1].split("."))
    requires = re.search(r'requires-python = ">=3\.(\d+),<3\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert requires and major == 3 and int(requires.group(1)) <= minor < int(requires.group(2)), base[1]


def test_the_image_installs_the_lock_file_and_the_package_without_other_dependencies(dockerfile):
    copied = {}
    for sources, destination in re.findall(r"^COPY\s+(?:--\S+\s+)*(.+?)\s+(\S+)\s*$", dockerfile, re.MULTILINE):
        for source in sources.split():
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            copied[source] = destination.rstrip("/")
    installs = re.findall(r"pip install ([^\\&\n]+)", dockerfile)
    assert installs, "the image installs nothing"
    lock = f"{copied['requirements.txt']}/requirements.txt"
    package = copied["pyproject.toml"]
    for install in installs:
        words = [w for w in install.split() if w != "--no-cache-dir"]
        assert words in (["-r", lock], ["--no-deps", "-e", package]), f"pip install {install.strip()}"
    assert ["-r", lock] in [[w for w in i.split() if w != "--no-cache-dir"] for i in installs]


def test_the_images_pythonpath_is_the_mounted_include_folder(compose, dockerfile):
    (path,) = re.findall(r"PYTHONPATH=(\S+)", dockerfile)
    for service in AIRFLOW_SERVICES:
        svc = compose["services"][service]
        assert svc["environment"]["PYTHONPATH"] == path
        assert in_container(path, svc) == ROOT / "include"


def test_env_example_lists_every_connection_and_setting_the_code_reads():
    example = (ROOT / ".env.example").read_text()
    from narrowcast.runtime import SANDBOX_CONNECTIONS

    for conn_id in SANDBOX_CONNECTIONS:
        assert f"AIRFLOW_CONN_{conn_id.upper()}=" in example
    code = "\n".join(p.read_text() for p in (ROOT / "include").rglob("*.py"))
    for name in set(re.findall(r"\b(NARROWCAST_[A-Z_]+)\b", code)):
        assert name in example, f"{name} is read by the code but not documented in .env.example"


def test_the_lock_pins_every_dependency():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line and not line.startswith(("#", " "))]
    assert lines and all("==" in line for line in lines)
