"""The source emulators' columnar world: ``ColumnIndex`` pages and ranges like ``KeyIndex``, and the Shopify
emulator builds an object only when a page or a bulk query reaches it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tiny_world import N_CUSTOMERS, N_ORDERS, build_world

from narrowcast.sandbox.emulators import shopify as shop_emulator
from narrowcast.sandbox.emulators.shopify_graphql import parse
from narrowcast.sandbox.emulators.world_index import ColumnIndex, KeyIndex


def _both(entries: list[tuple[int, int]]) -> tuple[KeyIndex, ColumnIndex]:
    values = np.array([e[0] for e in entries], dtype=np.int64)
    ids = np.array([e[1] for e in entries], dtype=np.int64)
    keyed = KeyIndex([(v, i, (v, i)) for v, i in entries])
    columns = ColumnIndex(values, ids, lambda rows: [(int(values[r]), int(ids[r])) for r in rows])
    return keyed, columns


def test_column_index_ranges_and_keyset_pages_match_the_key_index() -> None:
    rng = random.Random(3)
    # Many ties on the sort value (whole seconds), ids out of order: the id breaks the tie.
    entries = [(rng.randrange(20) * 1_000_000, i) for i in rng.sample(range(1, 400), 300)]
    keyed, columns = _both(entries)
    assert len(columns) == len(keyed) == 300
    assert columns.payloads(0, len(columns)) == keyed.payloads
    assert [columns.key(n) for n in range(len(columns))] == keyed.keys
    for low, high, inclusive in [(None, None, True), (5_000_000, 9_000_000, True), (5_000_000, 9_000_000, False),
                                 (5_000_001, None, True), (None, 0, True), (30_000_000, None, True)]:
        assert columns.bounds(low, high, high_inclusive=inclusive) == keyed.bounds(low, high,
                                                                                   high_inclusive=inclusive)
    for position in range(0, 300, 7):
        key = keyed.keys[position]
        assert columns.after(key) == keyed.after(key) == position + 1
    # A key that is not in the index (a row gone since the cursor was issued) still resumes after it.
    assert columns.after((7_000_000, 10_000)) == keyed.after((7_000_000, 10_000))
    assert list(columns.iter_payloads(10, 290, chunk=33)) == keyed.payloads[10:290]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("columns-world"))


def test_the_shopify_emulator_builds_objects_only_for_what_a_query_reaches(world: Path, monkeypatch) -> None:
    built = {"customers": 0, "orders": 0}
    customer, order = shop_emulator._customer, shop_emulator._order

    def count_customer(row):
        built["customers"] += 1
        return customer(row)

    def count_order(row, lines, refunds):
        built["orders"] += 1
        return order(row, lines, refunds)

    monkeypatch.setattr(shop_emulator, "_customer", count_customer)
    monkeypatch.setattr(shop_emulator, "_order", count_order)
    emulator = shop_emulator.ShopifyEmulator(world)
    assert built == {"customers": 0, "orders": 1}  # the first order names the shop currency

    page = parse("{ customers(first: 5) { edges { node { id } } } }")[0].root.fields()[0]
    answer = emulator._connection(page, {}, shop_emulator._Run())
    assert len(answer["edges"]) == 5
    assert built["customers"] == 5

    bulk = parse("{ orders { edges { node { id lineItems { edges { node { id } } } } } } }")[0].root.fields()[0]
    run = shop_emulator._Run(bulk=True)
    emulator._connection(bulk, {}, run)
    assert len(run.lines) == N_ORDERS and built["orders"] == 1 + N_ORDERS
    assert len(emulator.indexes["customers"]) == N_CUSTOMERS


def test_a_re_exported_world_row_replaces_the_one_before_it(world: Path, tmp_path: Path) -> None:
    """Two rows of one customer id: the emulator serves the later one, once (as the dict it replaced did)."""
    table = pq.read_table(world / "customers.parquet")
    again = table.slice(0, 1).to_pylist()[0] | {"first_name": "Renamed"}
    copy = tmp_path / "world"
    copy.mkdir()
    for path in world.glob("*.parquet"):
        (copy / path.name).write_bytes(path.read_bytes())
    pq.write_table(pa.concat_tables([table, pa.Table.from_pylist([again], schema=table.schema)]),
                   copy / "customers.parquet")
    emulator = shop_emulator.ShopifyEmulator(copy)
    index = emulator.indexes["customers"]
    assert len(index) == N_CUSTOMERS
    names = {c["id"]: c["firstName"] for c in index.payloads(0, len(index))}
    assert names[f"gid://shopify/Customer/{again['customer_id']}"] == "Renamed"


def test_bulk_result_files_are_removed_when_the_sandbox_process_ends(tmp_path: Path) -> None:
    """A bulk result of a million customers is gigabytes: the emulator's result folder goes with its process."""
    import subprocess
    import sys

    script = ("from narrowcast.sandbox.emulators.shopify import ShopifyEmulator\n"
              "e = ShopifyEmulator(None)\n(e._results / 'r.jsonl').write_text('{}')\nprint(e._results)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("narrowcast-shopify-bulk-") and not folder.exists()


def test_bulk_result_files_are_removed_when_the_sandbox_shuts_down() -> None:
    """A sandbox stopped in-process (tests, benchmarks) frees the folder too, not only when its process ends."""
    from narrowcast.sandbox.server import SandboxServer

    with SandboxServer(None, only=["shopify"]) as server:
        folder = server.app.state.emulators["shopify"]._results
        assert folder.is_dir()
    assert not folder.exists()
