"""The plan as the engine reads it: streamed from DuckDB in exact batches, hashed-field problems flagged in SQL."""

from __future__ import annotations

import pyarrow as pa
import pytest
from activation_fixtures import AUDIENCE_DDL, audience_rows, audience_sync, sha

from narrowcast.activation import state
from narrowcast.activation.destinations.meta_audiences import HASHED
from narrowcast.warehouse import Warehouse, in_memory


@pytest.fixture
def con():
    connection = in_memory()
    connection.execute("create schema activation")
    state.ensure_tables(connection)
    connection.execute(AUDIENCE_DDL)
    yield connection
    connection.close()


def load(con: Warehouse, rows: list[dict]) -> None:
    with con.arrow_relation("new_rows", pa.Table.from_pylist(rows)):
        con.execute("insert into audience_members by name select * from new_rows")


@pytest.mark.parametrize("members, batch_size, sizes", [
    pytest.param(50, 7, [7] * 7 + [1], id="a-short-last-batch"),
    pytest.param(21, 7, [7, 7, 7], id="an-exact-multiple"),
    pytest.param(3, 100, [3], id="one-batch-smaller-than-the-size"),
])
def test_the_plan_streams_in_batches_of_exactly_the_declared_size(con, members, batch_size, sizes):
    # GIVEN an audience never synced
    load(con, audience_rows("champions", range(members)))
    spec = audience_sync("meta", batch_size=batch_size)
    # WHEN it is planned and streamed
    counts = state.build_plan(con, spec, HASHED)
    batches = list(state.stream_plan(con, "upsert", batch_size))
    # THEN every planned row comes once, cut into batches of the declared size
    assert counts["add"] == members
    assert [b.num_rows for b in batches] == sizes
    keys = [k for b in batches for k in b.column("record_key").to_pylist()]
    assert sorted(keys, key=int) == [str(i) for i in range(members)]
    assert list(state.stream_plan(con, "remove", batch_size)) == []


def test_rows_whose_hashed_identifiers_are_not_sha256_hex_are_flagged_by_the_plan(con):
    # GIVEN one member with a valid hash, one with a plain e-mail where the hash belongs, one with a bad phone hash
    rows = audience_rows("champions", range(3))
    rows[1]["email_sha256"] = "someone@example.com"
    rows[2]["phone_sha256"] = sha("x").upper()
    load(con, rows)
    # WHEN the sync is planned
    state.build_plan(con, audience_sync("meta"), HASHED)
    (batch,) = state.stream_plan(con, "upsert", 100)
    # THEN only the two bad rows carry the names of their bad fields
    flagged = dict(zip(batch.column("record_key").to_pylist(), batch.column("invalid_fields").to_pylist(), strict=True))
    assert flagged == {"0": None, "1": "EMAIL", "2": "PHONE"}
