"""The generator's command line: one-line errors for bad input, a summary for a good run."""

from __future__ import annotations

from pathlib import Path

import pytest

from narrowcast.datagen.cli import main


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        pytest.param(["--customers", "10"], "customers", id="too few customers"),
        pytest.param(["--customers", "lots"], "--customers", id="customers not a number"),
        pytest.param(["--days", "0"], "days", id="zero days"),
        pytest.param(["--start", "2026-02-30"], "YYYY-MM-DD", id="impossible start date"),
        pytest.param(["--seed", "-3"], "seed", id="negative seed"),
        pytest.param(["--unknown-flag"], "unrecognized", id="unknown flag"),
    ],
)
def test_bad_arguments_print_one_error_line_and_return_2(argv: list[str], mentions: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*argv, "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert mentions in err
    assert "Traceback" not in err


def test_an_unwritable_data_dir_is_named_in_a_one_line_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = main(["--data-dir", str(blocker / "data"), "--customers", "100", "--days", "7"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert str(blocker) in err and "--data-dir" in err


def test_a_good_run_prints_progress_and_returns_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--data-dir", str(tmp_path), "--customers", "100", "--days", "7", "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "datagen: generated" in out
    assert (tmp_path / "world" / "orders.parquet").is_file()
    assert len(list((tmp_path / "exports" / "ga4").glob("events_*.ndjson"))) == 7


def test_ga4_gzip_writes_only_compressed_ga4_files_and_a_rerun_without_it_leaves_none(tmp_path: Path) -> None:
    # GIVEN a run with --ga4-gzip
    assert main(["--data-dir", str(tmp_path), "--customers", "100", "--days", "7", "--quiet", "--ga4-gzip"]) == 0
    ga4 = tmp_path / "exports" / "ga4"
    # THEN each day is one gzip file (magic bytes 1f 8b) and no uncompressed file is written
    assert sorted(p.name[-10:] for p in ga4.iterdir()) == [".ndjson.gz"] * 7
    assert all(p.read_bytes()[:2] == b"\x1f\x8b" for p in ga4.iterdir())
    # AND a plain rerun into the same folder replaces them: one format per day, as the GA4 source requires
    assert main(["--data-dir", str(tmp_path), "--customers", "100", "--days", "7", "--quiet"]) == 0
    assert sorted(p.suffix for p in ga4.iterdir()) == [".ndjson"] * 7
