"""The Meta Custom Audiences emulator keeps the ad account's score as Meta's "Marketing API Rate Limiting" documents it.

A read costs 1 point and a write 3, the score decays over 300 s, and past the tier's maximum (Standard 9,000,
blocked 60 s; development 60, blocked 300 s) every call is refused with code 17, subcode 2446079, the wait given
in X-Business-Use-Case-Usage (estimated_time_to_regain_access, minutes). So 10 writes/s is the Standard tier's
steady state, and the syncs' default of 8/s (narrowcast.apis.meta) stays under it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from narrowcast.apis import meta
from narrowcast.sandbox.emulators.meta_audiences import MetaAudiencesEmulator
from narrowcast.sandbox.framework import SANDBOX_TOKEN, create_app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _add(client: TestClient, n: int) -> dict:
    row = [hashlib.sha256(f"user{n}@example.com".encode()).hexdigest()]
    answer = client.post(f"/meta/v21.0/6001/users?access_token={SANDBOX_TOKEN}",
                         json={"payload": {"schema": "EMAIL_SHA256", "data": [row]}})
    return {"status": answer.status_code, "body": answer.json(),
            "usage": answer.headers.get("X-Business-Use-Case-Usage")}


@pytest.fixture()
def emulator_and_client(world_dir: Path) -> tuple[MetaAudiencesEmulator, TestClient, Clock]:
    app = create_app(world_dir, only=["meta_audiences"])
    emulator = app.state.emulators["meta_audiences"]
    clock = Clock()
    emulator.clock = clock
    return emulator, TestClient(app), clock


def test_past_the_development_tiers_score_every_call_is_refused_until_the_block_ends(emulator_and_client):
    emulator, client, clock = emulator_and_client
    emulator.tier = "development"  # maximum 60 points: 20 writes
    assert [_add(client, n)["status"] for n in range(20)] == [200] * 20
    refused = _add(client, 20)
    assert refused["status"] == 400
    assert (refused["body"]["error"]["code"], refused["body"]["error"]["error_subcode"]) == (17, 2446079)
    [usage] = json.loads(refused["usage"]).values()
    assert usage[0]["estimated_time_to_regain_access"] == 5  # blocked 300 s
    clock.now += 299
    assert _add(client, 21)["status"] == 400  # still blocked
    clock.now += 2
    assert _add(client, 22)["status"] == 200  # the block is over and the score has decayed


def _first_refusal(emulator: MetaAudiencesEmulator, clock: Clock, writes_per_second: float, seconds: float):
    """Charge writes at a steady pace; the time of the first refusal, or None."""
    step = 1 / writes_per_second
    for i in range(int(seconds * writes_per_second)):
        clock.now = 1000.0 + i * step
        if emulator._charge(3.0) is not None:
            return clock.now - 1000.0
    return None


def test_the_standard_tier_holds_ten_writes_a_second_and_refuses_a_faster_pace(emulator_and_client):
    emulator, _, clock = emulator_and_client
    assert _first_refusal(emulator, clock, meta.AUDIENCE_WRITES_PER_SECOND, 3600) is None  # the syncs' default
    emulator.reset()
    emulator.clock = clock
    assert _first_refusal(emulator, clock, 10.0, 3600) is None  # decay 30 points/s = 10 writes/s
    emulator.reset()
    emulator.clock = clock
    # 12 writes/s: 6 points/s over the decay, so the 9,000-point maximum is passed after ~1,500 s
    refused_at = _first_refusal(emulator, clock, 12.0, 3600)
    assert refused_at is not None and 1400 < refused_at < 1600
