"""The profile read API answers from the exported snapshot, only to valid keys, within their rate and sources."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from starlette.testclient import TestClient

from narrowcast.serve.api_keys import ApiKey, digest, key_entry, load_keys, new_token, parse_keys
from narrowcast.serve.profile_snapshot import (
    Customer,
    ProfileSnapshot,
    SnapshotHolder,
    export_profile_snapshot,
    write_snapshot,
)
from narrowcast.serve.profiles import profile_app
from narrowcast.settings import ConfigError
from narrowcast.warehouse import in_memory

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
STOREFRONT = new_token()
BACKOFFICE = new_token()


def create_marts(wh) -> None:
    """The marts the export reads, as a merchant's would hold them: text ids (a shop id, a marketplace buyer),
    decimal money, a customer known to two sources."""
    wh.execute("create schema if not exists activation")
    wh.execute("""create table customer_rfm as select * from (values
        ('207119551', 'Champions', '545', 5, 4, 5, 3, 7, 812.40::decimal(18,2), 116.06::decimal(18,2),
         timestamp '2026-12-03 08:00:00'),
        ('ebay:9f2c', 'Hibernating', '111', 1, 1, 1, 400, 1, 12.00::decimal(18,2), 12.00::decimal(18,2),
         timestamp '2025-10-01 12:00:00')
        ) t(customer_id, rfm_segment, rfm_score, r_score, f_score, m_score, recency_days, frequency, monetary,
            avg_order_value, last_order_at)""")
    wh.execute("""create table customer_segments as select * from (values
        ('207119551', 'vip'), ('207119551', 'rfm:Champions'), ('207119551', 'abandoned_cart'),
        ('ebay:9f2c', 'marketplace_only')) t(customer_id, segment)""")
    wh.execute("""create table customer_recommendations as select * from (values
        ('207119551', 2, 'SKU-B', 'Bag', 'bags', 'upsell', 1.0::double),
        ('207119551', 1, 'SKU-A', 'Apron', 'kitchen', 'cross_sell', 3.2::double)
        ) t(customer_id, rank, sku, product_title, category, kind, score)""")
    wh.execute("""create table customer_identity_links as select * from (values
        ('shop', '207119551'), ('file', '207119551'), ('ebay', 'ebay:9f2c')) t(source, customer_id)""")


@pytest.fixture(scope="module")
def warehouse():
    wh = in_memory()
    create_marts(wh)
    return wh


def with_discount_codes(wh):
    wh.execute("""create or replace table activation.discount_codes as select * from (values
        ('CART-OLD', 'abandoned_cart', '207119551', 'percentage', 10.0::decimal(18,2), null,
         timestamp '2026-11-01 00:00:00', timestamp '2026-11-08 00:00:00'),
        ('CART-NOW', 'abandoned_cart', '207119551', 'percentage', 15.0::decimal(18,2), null,
         timestamp '2026-12-06 09:30:00', timestamp '2026-12-13 09:30:00'),
        ('CART-LATER', 'winback', '207119551', 'fixed_amount', 5.0::decimal(18,2), 'EUR',
         timestamp '2026-12-20 00:00:00', timestamp '2026-12-27 00:00:00')
        ) t(code, campaign, customer_key, value_type, value, currency, starts_at, expires_at)""")


@pytest.fixture
def snapshot(tmp_path: Path, warehouse) -> Path:
    path = tmp_path / "snapshots" / "profiles.arrow"
    with_discount_codes(warehouse)
    assert export_profile_snapshot(warehouse, path, now=NOW) == 2
    return path


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(snapshot: Path, clock: Clock) -> TestClient:
    keys = {digest(STOREFRONT): ApiKey("storefront", frozenset({"shop"}), rate_per_second=1, burst=3),
            digest(BACKOFFICE): ApiKey("backoffice", None, rate_per_second=100, burst=100)}
    return TestClient(profile_app(keys, SnapshotHolder(snapshot, check_seconds=0), clock=lambda: NOW,
                                  monotonic=clock))


def get(client: TestClient, key: str, token: str | None = BACKOFFICE):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"/profiles/{key}", headers=headers)


def test_a_profile_holds_segments_scores_recommendations_and_the_active_code(client):
    answer = get(client, "207119551")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.json() == {
        "customer_key": "207119551",
        "rfm": {"rfm_segment": "Champions", "rfm_score": "545", "r_score": 5, "f_score": 4, "m_score": 5,
                "recency_days": 3, "frequency": 7, "monetary": "812.40", "avg_order_value": "116.06",
                "last_order_at": "2026-12-03T08:00:00Z", "currency": "EUR"},
        "segments": ["abandoned_cart", "rfm:Champions", "vip"],
        "recommendations": [
            {"rank": 1, "sku": "SKU-A", "product_title": "Apron", "category": "kitchen", "kind": "cross_sell",
             "score": 3.2},
            {"rank": 2, "sku": "SKU-B", "product_title": "Bag", "category": "bags", "kind": "upsell", "score": 1.0}],
        # The expired code is not exported and the one starting later is not active yet.
        "discount": {"code": "CART-NOW", "campaign": "abandoned_cart", "value_type": "percentage",
                     "value": "15.00", "currency": None, "starts_at": "2026-12-06T09:30:00Z",
                     "expires_at": "2026-12-13T09:30:00Z"},
    }


def test_without_a_discount_code_table_profiles_have_no_code(tmp_path, warehouse):
    warehouse.execute("drop table if exists activation.discount_codes")
    path = tmp_path / "profiles.arrow"
    export_profile_snapshot(warehouse, path, now=NOW)
    client = TestClient(profile_app({digest(BACKOFFICE): ApiKey("backoffice")}, SnapshotHolder(path)))
    assert get(client, "207119551").json()["discount"] is None


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no Authorization header"),
    pytest.param({"Authorization": "Bearer ncp_not-a-key"}, id="an unknown key"),
    pytest.param({"Authorization": f"Basic {BACKOFFICE}"}, id="a valid key under another scheme"),
    pytest.param({"Authorization": f"Bearer {digest(BACKOFFICE)}"}, id="the stored digest instead of the key"),
])
def test_a_request_without_a_valid_key_is_refused(client, headers):
    answer = client.get("/profiles/207119551", headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"error": "unauthorized"})
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_customer_the_snapshot_does_not_hold_is_not_found(client):
    answer = get(client, "999")
    assert (answer.status_code, answer.json()) == (404, {"error": "not_found"})


def test_a_key_restricted_to_the_shop_cannot_tell_a_marketplace_buyer_from_nobody(client):
    # GIVEN a storefront key restricted to customers known to the shop
    hidden, missing = get(client, "ebay:9f2c", STOREFRONT), get(client, "ebay:0000", STOREFRONT)
    # THEN a marketplace-only buyer answers exactly as a customer who does not exist
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content and dict(hidden.headers) == dict(missing.headers)
    # AND the unrestricted key sees that buyer, the restricted one sees shop customers
    assert get(client, "ebay:9f2c").status_code == 200
    assert get(client, "207119551", STOREFRONT).status_code == 200


def test_a_key_over_its_rate_is_told_when_to_retry(client, clock):
    # GIVEN a key with a burst of 3 refilled at 1 request/s
    assert [get(client, "207119551", STOREFRONT).status_code for _ in range(3)] == [200, 200, 200]
    # WHEN it asks a fourth time at once
    refused = get(client, "207119551", STOREFRONT)
    # THEN it is refused with Retry-After, while the other key is unaffected
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
    assert get(client, "207119551").status_code == 200
    clock.seconds += 1.0
    assert get(client, "207119551", STOREFRONT).status_code == 200
    assert get(client, "207119551", STOREFRONT).status_code == 429


def test_without_a_snapshot_the_api_answers_503_until_one_appears(tmp_path):
    path = tmp_path / "profiles.arrow"
    client = TestClient(profile_app({digest(BACKOFFICE): ApiKey("backoffice")}, SnapshotHolder(path, 0)))
    answer = get(client, "207119551")
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "60")
    write_snapshot([Customer("207119551", ("shop",), {"segments": ["vip"]}, [])], path)
    assert get(client, "207119551").json() == {"customer_key": "207119551", "segments": ["vip"], "discount": None}


def test_a_new_snapshot_is_swapped_in_while_requests_are_served(tmp_path):
    # GIVEN a server answering from version 0 of a snapshot
    path = tmp_path / "profiles.arrow"

    def version(n: int) -> list[Customer]:
        return [Customer(str(k), ("shop",), {"version": n}, []) for k in range(500)]

    write_snapshot(version(0), path)
    client = TestClient(profile_app({digest(BACKOFFICE): ApiKey("backoffice", burst=10_000, rate_per_second=1e6)},
                                    SnapshotHolder(path, check_seconds=0)))
    # WHEN a writer replaces the snapshot 10 times while requests keep coming
    done = threading.Event()

    def writer() -> None:
        for n in range(1, 11):
            time.sleep(0.02)
            write_snapshot(version(n), path)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen, n = [], 0
    while not done.is_set():
        answer = get(client, str(n % 500))
        assert answer.status_code == 200, answer.text
        seen.append(answer.json()["version"])
        n += 1
    thread.join()
    # THEN every answer came whole from one version, versions only moved forward, and the last one is served
    assert seen == sorted(seen) and len(set(seen)) >= 3
    assert get(client, "7").json()["version"] == 10


def test_a_lookup_on_the_replaced_snapshot_still_reads_its_own_rows(tmp_path):
    path = tmp_path / "profiles.arrow"
    write_snapshot([Customer("1", (), {"version": 0}, [])], path)
    holder = SnapshotHolder(path, check_seconds=0)
    old = holder.current()
    write_snapshot([Customer("1", (), {"version": 1}, [])], path)
    assert holder.current() is not old
    assert json.loads(old.lookup("1").profile)["version"] == 0
    assert json.loads(holder.current().lookup("1").profile)["version"] == 1


def test_a_snapshot_finds_every_customer_even_when_hashes_collide(tmp_path, monkeypatch):
    from narrowcast.serve import profile_snapshot

    path = tmp_path / "profiles.arrow"
    monkeypatch.setattr(profile_snapshot, "key_hash", lambda key: len(key))
    write_snapshot([Customer(k, (), {"k": k}, []) for k in ("a", "b", "cc", "dd", "eee")], path)
    snapshot = ProfileSnapshot(path)
    assert [json.loads(snapshot.lookup(k).profile)["k"] for k in ("a", "b", "cc", "dd", "eee")] == \
        ["a", "b", "cc", "dd", "eee"]
    assert snapshot.lookup("zz") is None and snapshot.lookup("ffff") is None


def test_keys_are_read_from_a_file_holding_only_their_digests(tmp_path):
    token = new_token()
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [key_entry(token, "storefront", ["shop"], 5, 10)]}))
    keys = load_keys({"NARROWCAST_PROFILE_API_KEYS_FILE": str(path)})
    assert keys == {digest(token): ApiKey("storefront", frozenset({"shop"}), 5.0, 10)}
    assert token not in path.read_text()


@pytest.mark.parametrize("text", [
    pytest.param("[]", id="no keys object"),
    pytest.param('{"keys": [{"client": "x", "sha256": "abc"}]}', id="a digest that is not SHA-256 hex"),
    pytest.param('{"keys": [{"sha256": "' + "a" * 64 + '"}]}', id="no client"),
])
def test_a_broken_keys_document_stops_the_server_with_a_message(text):
    with pytest.raises(ConfigError):
        parse_keys(text, "NARROWCAST_PROFILE_API_KEYS")


def test_the_tasks_export_lets_the_warehouse_go_before_it_renders_and_writes_the_same_snapshot(tmp_path, monkeypatch):
    """On DuckDB the export holds the file only while it copies the columns it reads: a writer (an audience sync
    planning beside it) gets the warehouse while the profiles are rendered, and the snapshot is the one an export
    reading the marts directly writes. The copies are removed."""
    from narrowcast.serve import profile_snapshot
    from narrowcast.warehouse import connect

    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("NARROWCAST_WAREHOUSE", str(path))
    with connect(path) as wh:
        create_marts(wh)
        with_discount_codes(wh)
        direct = tmp_path / "direct.arrow"
        assert export_profile_snapshot(wh, direct, now=NOW) == 2
    written: list[int] = []
    write_columns = profile_snapshot.write_columns

    def write_beside_a_writer(*columns):
        # Refused at once (no wait) if the export still held the file.
        with connect(path, lock_wait_seconds=0) as wh:
            written.append(wh.modified("insert into activation.discount_codes (code) values ('WRITTEN-MEANWHILE')"))
        return write_columns(*columns)

    monkeypatch.setattr(profile_snapshot, "write_columns", write_beside_a_writer)
    snapshot = tmp_path / "snapshots" / "profiles.arrow"
    assert profile_snapshot.export_from_warehouse(snapshot, now=NOW) == 2
    assert written == [1]
    assert pa.ipc.open_file(snapshot).read_all().equals(pa.ipc.open_file(direct).read_all())
    assert [p.name for p in snapshot.parent.iterdir()] == ["profiles.arrow"]


def test_the_tasks_export_without_the_optional_tables_and_without_a_mart(tmp_path, monkeypatch):
    from narrowcast.serve import profile_snapshot
    from narrowcast.warehouse import UndefinedObject, connect

    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("NARROWCAST_WAREHOUSE", str(path))
    with connect(path) as wh:
        create_marts(wh)
        wh.execute("drop table customer_identity_links")  # no discount codes either
    snapshot = tmp_path / "profiles.arrow"
    assert profile_snapshot.export_from_warehouse(snapshot, now=NOW) == 2
    found = ProfileSnapshot(snapshot).lookup("207119551")
    assert found is not None and found.sources == ",," and found.discounts is None
    assert json.loads(found.profile)["segments"] == ["abandoned_cart", "rfm:Champions", "vip"]
    with connect(path) as wh:
        wh.execute("drop table customer_recommendations")
    with pytest.raises(UndefinedObject, match="customer_recommendations"):
        profile_snapshot.export_from_warehouse(snapshot, now=NOW)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".profiles-inputs-")] == []


def test_the_tasks_export_removes_the_copies_a_killed_export_left_and_no_others(tmp_path, monkeypatch):
    import subprocess
    import sys

    from narrowcast.processes import this_process
    from narrowcast.serve import profile_snapshot
    from narrowcast.warehouse import connect

    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("NARROWCAST_WAREHOUSE", str(path))
    with connect(path) as wh:
        create_marts(wh)
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    here = this_process()
    folder = tmp_path / "snapshots"
    owners = {".profiles-inputs-killed": {**here, "pid": gone},                # its process is gone: removed
              ".profiles-inputs-running": here,                                # a live process's: kept
              ".profiles-inputs-elsewhere": {**here, "host": "other-host", "pid": gone},  # another machine's: kept
              ".profiles-inputs-unowned": None}                                # no owner record: kept
    for name, owner in owners.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "main.customer_rfm.parquet").write_bytes(b"PAR1")
        if owner is not None:
            (folder / name / "owner.json").write_text(json.dumps(owner))
    assert profile_snapshot.export_from_warehouse(folder / "profiles.arrow", now=NOW) == 2
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["profiles.arrow", ".profiles-inputs-running", ".profiles-inputs-elsewhere", ".profiles-inputs-unowned"])
