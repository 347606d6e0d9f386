"""GX's start-up imports that the rules never use are deferred, and validation still finds the failing rows."""

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
from narrowcast.quality.expectations import DEFERRED_GX_IMPORTS, failing_rows, prepare
from narrowcast.quality.rules import Rule

prepare()
loaded_after_prepare = {name: type(sys.modules[name]).__name__ != "_LazyModule" for name in DEFERRED_GX_IMPORTS
                        if name in sys.modules}
frame = pd.DataFrame({"id": [1, None, 3, 3], "total": [5.0, 1.0, -2.0, 0.0]},
                     index=pd.Index([10, 11, 12, 13], name="_row"))
rules = [Rule("not_null", ("id",), "id"), Rule("unique", ("id",), "id"), Rule("non_negative", ("total",), "total")]
print(json.dumps({"loaded": loaded_after_prepare, "failing": failing_rows(frame, rules, {})}))
"""


def test_gx_validates_without_running_the_deferred_modules():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT / "include"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == {"scipy.stats": False}
    assert out["failing"] == {"not_null:id": [11], "unique:id": [12, 13], "non_negative:total": [12]}
