"""The package's stages give the same results on DuckDB and PostgreSQL: the quality gate and the loader on a dirty
landed batch (quarantine, merge, bookkeeping), and the sync engine's plan, state and run log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from narrowcast import settings
from narrowcast.activation import state
from narrowcast.activation.report import SyncReport
from narrowcast.activation.spec import parse_sync
from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone
from narrowcast.loading.loader import load_batch
from narrowcast.loading.staging import stage_batch
from narrowcast.quality.gate import check_batch
from narrowcast.sources.registry import entity
from narrowcast.warehouse import Warehouse, in_memory
from narrowcast.warehouse.postgres import PostgresWarehouse

WINDOW = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
NOW = datetime(2024, 6, 1)


@pytest.fixture(params=[pytest.param("duckdb"), pytest.param("postgres", marks=pytest.mark.postgres)])
def wh(request, postgres_database) -> Iterator[Warehouse]:
    """A fresh warehouse on each engine, with the schemas ``connect`` creates."""
    if request.param == "duckdb":
        session = in_memory()
    else:
        cluster = postgres_database(f"stages_{request.node.name}")
        session = PostgresWarehouse(settings.PostgresSettings(cluster.host, cluster.port, cluster.user, "",
                                                              cluster.dbname, "main"))
    for schema in ("raw", "meta", "activation", "main"):
        session.ensure_schema(schema)
    yield session
    session.close()


def _gate_and_load(wh: Warehouse, zone: LandingZone, records: list[dict]):
    batch = zone.new_batch("shopify", "shop_order_lines", WINDOW)
    batch.write_records(records, "page 1")
    staged = stage_batch(wh, batch, entity("shop_order_lines"))
    result = check_batch(wh, staged, now=NOW)
    return result, load_batch(wh, staged, result.failures, replace_window=WINDOW)


def test_the_gate_quarantines_and_the_loader_merges_the_same_rows(wh, tmp_path: Path):
    zone = LandingZone(tmp_path / "landing")
    # GIVEN a landed batch with a negative quantity, a duplicated key and a quantity that is not a number
    records = [
        {"id": 1, "order_id": 9, "quantity": 1, "price": "10.50"},
        {"id": 2, "order_id": 9, "quantity": -1, "price": "3"},
        {"id": 3, "order_id": 9, "quantity": 2, "price": "4"},
        {"id": 3, "order_id": 9, "quantity": 2, "price": "4"},
        {"id": 4, "order_id": 9, "quantity": "two", "price": "1"},
    ]
    # WHEN it is gated and loaded, then a corrected version of line 1 arrives
    result, loaded = _gate_and_load(wh, zone, records)
    _, again = _gate_and_load(wh, zone, [{"id": 1, "order_id": 9, "quantity": 7, "price": "10.50"}])
    # THEN the bad rows are quarantined with their rule and landed record, the rest loaded, counts adding up
    assert (loaded.received, loaded.loaded + loaded.quarantined) == (5, 5)
    assert loaded.quarantined == 3 and again.loaded == 1
    assert sorted(result.rule_counts) == ["non_negative:quantity", "type:quantity", "unique:id"]
    quarantined = wh.fetchall("select rule, record from meta.quarantine order by rule")
    assert [(rule, json.loads(record)["id"]) for rule, record in quarantined] == [
        ("non_negative:quantity", 2), ("type:quantity", 4), ("unique:id", 3)]
    assert wh.fetchall("select id, quantity, price from raw.shop_order_lines order by id") == [(1, 7, 10.5), (3, 2, 4.0)]
    assert wh.fetchall("select received, loaded, quarantined, status from meta.batches order by received") == [
        (1, 1, 0, "loaded"), (5, 2, 3, "loaded")]


SYNC = {
    "id": "stages_audience", "model": "stage_audience", "destination": "klaviyo", "object": "list_members",
    "mode": "mirror", "key": ["customer_id"], "schedule": "audiences", "batch_size": 2, "target": {"list_id": "L1"},
    "fields": {"email": "email", "external_id": "customer_id"}, "pii": ["email"],
}


def test_the_sync_engine_plans_confirms_and_replans_the_same_rows(wh):
    spec = parse_sync(dict(SYNC), path=Path("stages.yml"))
    state.ensure_tables(wh)
    wh.execute("create table main.stage_audience (customer_id bigint, email varchar)")
    members = pa.table({"customer_id": [1, 2, 3], "email": ["a@example.com", "b@example.com", "c@example.com"]})
    with wh.arrow_relation("incoming", members):
        wh.execute("insert into main.stage_audience select * from incoming")
    # GIVEN three members planned and streamed in batches of two
    assert state.build_plan(wh, spec) == {"add": 3, "change": 0, "remove": 0}
    batches = list(state.stream_plan(wh, "upsert", 2))
    assert [b.num_rows for b in batches] == [2, 1]
    payloads = {k: json.loads(p) for b in batches
                for k, p in zip(b.column("record_key").to_pylist(), b.column("payload").to_pylist(), strict=True)}
    assert payloads == {str(c): {"email": f"{e}@example.com", "external_id": c} for c, e in ((1, "a"), (2, "b"), (3, "c"))}
    # WHEN the destination accepts all but member 3, and the run is logged
    for planned in batches:
        keys = planned.column("record_key").to_pylist()
        results = pa.table({"record_key": keys, "outcome": ["rejected" if k == "3" else "accepted" for k in keys],
                            "reason": ["bad address" if k == "3" else None for k in keys]})
        with wh.new_session() as writer:
            state.record_results(writer, spec, "run-1", planned, results)
    report = SyncReport(sync_id=spec.id, run_id="run-1", dry_run=False, status="success", planned_adds=3,
                        sent=3, accepted=2, rejected=1, duration_seconds=1.5)
    state.write_run(wh, report, finished=True)
    # THEN state holds the two accepted rows (PII left out of the stored payload), the rejection is open, and a
    # member who changed or left is planned as a change or a remove; the rejected one is planned again
    stored = wh.fetchall("select record_key, payload from activation.sync_state order by 1")
    assert [(key, json.loads(payload)) for key, payload in stored] == [("1", {"external_id": 1}), ("2", {"external_id": 2})]
    assert state.has_open_rejections(wh, spec) and state.confirmed_members(wh, spec) == 2
    wh.execute("update main.stage_audience set email = 'new@example.com' where customer_id = 1")
    wh.execute("delete from main.stage_audience where customer_id = 2")
    assert state.build_plan(wh, spec) == {"add": 1, "change": 1, "remove": 1}
    assert wh.fetchall("select sync_id, accepted, rejected, finished_at is not null from activation.sync_runs") == [
        (spec.id, 2, 1, True)]
