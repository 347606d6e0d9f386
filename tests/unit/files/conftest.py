"""Inbox tests read files the moment they are written: no settle interval unless a test sets one."""

from __future__ import annotations

import pytest

from narrowcast import settings


@pytest.fixture(autouse=True)
def no_settle_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "INBOX_SETTLE_SECONDS", 0.0)
