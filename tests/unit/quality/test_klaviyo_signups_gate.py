"""The quality gate's suite for raw.klaviyo_subscription_events, derived from the source's declaration: a row of
another metric, a future sign-up, a repeated event and a row without a time are quarantined, each under its rule;
the e-mail never appears in the failure message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone
from narrowcast.loading.staging import stage_batch
from narrowcast.quality.gate import QualityGateFailed, check_batch, enforce_threshold
from narrowcast.sources.registry import entity
from narrowcast.warehouse import in_memory

NOW = datetime(2026, 9, 15, 12, 0)
WINDOW = Window(datetime(2026, 9, 14, tzinfo=UTC), datetime(2026, 9, 15, tzinfo=UTC))
PAGE = "GET /api/events metric TspjNE page 1"


def _signup(event_id: str, **overrides: object) -> dict[str, object]:
    row = {"event_id": event_id, "metric_id": "TspjNE", "metric_name": "Subscribed to List", "profile_id": "01P",
           "email": f"{event_id}@example.org", "list_name": "Newsletter", "subscribed_at": datetime(2026, 9, 14, 9)}
    return row | overrides


def test_each_bad_sign_up_is_quarantined_under_its_rule_and_the_message_shows_no_email(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path / "landing")
    batch = zone.new_batch("klaviyo", "klaviyo_subscription_events", WINDOW)
    batch.write_records([
        _signup("a"),
        _signup("b", metric_name="Opened Email"),  # accepted_values:metric_name
        _signup("c", subscribed_at=datetime(2026, 9, 16, 9)),  # not_future:subscribed_at (a day ahead of NOW)
        _signup("d"), _signup("d"),  # unique:event_id, the second copy
        _signup("e", subscribed_at=None),  # not_null:subscribed_at
    ], PAGE)
    con = in_memory()
    staged = stage_batch(con, batch, entity("klaviyo_subscription_events"))
    result = check_batch(con, staged, now=NOW)
    assert result.rule_counts == {"accepted_values:metric_name": 1, "not_future:subscribed_at": 1,
                                  "unique:event_id": 1, "not_null:subscribed_at": 1}
    with pytest.raises(QualityGateFailed) as failed:
        enforce_threshold(con, staged, result, threshold=0.05)
    assert "4 of 6 rows" in str(failed.value) and "@" not in str(failed.value)
