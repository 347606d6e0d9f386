"""Shared pytest setup: the package is importable from include/ and telemetry is off."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "include") not in sys.path:
    sys.path.insert(0, str(ROOT / "include"))

for key, value in {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}.items():
    os.environ.setdefault(key, value)
