"""Deletion requests purge the person: raw rows, landed files and quarantine lose their data, only a salted hash
stays, and a record of them that comes back later is blanked on load."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from narrowcast import settings
from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source
from narrowcast.privacy.subjects import SALT_VARIABLE, ErasureSaltMissing
from narrowcast.privacy_purge import run_purge

WINDOW = Window(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC))
SALT = "test-salt-not-a-secret"
ANNA = "anna@example.de"

ORDERS_HEADER = "order_id;customer_id;ordered_at;currency;total_price;email\n"
OTHER_ORDERS = "".join(f"B-{i};C-{100 + i};28/03/2026;EUR;10,00;buyer{i}@example.org\n" for i in range(25))
# Anna's second order has a negative total: it is quarantined, with her e-mail in the quarantined record.
ANNA_ORDERS = "A-1;C-17;29/03/2026;EUR;19,99;Anna@Example.de\nA-2;C-17;30/03/2026;EUR;-5,00;anna@example.de\n"
# As the merchant's helpdesk writes it: the deletion names Anna by e-mail only; someone else opts out by id.
PRIVACY_FILE = (
    "customer_id;email;request_type;requested_at\n"
    "; Anna@Example.DE ;delete;31/03/2026\n"
    "00042;;opt_out;31/03/2026\n"
)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "INBOX_SETTLE_SECONDS", 0.0)
    # The test's own data directory, so no salt another run left in the default ./data is found.
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(SALT_VARIABLE, SALT)
    monkeypatch.delenv("AIRFLOW_CONN_NARROWCAST_KLAVIYO", raising=False)
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def _load(tmp_path: Path) -> None:
    run_source("inbox", None, WINDOW, data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb")


def _purge(tmp_path: Path):
    return run_purge(warehouse=tmp_path / "wh.duckdb", data_dir=tmp_path)


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _landed_text(tmp_path: Path) -> str:
    """Every value of every landed file, as one lower-case text."""
    parts = sorted((tmp_path / "landing").rglob("*.parquet"))
    assert parts
    return " ".join(str(pq.read_table(p).to_pylist()) for p in parts).lower()


def _loaded_with_anna(tmp_path: Path, inbox: Path) -> None:
    (inbox / "orders_export_2026-03.csv").write_text(ORDERS_HEADER + OTHER_ORDERS + ANNA_ORDERS)
    (inbox / "privacy_requests_20260331.csv").write_text(PRIVACY_FILE)
    _load(tmp_path)
    assert ANNA in _landed_text(tmp_path)
    assert _query(tmp_path, "select count(*) from meta.quarantine where lower(record) like '%anna@%'") == [(1,)]


def test_a_deletion_by_email_blanks_the_person_in_raw_landing_and_quarantine(
    tmp_path: Path, inbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN Anna's orders (one quarantined) and her e-mail-only deletion request, loaded
    _loaded_with_anna(tmp_path, inbox)
    landed_before = sorted((tmp_path / "landing").rglob("*.parquet"))
    # WHEN the purge runs
    with caplog.at_level(logging.INFO):
        report = _purge(tmp_path)
    # THEN her order keeps its business facts but no e-mail; the other customers keep theirs
    assert _query(tmp_path, "select order_id, customer_id, email, total_price::varchar from raw.file_orders "
                            "where order_id = 'A-1'") == [("A-1", "C-17", None, "19.99")]
    assert _query(tmp_path, "select count(email) from raw.file_orders where order_id like 'B-%'") == [(25,)]
    # AND the request row holds neither e-mail nor id any more; the opt-out of someone else is untouched
    assert _query(tmp_path, "select line_number, customer_id, email, request_type from raw.file_privacy_requests "
                            "order by line_number") == [(2, None, None, "delete"), (3, "00042", None, "opt_out")]
    # AND her quarantined row is gone, the landed files are rewritten in place without her e-mail
    assert _query(tmp_path, "select count(*) from meta.quarantine") == [(0,)]
    assert sorted((tmp_path / "landing").rglob("*.parquet")) == landed_before
    landed = _landed_text(tmp_path)
    assert ANNA not in landed and "buyer3@example.org" in landed
    # AND only salted hashes remain: her e-mail, and the customer key her order tied to it
    expected = {("email", hmac.new(SALT.encode(), f"email:{ANNA}".encode(), hashlib.sha256).hexdigest()),
                ("customer_id", hmac.new(SALT.encode(), b"customer_id:C-17", hashlib.sha256).hexdigest())}
    assert set(_query(tmp_path, "select kind, subject_hash from meta.erased_subjects")) == expected
    assert report.new_identifiers == 2
    assert report.tables["file_orders"].rows_blanked == 1
    # AND the log counts per table and never names her
    assert "file_orders: 1 row(s) blanked" in caplog.text
    assert "anna" not in caplog.text.lower() and "C-17" not in caplog.text


def test_a_second_purge_finds_nothing_new_and_changes_nothing(tmp_path: Path, inbox: Path) -> None:
    _loaded_with_anna(tmp_path, inbox)
    _purge(tmp_path)
    again = _purge(tmp_path)
    assert again.new_identifiers == 0
    assert sum(t.rows_blanked + t.files_rewritten + t.quarantined_deleted for t in again.tables.values()) == 0


def test_a_reingested_record_of_an_erased_person_is_blanked_on_load(tmp_path: Path, inbox: Path) -> None:
    # GIVEN Anna erased
    _loaded_with_anna(tmp_path, inbox)
    _purge(tmp_path)
    # WHEN a later export brings her back: by e-mail, and by her customer key under a new e-mail
    (inbox / "orders_export_2026-04.csv").write_text(
        ORDERS_HEADER + "A-3;C-99;13/04/2026;EUR;7,00;ANNA@example.de\nA-4;C-17;13/04/2026;EUR;8,00;anna2@example.de\n"
        "B-99;C-300;13/04/2026;EUR;9,00;someone@example.org\n")
    _load(tmp_path)
    # THEN both rows load without the e-mail, the stranger's row keeps it, and the landed batch holds neither
    assert _query(tmp_path, "select order_id, email from raw.file_orders where _file_name = 'orders_export_2026-04.csv' "
                            "order by order_id") == [("A-3", None), ("A-4", None), ("B-99", "someone@example.org")]
    landed = _landed_text(tmp_path)
    assert ANNA not in landed and "anna2@example.de" not in landed


def test_the_purge_refuses_to_record_anyone_without_a_salt(tmp_path: Path, inbox: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _loaded_with_anna(tmp_path, inbox)
    monkeypatch.delenv(SALT_VARIABLE)
    with pytest.raises(ErasureSaltMissing, match=SALT_VARIABLE):
        _purge(tmp_path)
    assert _query(tmp_path, "select count(*) from raw.file_orders where email is not null") == [(26,)]
