"""docker-compose.yml is a real deployment (official Airflow pattern); .env.example documents every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


AIRFLOW_SERVICES = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker", "airflow-init"]


def test_compose_has_every_service_of_the_official_celery_pattern(compose):
    assert set(AIRFLOW_SERVICES + ["postgres", "redis"]) <= set(compose["services"])


@pytest.mark.parametrize("service", [s for s in AIRFLOW_SERVICES if s != "airflow-init"] + ["postgres", "redis"])
def test_every_long_running_service_has_a_healthcheck(compose, service):
    assert compose["services"][service]["healthcheck"]["test"]


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_airflow_services_share_the_common_block(compose, service):
    svc = compose["services"][service]
    env = svc["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"
    mounts = {v.split(":")[1] for v in svc["volumes"]}
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include", "/opt/airflow/dbt_project"} <= mounts


def test_the_init_job_creates_the_single_writer_pool_and_the_manifest(compose):
    command = "\n".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in command
    assert "pools set narrowcast_warehouse 1" in command
    assert "dbt parse" in command


def test_the_image_installs_the_lock_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "apache/airflow:3.3.2" in dockerfile
    assert "-r /opt/narrowcast/requirements.txt" in dockerfile


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
