"""End to end on the generator's dirty world: the gate quarantines exactly the defects the generator injected."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed, run_source

FILE_RULES = ("schema:", "parse:")


@pytest.mark.e2e
def test_every_injected_defect_is_quarantined_or_rejected_under_its_rule(tmp_path: Path) -> None:
    from narrowcast.datagen import generate

    # GIVEN a small dirty world (GA4 exports and inbox drops carry injected defects with a manifest)
    report = generate(tmp_path, customers=200, days=8, seed=3, dirty=True)
    start = datetime.combine(report.start, datetime.min.time())
    window = Window(start, start + timedelta(days=report.days))
    warehouse = tmp_path / "wh.duckdb"
    # WHEN GA4 and the inbox are extracted over the whole period
    failures = ""
    for source in ("ga4", "inbox"):
        # Whole-file rejections fail the run by design; the message names each rejected file and its rule.
        with pytest.raises(ExtractFailed) as failed:
            run_source(source, None, window, data_dir=tmp_path, warehouse=warehouse, threshold=0.5)
        failures += str(failed.value) + "\n"
    con = duckdb.connect(str(warehouse), read_only=True)
    # THEN whole-file defects are rejected files naming their rule, in meta.files and in the failed run's message
    rejected = {
        (name, error.split(": ")[1])
        for name, error in con.execute("select file_name, error from meta.files where status = 'failed'").fetchall()
    }
    for defect in report.defects:
        if defect["rule"].startswith(FILE_RULES) and defect["target"].startswith(("file_", "ga4_")):
            where, rule = defect["where"], defect["rule"]
            assert (where, rule) in rejected or f"{where}: {rule}" in failures, (defect, failures[-2000:])
    truncated = {d["where"] for d in report.defects if d["rule"] == "parse:truncated"}
    # AND row defects of the files that were read are quarantined exactly, per rule
    expected = Counter()
    for defect in report.defects:
        if defect["target"].startswith(("file_", "ga4_")) and not defect["rule"].startswith(FILE_RULES) \
                and defect["where"] not in truncated:
            expected[(defect["target"], defect["rule"])] += defect["count"]
    quarantined = Counter(
        {(entity, rule): n for entity, rule, n in
         con.execute("select entity, rule, count(*) from meta.quarantine group by all").fetchall()}
    )
    assert quarantined == expected
    con.close()
