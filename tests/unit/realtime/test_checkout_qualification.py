"""Each rule that decides whether an abandoned checkout gets its reminder."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from narrowcast.realtime.abandoned_checkouts import Config, decide
from narrowcast.realtime.holdout import Holdout, project_holdout

NOW = datetime(2026, 12, 1, 12, 0)
NO_HOLDOUT = Holdout(0.0, "salt")


def checkout(**overrides):
    row = {"id": 1, "email": "a@example.com", "customer_id": 7, "updated_at": NOW - timedelta(minutes=61),
           "completed_at": None, "recovered": False, "consent": True}
    return {**row, **overrides}


@pytest.mark.parametrize(("overrides", "verdict"), [
    pytest.param({}, "qualified", id="quiet for an hour, consented, not recovered: qualifies"),
    pytest.param({"updated_at": NOW - timedelta(minutes=59)}, "waiting", id="updated within the quiet period: waits"),
    pytest.param({"recovered": True}, "recovered", id="an order since the checkout: recovered"),
    pytest.param({"completed_at": NOW - timedelta(minutes=70)}, "recovered", id="completed checkout: recovered"),
    pytest.param({"email": None}, "no_email", id="no e-mail: skipped"),
    pytest.param({"consent": False}, "no_consent", id="no consent: skipped"),
    pytest.param({"consent": None}, "no_consent", id="unknown consent: skipped"),
])
def test_rules(overrides, verdict):
    assert decide(checkout(**overrides), NOW, Config(), NO_HOLDOUT) == verdict


def test_the_quiet_period_is_configurable():
    assert decide(checkout(updated_at=NOW - timedelta(minutes=20)), NOW, Config(quiet_period=timedelta(minutes=15)),
                  NO_HOLDOUT) == "qualified"


def test_a_held_out_customer_is_skipped():
    assert decide(checkout(), NOW, Config(), Holdout(1.0, "salt")) == "holdout"


def test_the_holdout_is_the_one_audience_members_uses():
    # GIVEN the dbt project's share and salt, WHEN the macro hash_bucket's SQL decides for many keys (as DuckDB
    # runs it), THEN the real-time rule decides the same for each.
    holdout = project_holdout()
    keys = [str(n) for n in range(1, 3000)]
    with duckdb.connect() as con:
        held = dict(con.execute(
            "select k, mod(cast(('0x' || substr(md5(k || ?), 1, 8)) as bigint), 10000) < ? from unnest(?) t(k)",
            [holdout.salt, int(holdout.share * 10000), keys]).fetchall())
    assert {k for k in keys if holdout.holds_out(k)} == {k for k, out in held.items() if out}
    assert 0 < sum(held.values()) < len(keys)
