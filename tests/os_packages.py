"""The Debian packages some tests need, which ``scripts/setup-os.sh`` installs: where each is found, and what a
test does when one is missing — fail under CI (``CI=true``), skip locally; both say to run the script.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

SETUP_SCRIPT = "scripts/setup-os.sh"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def missing_os_package(what: str) -> None:
    """Stop the test: a CI run must not pass without the tests that need ``what``; a laptop may skip them."""
    message = f"{what} is not installed: run `sudo bash {SETUP_SCRIPT}` (it installs every OS package the tests need)"
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def chromium() -> Path:
    """The Debian Chromium executable Playwright drives."""
    if not CHROMIUM.is_file():
        missing_os_package(f"Chromium ({CHROMIUM})")
    return CHROMIUM


def postgresql_bin_dir() -> Path:
    """The newest installed PostgreSQL server's bin dir (initdb, pg_ctl)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: float(Path(p).parts[-3]))
    if not found:
        missing_os_package("the PostgreSQL server (/usr/lib/postgresql/*/bin/initdb)")
    return Path(found[-1]).parent
