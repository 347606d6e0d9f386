"""The generator is deterministic: the same seed and arguments give byte-identical files."""

from __future__ import annotations

import gzip
import hashlib
from datetime import date
from pathlib import Path

import pytest

from narrowcast.datagen import generate

ARGS = {"customers": 120, "days": 7, "start": date(2026, 8, 1)}


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_runs_with_the_same_seed_write_identical_bytes(tmp_path: Path) -> None:
    # GIVEN two runs with the same seed, one of them dirty-free and into a different folder
    generate(tmp_path / "a", seed=11, **ARGS)
    generate(tmp_path / "b", seed=11, **ARGS)
    # THEN every file exists in both and has the same bytes
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a == b
    assert len(a) > 20


def test_a_different_seed_gives_a_different_world(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=11, **ARGS)
    generate(tmp_path / "b", seed=12, **ARGS)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a.keys() == b.keys()
    assert a["world/customers.parquet"] != b["world/customers.parquet"]


def test_a_rerun_into_the_same_folder_leaves_no_files_of_the_previous_run(tmp_path: Path) -> None:
    generate(tmp_path, seed=11, customers=120, days=9, dirty=True)
    report = generate(tmp_path, seed=11, **ARGS)
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == set(report.rows)


def test_the_files_do_not_depend_on_how_many_workers_write_the_ga4_days(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import narrowcast.datagen.ga4_export as ga4_export

    # GIVEN a dirty run written by one worker per core, and the same run written by a single worker
    generate(tmp_path / "many", seed=11, dirty=True, **ARGS)
    monkeypatch.setattr(ga4_export, "MAX_WORKERS", 1)
    generate(tmp_path / "one", seed=11, dirty=True, **ARGS)
    # THEN every file, the defects manifest with its per-day GA4 counts included, has the same bytes
    assert _digests(tmp_path / "many") == _digests(tmp_path / "one")


def test_a_gzip_ga4_export_holds_exactly_the_uncompressed_lines_and_is_itself_deterministic(tmp_path: Path) -> None:
    # GIVEN the same dirty run with plain and with gzip-compressed GA4 files, the compressed one twice
    generate(tmp_path / "plain", seed=11, dirty=True, **ARGS)
    generate(tmp_path / "gz", seed=11, dirty=True, ga4_gzip=True, **ARGS)
    generate(tmp_path / "gz2", seed=11, dirty=True, ga4_gzip=True, **ARGS)
    plain = sorted((tmp_path / "plain" / "exports" / "ga4").glob("events_*"))
    packed = sorted((tmp_path / "gz" / "exports" / "ga4").glob("events_*"))
    # THEN each day has one .ndjson.gz whose text is the .ndjson's, the truncated day included
    assert [p.name + ".gz" for p in plain] == [p.name for p in packed]
    assert all(gzip.decompress(z.read_bytes()) == p.read_bytes() for p, z in zip(plain, packed, strict=True))
    # AND the defects manifest names the compressed files, otherwise unchanged
    manifest = (tmp_path / "plain" / "world" / "defects.json").read_text()
    assert (tmp_path / "gz" / "world" / "defects.json").read_text() == manifest.replace(".ndjson", ".ndjson.gz")
    # AND the compressed bytes repeat for the seed
    assert _digests(tmp_path / "gz") == _digests(tmp_path / "gz2")


@pytest.mark.parametrize("spread", [3, 50, 10**6], ids=["mostly ties", "some ties", "almost no ties"])
def test_the_session_order_is_the_lexsort_order_ties_included(spread: int) -> None:
    import numpy as np

    from narrowcast.datagen.sessions import _order_by

    rng = np.random.default_rng(spread)
    major, minor = 1_785_542_400 + rng.integers(0, spread, 20_000), rng.integers(0, spread, 20_000)
    assert (_order_by(major, minor) == np.lexsort((minor, major))).all()
