"""GX's start-up imports that the rules never use are deferred, validation still finds the failing rows, and a deferred
module works once something uses it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# A fresh interpreter: this test process may have imported GX (and scipy.stats) already.
SCRIPT = """
import json, sys
import pandas as pd
from narrowcast.quality.expectations import (DEFERRED_GX_IMPORTS, DEFERRED_GX_TOP_LEVEL_IMPORTS, failing_rows,
                                             prepare)
from narrowcast.quality.rules import Rule

prepare()
loaded_after_prepare = {name: type(sys.modules[name]).__name__ not in ("_LazyModule", "_DeferredModule")
                        for name in DEFERRED_GX_IMPORTS + DEFERRED_GX_TOP_LEVEL_IMPORTS if name in sys.modules}
# altair's own submodules (vegalite: ~0.7 CPU-s) have not run either
submodules_run = sorted(name for name in sys.modules if name.startswith("altair."))
frame = pd.DataFrame({"id": [1, None, 3, 3], "total": [5.0, 1.0, -2.0, 0.0]},
                     index=pd.Index([10, 11, 12, 13], name="_row"))
rules = [Rule("not_null", ("id",), "id"), Rule("unique", ("id",), "id"), Rule("non_negative", ("total",), "total")]
failing = failing_rows(frame, rules, {})
# GX's module that imported the stand-in gets the real altair at its first use
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
chart = kl.alt.Chart(pd.DataFrame({"x": [1]})).mark_bar().to_dict()
real = type(sys.modules["altair"]).__name__
print(json.dumps({"loaded": loaded_after_prepare, "submodules": submodules_run, "failing": failing,
                  "chart_mark": chart["mark"]["type"], "altair_after_use": real}))
"""


def test_gx_validates_without_running_the_deferred_modules():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT / "include"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == {"scipy.stats": False, "altair": False}
    assert out["submodules"] == []
    assert out["chart_mark"] == "bar" and out["altair_after_use"] == "module"
    assert out["failing"] == {"not_null:id": [11], "unique:id": [12, 13], "non_negative:total": [12]}
