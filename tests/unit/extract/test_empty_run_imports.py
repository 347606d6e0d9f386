"""A run that receives no rows still records its batches and advances its watermark, without importing GX."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# A fresh interpreter: this test process may have imported GX already. The same fake Meta extractor yields either
# nothing or one campaign's day, so the second case shows the check sees GX when a batch has rows.
SCRIPT = """
import json, sys
from datetime import UTC, datetime
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source

ROW = {"account_id": "1001", "campaign_id": "1", "campaign_name": "c1", "date_start": "2024-03-11",
       "date_stop": "2024-03-11", "impressions": "1000", "clicks": "10", "spend": "12.50", "purchases": "1",
       "purchase_value": "99.00", "account_currency": "EUR"}

def insights(context):
    if sys.argv[2] == "rows":
        yield Page("meta_ad_insights", [ROW], "GET /v27.0/act_1001/insights since=2024-03-11 page 1")

window = Window(datetime(2024, 3, 11, tzinfo=UTC), datetime(2024, 3, 12, tzinfo=UTC))
report = run_source("meta_ads", None, window, data_dir=sys.argv[1], warehouse=sys.argv[1] + "/wh.duckdb",
                    extractor=insights)
entity = report.entities["meta_ad_insights"]
print(json.dumps({"gx": "great_expectations" in sys.modules, "received": entity.received,
                  "loaded": entity.loaded, "batches": len(entity.batch_ids),
                  "watermark": report.watermark.isoformat()}))
"""


@pytest.mark.parametrize(("rows", "gx_imported", "received"), [
    pytest.param("none", False, 0, id="a run that receives nothing never imports great expectations"),
    pytest.param("rows", True, 1, id="a run that receives a row validates it with great expectations"),
])
def test_great_expectations_is_imported_only_for_a_batch_with_rows(tmp_path, rows, gx_imported, received):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), rows], capture_output=True, text=True,
                          timeout=600, env={"PYTHONPATH": str(ROOT / "include"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"gx": gx_imported, "received": received, "loaded": received, "batches": 1,
                   "watermark": "2024-03-12T00:00:00"}
