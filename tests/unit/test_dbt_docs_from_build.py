"""The transform's docs step: the analysts' dbt docs after a run name what that run built, compiled SQL included,
whether the step reuses the build's manifest or (no manifest of this run saved) compiles the project itself.

Each run is what the transform DAG does, without Airflow: Cosmos copies the project, runs ``dbt build`` in the copy
and calls the callback (:func:`keep_build_manifest`); then the docs step (:func:`generate_docs`) runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from narrowcast_airflow import dbt_docs

DBT = str(Path(sys.executable).parent / "dbt")
PROFILES = """
narrowcast:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('NARROWCAST_WAREHOUSE') }}"
      threads: 1
"""
PROJECT = """
name: docs_probe
version: "1.0.0"
profile: narrowcast
model-paths: ["models"]
models:
  docs_probe:
    +materialized: table
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("NARROWCAST_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    root = tmp_path / "dbt_project"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(PROFILES)
    (root / "models" / "orders_daily.sql").write_text("select 1 as order_day_count\n")
    return root


def dbt_args(root: Path) -> list[str]:
    return ["--profiles-dir", str(root), "--profile", "narrowcast", "--target", "duckdb"]


def build(root: Path, tmp_path: Path, run_id: str, save_manifest: bool = True, as_of: str = "2026-11-01") -> None:
    """What the transform's dbt task does: ``dbt build`` in a copy of the project, reading the project's saved
    parse (``DBT_PARTIAL_PARSE_FILE_PATH``), with the run's date in the environment; then Cosmos's callback; then
    Cosmos deletes the copy."""
    if not (root / "target" / "partial_parse.msgpack").exists():  # a deployment's set-up parses the project
        subprocess.run([DBT, "parse", "--project-dir", str(root), *dbt_args(root)], check=True, capture_output=True,
                       env=os.environ)
    copy = tmp_path / f"cosmos-copy-{run_id}"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("target"))
    env = {**os.environ, "NARROWCAST_AS_OF_DATE": as_of,
           "DBT_PARTIAL_PARSE_FILE_PATH": str(root / "target" / "partial_parse.msgpack")}
    subprocess.run([DBT, "build", "--project-dir", str(copy), *dbt_args(copy)], check=True, capture_output=True,
                   env=env)
    if save_manifest:
        saved = dbt_docs.keep_build_manifest(str(copy), project_dir=str(root), context={"run_id": run_id})
        assert saved == dbt_docs.saved_dir(root) / "manifest.json"
    shutil.rmtree(copy)


def published(root: Path) -> tuple[dict, dict]:
    target = root / "target"
    assert (target / "index.html").is_file()
    return json.loads((target / "manifest.json").read_text()), json.loads((target / "catalog.json").read_text())


def change_the_project(root: Path) -> None:
    """The second run's project: a model added, and a column added to the first model."""
    (root / "models" / "customer_totals.sql").write_text("select order_day_count * 2 as doubled "
                                                         "from {{ ref('orders_daily') }}\n")
    (root / "models" / "orders_daily.sql").write_text("select 1 as order_day_count, 'EUR' as currency\n")


def test_the_docs_after_a_run_name_the_model_that_run_added_with_its_compiled_sql(project, tmp_path, capfd):
    # GIVEN a first run built and documented
    build(project, tmp_path, "run-1")
    assert dbt_docs.generate_docs(DBT, project, "run-1", dbt_args(project)) is True
    # WHEN the next day's run (its own as_of_date) builds a project with a model added and a model changed, and
    # its docs step runs
    change_the_project(project)
    build(project, tmp_path, "run-2", as_of="2026-11-02")
    capfd.readouterr()
    reused = dbt_docs.generate_docs(DBT, project, "run-2", dbt_args(project))

    # THEN the docs reuse that build's manifest and the project's parse (no full parse of the project again) and
    # name the new model, compiled, and both models' columns
    assert reused is True
    assert "Unable to do partial parsing" not in capfd.readouterr().out
    manifest, catalog = published(project)
    added = manifest["nodes"]["model.docs_probe.customer_totals"]
    assert "from" in added["compiled_code"] and "orders_daily" in added["compiled_code"]
    assert "{{" not in added["compiled_code"]
    assert set(catalog["nodes"]["model.docs_probe.customer_totals"]["columns"]) == {"doubled"}
    assert set(catalog["nodes"]["model.docs_probe.orders_daily"]["columns"]) == {"order_day_count", "currency"}


def test_a_run_whose_build_saved_no_manifest_compiles_its_own_docs_rather_than_show_an_older_runs(project, tmp_path):
    # GIVEN the first run's build manifest saved
    build(project, tmp_path, "run-1")
    dbt_docs.generate_docs(DBT, project, "run-1", dbt_args(project))
    # WHEN the next run's build adds a model but saves no manifest (its callback never ran)
    change_the_project(project)
    build(project, tmp_path, "run-2", save_manifest=False)
    reused = dbt_docs.generate_docs(DBT, project, "run-2", dbt_args(project))

    # THEN the docs step compiles the project itself: the added model is in the docs, compiled
    assert reused is False
    manifest, catalog = published(project)
    assert "orders_daily" in manifest["nodes"]["model.docs_probe.customer_totals"]["compiled_code"]
    assert "model.docs_probe.customer_totals" in catalog["nodes"]


@pytest.mark.parametrize(("saved_by", "asked_by", "reused"), [
    pytest.param("run-1", "run-1", True, id="the manifest this run's build saved is reused"),
    pytest.param("run-1", "run-2", False, id="another run's manifest is not"),
    pytest.param("", "", False, id="a manifest saved without a run id is never reused"),
])
def test_only_the_runs_own_build_manifest_is_reused(tmp_path, saved_by, asked_by, reused):
    copy = tmp_path / "copy"
    (copy / "target").mkdir(parents=True)
    (copy / "target" / "manifest.json").write_text("{}")
    dbt_docs.keep_build_manifest(str(copy), project_dir=str(tmp_path / "project"), context={"run_id": saved_by})
    assert (dbt_docs.saved_manifest(tmp_path / "project", asked_by) is not None) is reused


def test_a_builds_saved_parse_made_in_the_copy_never_becomes_the_projects(project, tmp_path):
    # GIVEN a project with a seed, parsed in the project as the demo's set-up and the docs step parse it
    (project / "seeds").mkdir()
    (project / "seeds" / "channels.csv").write_text("channel\nemail\n")
    (project / "dbt_project.yml").write_text(PROJECT.replace('model-paths: ["models"]',
                                                             'model-paths: ["models"]\nseed-paths: ["seeds"]'))
    subprocess.run([DBT, "parse", "--project-dir", str(project), *dbt_args(project)], check=True,
                   capture_output=True, env=os.environ)
    before = (project / "target" / "partial_parse.msgpack").read_bytes()
    # WHEN a run builds in Cosmos's copy (deleted afterwards) and then the stock feed's build runs in the project
    build(project, tmp_path, "run-1")
    assert (project / "target" / "partial_parse.msgpack").read_bytes() == before
    done = subprocess.run([DBT, "build", "--select", "channels", "--project-dir", str(project), *dbt_args(project)],
                          capture_output=True, text=True, env=os.environ)
    # THEN that build reads its seed from the project (a parse made in the copy would name the deleted copy's file)
    assert done.returncode == 0, done.stdout[-3000:]


def test_a_build_that_wrote_no_manifest_saves_nothing(tmp_path):
    assert dbt_docs.keep_build_manifest(str(tmp_path / "copy"), project_dir=str(tmp_path / "project"),
                                        context={"run_id": "run-1"}) is None
    assert dbt_docs.saved_manifest(tmp_path / "project", "run-1") is None


def test_the_docs_command_reusing_the_build_neither_compiles_nor_writes_a_manifest():
    args = ["--profiles-dir", "p"]
    assert dbt_docs.docs_command("dbt", Path("p"), args, reuse_build=True)[-2:] == ["--no-compile",
                                                                                     "--no-write-json"]
    assert "--no-compile" not in dbt_docs.docs_command("dbt", Path("p"), args, reuse_build=False)
