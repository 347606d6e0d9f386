"""The generator's Klaviyo sign-ups: the shop's consent synced after it, form sign-ups before it, visitors the shop
does not know; all in the window, deterministic, and served by the Klaviyo emulator to the source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.datagen.customers import build_customers
from narrowcast.datagen.klaviyo_signups import build_klaviyo_signups
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources.klaviyo import KlaviyoEventsClient, extract

START = datetime(2026, 8, 1, tzinfo=UTC)
START_S = int(START.timestamp())
END_S = START_S + 30 * 86_400


@pytest.fixture(scope="module")
def people():
    return build_customers(np.random.default_rng([7, 3]), 800, START_S, END_S)


@pytest.fixture(scope="module")
def signups(people) -> pa.Table:
    return build_klaviyo_signups(np.random.default_rng([7, 17]), people, START_S, END_S)


def _seconds(table: pa.Table) -> np.ndarray:
    return table.column("subscribed_at").cast(pa.int64()).to_numpy() // 1_000_000


def test_sign_ups_are_the_shops_consent_synced_after_it_form_sign_ups_before_it_and_unknown_visitors(people,
                                                                                                      signups):
    consent = dict(zip(people.email_clean.to_pylist(),
                       (people.table.column("marketing_consent_updated_at").cast(pa.int64()).to_numpy(
                           zero_copy_only=False) // 1_000_000).tolist(), strict=True))
    rows = signups.to_pylist()
    at = dict(zip([r["event_id"] for r in rows], _seconds(signups).tolist(), strict=True))
    synced = [r for r in rows if r["metric_name"] == "Subscribed to Email Marketing"]
    lists = [r for r in rows if r["metric_name"] == "Subscribed to List"]
    assert synced and lists
    # the shop's consent reaches Klaviyo 1-10 minutes later
    assert all(60 <= at[r["event_id"]] - consent[r["email"]] < 600 for r in synced)
    # a form sign-up of a shop customer comes before the shop's consent; the others are e-mails the shop lacks
    known = [r for r in lists if r["email"] in consent]
    assert known and all(at[r["event_id"]] < consent[r["email"]] for r in known)
    assert len(lists) > len(known)
    assert all(START_S <= s < END_S for s in at.values())
    assert len({r["event_id"] for r in rows}) == len(rows)


def test_the_same_seed_gives_the_same_sign_ups(people, signups):
    assert build_klaviyo_signups(np.random.default_rng([7, 17]), people, START_S, END_S).equals(signups)


@pytest.fixture(scope="module")
def server(tmp_path_factory, signups) -> Iterator[SandboxServer]:
    world = tmp_path_factory.mktemp("klaviyo_world")
    pq.write_table(signups, Path(world) / "klaviyo_signups.parquet")
    with SandboxServer(world, only=["klaviyo"]) as running:
        yield running


def test_the_emulator_serves_the_generated_sign_ups_to_the_source(server, signups):
    conn = Connection("narrowcast_klaviyo", f"{server.url}/klaviyo", password=SANDBOX_TOKEN)
    window = Window(START, datetime.fromtimestamp(END_S, UTC))
    client = KlaviyoEventsClient.from_connection(conn, sleep=lambda _s: None)
    records = [r for page in extract(conn, window, client=client) for r in page.records]
    assert sorted(r["event_id"] for r in records) == sorted(signups.column("event_id").to_pylist())
