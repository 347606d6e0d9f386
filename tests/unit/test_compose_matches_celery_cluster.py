"""docker-compose.yml runs the deployment the loopback test starts (``tests/celery_deployment.py``): the same
services and commands, server versions, metadata DB, broker, result backend, pool, worker count and settings."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import celery_deployment as deployment
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_exactly_the_declared_services(compose):
    assert set(compose["services"]) == {"postgres", "redis", "airflow-init", *deployment.AIRFLOW_SERVICES}


@pytest.mark.parametrize("service", list(deployment.AIRFLOW_SERVICES))
def test_each_airflow_service_runs_the_declared_command(compose, service):
    assert shlex.split(compose["services"][service]["command"]) == deployment.AIRFLOW_SERVICES[service]


def test_the_servers_are_the_versions_the_test_starts(compose):
    assert compose["services"]["postgres"]["image"] == deployment.POSTGRES_IMAGE
    assert compose["services"]["redis"]["image"] == deployment.REDIS_IMAGE
    setup = (ROOT / "scripts" / "setup-os.sh").read_text()
    packages = re.search(r"^PACKAGES=\((.*)\)$", setup, re.MULTILINE)
    assert packages and {"postgresql", "redis-server"} <= set(packages.group(1).split())


def test_the_metadata_database_is_the_declared_one(compose):
    env = compose["services"]["postgres"]["environment"]
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == (
        deployment.METADATA_USER, deployment.METADATA_PASSWORD, deployment.METADATA_DB)


def test_the_worker_runs_as_many_replicas_as_the_test_starts(compose):
    assert compose["services"]["airflow-worker"]["deploy"]["replicas"] == deployment.WORKER_REPLICAS


def test_the_init_job_runs_the_declared_steps(compose):
    script = compose["services"]["airflow-init"]["command"][-1]
    steps = [words[1:] for words in map(shlex.split, script.splitlines()) if words and words[0] == "airflow"]
    assert steps == deployment.INIT_COMMANDS


@pytest.mark.parametrize("service", [*deployment.AIRFLOW_SERVICES, "airflow-init"])
def test_every_airflow_service_has_exactly_the_declared_settings(compose, service):
    env = {name: str(value) for name, value in compose["services"][service]["environment"].items()}
    shared = {name: value for name, value in env.items()
              if name not in deployment.SECRETS + deployment.DEPLOYMENT_LOCAL}
    # Compose's own variables for the image's entrypoint are not Airflow settings.
    shared.pop("DUMB_INIT_SETSID", None)
    assert shared == deployment.airflow_settings(deployment.Endpoints())
    for name in deployment.SECRETS:
        assert env[name].startswith(f"${{{name}:"), f"{service}: {name} must come from .env, not the file"


def test_the_loopback_tuning_changes_no_deployment_setting(compose):
    common = set(compose["x-airflow-common"]["environment"])
    assert not set(deployment.LOOPBACK_TUNING) & (common | set(deployment.airflow_settings(deployment.Endpoints())))


def test_the_settings_put_the_endpoints_where_each_client_reads_them():
    settings = deployment.airflow_settings(deployment.Endpoints("127.0.0.1", 15432, "127.0.0.1", 16379))
    assert settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://airflow:airflow@127.0.0.1:15432/airflow"
    assert settings["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://airflow:airflow@127.0.0.1:15432/airflow"
    assert settings["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@127.0.0.1:16379/0"
