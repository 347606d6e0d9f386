"""The transform's dbt docs, made from the manifest its own dbt build wrote, so the docs step compiles nothing again.

A transform run's ``dbt build`` (the one task in build mode, the producer in watcher mode) compiles every node it
runs with the run's dates, in Cosmos's copy of the project. :func:`keep_build_manifest`, a Cosmos callback, saves
that manifest under the project's target folder with the run's id. The docs step (``python -m
narrowcast_airflow.dbt_docs``) then runs ``dbt docs generate --no-compile --no-write-json`` — the catalog, read
from the warehouse for every relation of the project, and the site's index — and puts the saved manifest beside
them: the docs show the project as that build ran it, compiled SQL included. When no manifest of this run was
saved (local execution mode compiles one node per dbt process; a build that did not reach the callback), the
step runs ``dbt docs generate`` in full, compiling every node itself.

The build's saved parse stays in the copy. It names the copy's files, and dbt reads a seed's CSV by that path:
a later command in the project that reused it would look for the seeds in the copy, which Cosmos deletes after
the run. The project's own saved parse, written by the commands that run in the project (this docs step, the
stock feed's build, the demo's ``dbt parse``), serves every command: the run's dates come in the environment and
are read only when dbt executes (``narrowcast_airflow.defaults.dbt_dates_env``), so a new day re-parses nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# The profile's dbt-duckdb connect attempts (profiles.yml reads the same variable, with the same default).
DBT_CONNECT_ATTEMPTS_VARIABLE = "NARROWCAST_DBT_CONNECT_ATTEMPTS"
DEFAULT_DBT_CONNECT_ATTEMPTS = 8
# Under the project's target folder: the build's manifest and the id of the run whose build wrote it.
SAVED_DIR = "build-manifest"
MANIFEST = "manifest.json"
RUN_ID = "run_id"


def dbt_connect_wait_seconds() -> float:
    """How long dbt-duckdb retries a held warehouse file with the project's profile: it sleeps 2**n s after its
    n-th failed attempt, the last included (8 attempts: 1 + 2 + … + 128 = 255 s)."""
    from narrowcast import settings

    return float(2 ** settings.env_int(DBT_CONNECT_ATTEMPTS_VARIABLE, DEFAULT_DBT_CONNECT_ATTEMPTS) - 1)


def saved_dir(project_dir: Path) -> Path:
    return Path(project_dir) / "target" / SAVED_DIR


def keep_build_manifest(tmp_project_dir: str, project_dir: str, context: Any = None, **_: Any) -> Path | None:
    """Cosmos callback after a dbt command: save the manifest it wrote in ``tmp_project_dir`` (Cosmos's copy of
    ``project_dir``) with the run's id. Returns where it was saved, or None when the command wrote none.

    The command's saved parse is left in the copy (see the module's docstring)."""
    built = Path(tmp_project_dir) / "target" / MANIFEST
    if not built.is_file():
        return None
    run_id = str((context or {}).get("run_id") or "")
    folder = saved_dir(Path(project_dir))
    folder.mkdir(parents=True, exist_ok=True)
    # The id first: a manifest half-written by an interrupted copy never carries the new run's id.
    (folder / RUN_ID).unlink(missing_ok=True)
    _replace(built, folder / MANIFEST)
    (folder / RUN_ID).write_text(run_id)
    return folder / MANIFEST


def _replace(source: Path, destination: Path) -> None:
    """Copy ``source`` over ``destination`` atomically: a reader never sees a half-copied file."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    shutil.copyfile(source, partial)
    os.replace(partial, destination)


def saved_manifest(project_dir: Path, run_id: str) -> Path | None:
    """The build manifest saved by run ``run_id``, or None (none saved, or saved by another run)."""
    folder = saved_dir(project_dir)
    try:
        saved_by = (folder / RUN_ID).read_text()
    except FileNotFoundError:
        return None
    manifest = folder / MANIFEST
    return manifest if run_id and saved_by == run_id and manifest.is_file() else None


def keep_build_manifest_args(project_dir: Path) -> dict[str, Any]:
    """A Cosmos dbt operator's arguments that make it save its build's manifest (:func:`keep_build_manifest`)."""
    return {"callback": f"{__name__}.keep_build_manifest", "callback_args": {"project_dir": str(project_dir)}}


def docs_bash_command(dbt_bin: Path, project_dir: Path, target: str) -> str:
    """The docs task's shell command for run ``{{ run_id }}`` (the run's dates come in its environment)."""
    # The profile and target named as Cosmos names them: dbt reuses a saved parse only when they match.
    return (f"{sys.executable} -m {__name__} --dbt {dbt_bin} --project-dir {project_dir} --run-id '{{{{ run_id }}}}'"
            f" -- --profiles-dir {project_dir} --profile narrowcast --target {target}")


def docs_command(dbt_bin: str, project_dir: Path, dbt_args: list[str], reuse_build: bool) -> list[str]:
    """``dbt docs generate`` for ``project_dir``; reusing the build's manifest, without compiling or writing one."""
    command = [dbt_bin, "docs", "generate", "--project-dir", str(project_dir), *dbt_args]
    return command + ["--no-compile", "--no-write-json"] if reuse_build else command


def generate_docs(dbt_bin: str, project_dir: Path, run_id: str, dbt_args: list[str]) -> bool:
    """Generate the docs into ``project_dir``/target for run ``run_id``; True when the build's manifest was reused.

    Raises ``subprocess.CalledProcessError`` when dbt fails (its output is on this process's output)."""
    from narrowcast.warehouse import writer_turn

    project_dir = Path(project_dir)
    manifest = saved_manifest(project_dir, run_id)
    # The catalog is read beside the audience syncs: they wait for its turn, instead of dbt retrying the file. The
    # turn is waited for as long as dbt itself would retry.
    with writer_turn(lock_wait_seconds=dbt_connect_wait_seconds()):
        subprocess.run(docs_command(dbt_bin, project_dir, dbt_args, manifest is not None), check=True)
    if manifest is None:
        return False
    _replace(manifest, project_dir / "target" / MANIFEST)  # the docs site reads it while this runs
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="dbt docs for a transform run, reusing its build's manifest.")
    parser.add_argument("--dbt", required=True, help="the dbt executable")
    parser.add_argument("--project-dir", required=True, type=Path)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("dbt_args", nargs=argparse.REMAINDER, help="after --: dbt's own options (profile, vars)")
    args = parser.parse_args(argv)
    dbt_args = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    try:
        reused = generate_docs(args.dbt, args.project_dir, args.run_id, dbt_args)
    except subprocess.CalledProcessError as exc:
        print(f"dbt docs generate failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    print("docs: the build's manifest (compiled by the build) with a fresh catalog" if reused else
          "docs: no build manifest of this run saved; compiled every node")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
