"""Orders exports as merchants' systems write them load with the right values; what cannot be read fails alone,
naming the file and the position; a file still being written waits for the next run."""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from inbox_runs import query, run_inbox

from narrowcast import settings
from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed
from narrowcast.sources.files.errors import InputFileError
from narrowcast.sources.files.inbox import check_file, read_file
from narrowcast.sources.files.kinds import kind_of

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "merchant_exports"
WINDOW = Window(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC))
HEADER = "order_id,customer_id,ordered_at,currency,total_price\n"
ROWS = "A-1,c1,2026-08-01,EUR,19.99\nA-2,c2,2026-08-02,EUR,5.00\n"
SEMICOLON_1252 = "order_id;customer_id;ordered_at;currency;total_price\r\nA-1;c1;13/08/2026;EUR;€ 59,90\r\n".encode("cp1252")


def _run(tmp_path: Path) -> None:
    run_inbox(tmp_path, WINDOW)


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    return query(tmp_path, sql)


def _check(path: Path) -> None:
    check_file(path, kind_of(path.name))


ORDERS = ("select order_id, line_number, ordered_at, currency, total_price, line_price from raw.file_orders "
          "order by order_id, line_number")


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        pytest.param("orders_export_excel_it_2026-08.csv", [
            ("2026-0815", 1, datetime(2026, 8, 15), "EUR", Decimal("59.90"), Decimal("29.95")),
            ("2026-0816", 1, datetime(2026, 8, 1), "EUR", Decimal("1234.56"), Decimal("1234.56")),
            ("2026-0817", 1, datetime(2026, 8, 31, 18, 30), "EUR", Decimal("12.00"), Decimal("12.00")),
        ], id="an Italian Excel semicolon save in Windows-1252 with euro signs, decimal commas and day-first dates"),
        pytest.param("orders_export_prestashop_2026-08.csv", [
            ("PS-000981", 1, datetime(2026, 8, 2, 9, 14, 55), "EUR", Decimal("59.90"), None),
            ("PS-000982", 1, datetime(2026, 8, 2, 11, 40, 3), "EUR", Decimal("1234.56"), None),
            ("PS-000983", 1, datetime(2026, 8, 3, 20, 5, 31), "EUR", Decimal("7.00"), None),
        ], id="a PrestaShop semicolon export with amounts like 1.234,56 €"),
        pytest.param("orders_export_magento_2026-08.csv", [
            ("000000101", 1, datetime(2026, 8, 4, 9, 3, 12), "EUR", Decimal("1249.00"), None),
            ("000000102", 1, datetime(2026, 8, 4, 14, 47), "EUR", Decimal("64.50"), None),
            ("000000103", 1, datetime(2026, 8, 12, 0, 15, 40), "EUR", Decimal("0.00"), None),
        ], id="a Magento order grid export with named-month 12-hour dates and €1,249.00"),
        pytest.param("orders_export_shopify_2026-08.csv", [
            ("#1001", 1, datetime(2026, 8, 6, 19, 14, 3), "EUR", Decimal("79.80"), Decimal("19.95")),
            ("#1001", 2, datetime(2026, 8, 6, 19, 14, 3), "EUR", Decimal("79.80"), Decimal("39.90")),
            ("#1002", 1, datetime(2026, 8, 7, 6, 2, 59), "EUR", Decimal("45.00"), Decimal("50.00")),
        ], id="a Shopify export with a BOM, CRLF and +0200 offsets converted to UTC"),
        pytest.param("orders_export_woocommerce_2026-08.csv", [
            ("4711", 1, datetime(2026, 8, 13, 10, 21, 44), "EUR", Decimal("84.80"), Decimal("29.90")),
            ("4711", 2, datetime(2026, 8, 13, 10, 21, 44), "EUR", Decimal("84.80"), Decimal("29.90")),
            ("4712", 1, datetime(2026, 8, 14, 18, 2, 9), "EUR", Decimal("1234.50"), Decimal("1234.50")),
        ], id="a WooCommerce export with a BOM and every field quoted"),
    ],
)
def test_a_merchant_export_loads_with_its_values_normalised(tmp_path: Path, inbox: Path, fixture: str,
                                                            expected: list[tuple]) -> None:
    # GIVEN an export as the merchant's system writes it
    shutil.copy(FIXTURES / fixture, inbox / fixture)
    # WHEN the inbox is extracted
    _run(tmp_path)
    # THEN every row lands with the contract's values: amounts, UTC timestamps, upper-case currency
    assert _query(tmp_path, ORDERS) == expected
    assert _query(tmp_path, "select status, rows from meta.files") == [("loaded", len(expected))]


def test_a_header_naming_a_column_twice_is_rejected_naming_it(inbox: Path) -> None:
    path = inbox / "orders_export_dup.csv"
    path.write_text("order_id,customer_id,ordered_at,currency,total_price,total_price\nA-1,c1,2026-08-01,EUR,1.00,2.00\n")
    with pytest.raises(InputFileError, match=r"^orders_export_dup.csv: schema:duplicate_column: .*total_price "
                                             r"\(columns 5, 6\)"):
        _check(path)


def test_missing_columns_say_which_dialect_was_assumed_and_which_columns_were_seen(inbox: Path) -> None:
    # GIVEN a semicolon file wrongly declared comma-separated
    (inbox / "dialects.yml").write_text('"orders_export_*.csv":\n  separator: ","\n')
    path = inbox / "orders_export_it.csv"
    path.write_bytes(SEMICOLON_1252)
    # THEN the error names the separator and encoding it read with and the one column it saw
    with pytest.raises(InputFileError, match=(
        r"schema:missing_column: required column\(s\) order_id, customer_id, ordered_at, currency, total_price missing; "
        r"read with separator comma \(declared\), encoding Windows-1252 \(detected\), the header's 1 column\(s\): "
        r"'order_id;customer_id;ordered_at;currency;total_price'"
    )):
        _check(path)


def test_a_file_still_being_written_waits_for_the_settle_interval_then_loads(
    tmp_path: Path, inbox: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a file modified just now and a 30 s settle interval
    monkeypatch.setattr(settings, "INBOX_SETTLE_SECONDS", 30.0)
    caplog.set_level(logging.INFO, logger="narrowcast.sources.files.inbox")
    path = inbox / "orders_export_2026-08.csv"
    path.write_text(HEADER + ROWS)
    # WHEN the inbox runs: the file is left for the next run, logged, and neither loaded nor failed
    _run(tmp_path)
    assert re.search(r"orders_export_2026-08.csv changed \d+ s ago and may still be written: left for the next run",
                     caplog.text)
    assert _query(tmp_path, "select count(*) from meta.files") == [(0,)]
    # WHEN its size and modification time have stayed the same for the interval
    old = time.time() - 31
    os.utime(path, (old, old))
    _run(tmp_path)
    # THEN it loads
    assert _query(tmp_path, "select status, rows from meta.files") == [("loaded", 2)]


def test_a_completion_marker_makes_a_fresh_file_ready_at_once(
    tmp_path: Path, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "INBOX_SETTLE_SECONDS", 30.0)
    (inbox / "orders_export_2026-08.csv").write_text(HEADER + ROWS)
    (inbox / "orders_export_2026-08.csv.ok").touch()
    _run(tmp_path)
    assert _query(tmp_path, "select file_name, status, rows from meta.files") == [
        ("orders_export_2026-08.csv", "loaded", 2)
    ]


@pytest.mark.parametrize(
    ("last_line", "line"),
    [
        pytest.param("A-3,c3,2026-08-03,EUR,59", 4, id="an amount cut before its decimals"),
        pytest.param("A-3,c3,2026-08-03,EUR,", 4, id="a last field cut at its separator"),
    ],
)
def test_a_last_line_cut_mid_write_without_a_final_newline_is_truncated(inbox: Path, last_line: str, line: int) -> None:
    path = inbox / "orders_export_cut.csv"
    path.write_text(HEADER + ROWS + last_line)
    with pytest.raises(InputFileError, match=rf"^orders_export_cut.csv: parse:truncated: line {line} ends the file "
                                             r"without a newline .* cut mid-write"):
        _check(path)


def test_a_complete_last_line_without_a_final_newline_loads(tmp_path: Path, inbox: Path) -> None:
    (inbox / "orders_export_2026-08.csv").write_text(HEADER + ROWS + "A-3,c3,2026-08-03,EUR,59.90")
    _run(tmp_path)
    assert _query(tmp_path, "select order_id, total_price::varchar from raw.file_orders order by 1") == [
        ("A-1", "19.99"), ("A-2", "5.00"), ("A-3", "59.90"),
    ]


def test_a_corrupt_parquet_file_fails_alone_in_one_line_and_the_other_files_load(tmp_path: Path, inbox: Path) -> None:
    # GIVEN a Parquet file whose footer is intact but whose first data page is damaged, beside a good file
    bad = inbox / "erp_stock_20260801.parquet"
    rows = 2000
    pq.write_table(pa.table({
        "sku": [f"SKU-{i}" for i in range(rows)], "on_hand": list(range(rows)), "cost": [1.5] * rows,
        "warehouse": ["main"] * rows, "snapshot_at": ["2026-08-01T06:00:00"] * rows,
    }), bad, row_group_size=1000)
    damaged = bytearray(bad.read_bytes())
    damaged[100:400] = b"\xff" * 300
    bad.write_bytes(bytes(damaged))
    (inbox / "orders_export_2026-08.csv").write_text(HEADER + ROWS)
    # WHEN the inbox runs
    with pytest.raises(ExtractFailed) as failed:
        _run(tmp_path)
    # THEN the error is one line naming the file, the problem and where; the CSV loaded
    (reason,) = [r for r in str(failed.value).split(" || ") if "erp_stock" in r]
    assert "\n" not in reason
    assert reason.endswith("erp_stock_20260801.parquet: parse:corrupt: row group 1 of 2 cannot be decoded: "
                           "Corrupt snappy compressed data.")
    assert _query(tmp_path, "select file_name, status from meta.files order by 1") == [
        ("erp_stock_20260801.parquet", "failed"), ("orders_export_2026-08.csv", "loaded"),
    ]
    assert _query(tmp_path, "select count(*) from raw.file_orders") == [(2,)]


@pytest.mark.parametrize(
    ("declaration", "content", "message"),
    [
        pytest.param('"orders_export_*.csv":\n  encoding: utf-8\n', SEMICOLON_1252,
                     r"parse:encoding: byte 0x80 at line 2, column 23 is not valid utf-8 \(declared\)",
                     id="a Windows-1252 euro sign in a file declared UTF-8"),
        pytest.param("", (HEADER + "A-1,c1,2026-08-01,EUR,19.99\nA-2,c\xe92,2026-08-02,EUR,5.00\n").encode("cp1252")
                     + b"A-3,c\x813,2026-08-03,EUR,1.00\n",
                     r"parse:encoding: byte 0x81 at line 4, column 6 is not valid UTF-8 \(first at byte 0xE9 at line 3, "
                     r"column 6\) nor Windows-1252",
                     id="a byte neither UTF-8 nor Windows-1252"),
        pytest.param("", b"\xef\xbb\xbf" + (HEADER + "A-1,c\xe0,2026-08-01,EUR,19.99\n").encode("cp1252"),
                     r"parse:encoding: byte 0xE0 at line 2, column 6 is not valid UTF-8 \(the file starts with a "
                     r"UTF-8 BOM\)",
                     id="a Windows-1252 byte in a file that starts with a UTF-8 BOM"),
    ],
)
def test_an_encoding_error_names_line_column_and_byte(inbox: Path, declaration: str, content: bytes, message: str) -> None:
    if declaration:
        (inbox / "dialects.yml").write_text(declaration)
    path = inbox / "orders_export_enc.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=rf"^orders_export_enc.csv: {message}"):
        _check(path)


def test_currency_codes_in_any_case_land_upper_case_from_parquet_too(inbox: Path) -> None:
    path = inbox / "orders_export_pos.parquet"
    pq.write_table(pa.table({
        "order_id": ["P-1", "P-2"], "customer_id": ["c1", "c2"], "ordered_at": ["2026-08-01", "2026-08-02"],
        "currency": ["eur", " Eur"], "total_price": [19.99, 5.0],
    }), path)
    kind = kind_of(path.name)
    check_file(path, kind)
    assert pa.concat_tables(read_file(path, kind)).column("currency").to_pylist() == ["EUR", "EUR"]
