"""Inbox tests read files the moment they are written (no settle interval unless a test sets one), from a fresh
inbox folder in the test's data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from narrowcast import settings


@pytest.fixture(autouse=True)
def no_settle_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "INBOX_SETTLE_SECONDS", 0.0)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder
