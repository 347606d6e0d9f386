"""The local runtime's erasure salt: random, made once per data directory, readable by its owner only."""

from __future__ import annotations

from pathlib import Path

import pytest

from narrowcast.privacy.subjects import ErasureSaltMissing, local_salt, salt
from narrowcast.runtime import airflow_env


def test_the_local_salt_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = local_salt(tmp_path / "data")
    assert len(first) == 64
    assert local_salt(tmp_path / "data") == first
    assert (tmp_path / "data" / ".erasure_salt").stat().st_mode & 0o077 == 0
    assert local_salt(tmp_path / "other") != first


def test_the_local_airflow_tasks_get_the_data_directorys_salt_unless_a_deployment_sets_its_own(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert airflow_env({}, data_dir=data)["NARROWCAST_ERASURE_SALT"] == local_salt(data)
    assert airflow_env({"NARROWCAST_ERASURE_SALT": "from-secrets"}, data_dir=data)["NARROWCAST_ERASURE_SALT"] == "from-secrets"


def test_a_process_started_outside_the_cli_reads_the_data_directorys_salt_and_without_any_salt_refuses(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NARROWCAST_ERASURE_SALT", raising=False)
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path / "data"))
    # GIVEN no salt anywhere, THEN erasing refuses, naming the variable
    with pytest.raises(ErasureSaltMissing, match="NARROWCAST_ERASURE_SALT"):
        salt()
    # GIVEN the salt the local runtime keeps in that data directory, THEN an Airflow worker's process uses it
    kept = local_salt(tmp_path / "data")
    assert salt() == kept.encode()
