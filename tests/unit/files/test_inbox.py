"""The file inbox: every file (version) loads exactly once; bad files fail whole, naming file and position."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from inbox_runs import query, run_inbox

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed, run_source
from narrowcast.sources.files.errors import InputFileError
from narrowcast.sources.files.inbox import check_file, read_file
from narrowcast.sources.files.kinds import kind_of

WINDOW = Window(datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC))
MINIMAL = "order_id,customer_id,ordered_at,currency,total_price\nA-1,c1,2024-03-30,EUR,19.99\nA-2,c2,2024-03-31T10:15:00Z,EUR,5.00\n"


def _run(tmp_path: Path) -> None:
    run_inbox(tmp_path, WINDOW)


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    return query(tmp_path, sql)


def test_a_minimal_five_column_orders_export_loads_and_is_not_loaded_twice(tmp_path: Path, inbox: Path) -> None:
    (inbox / "orders_export_2024-03.csv").write_text(MINIMAL)
    _run(tmp_path)
    _run(tmp_path)  # same name, same checksum: skipped
    assert _query(tmp_path, "select order_id, customer_id, ordered_at, currency, total_price::varchar, line_number, "
                            "_file_name from raw.file_orders order by order_id") == [
        ("A-1", "c1", datetime(2024, 3, 30), "EUR", "19.99", 1, "orders_export_2024-03.csv"),
        ("A-2", "c2", datetime(2024, 3, 31, 10, 15), "EUR", "5.00", 1, "orders_export_2024-03.csv"),
    ]
    assert _query(tmp_path, "select file_name, status, rows from meta.files") == [
        ("orders_export_2024-03.csv", "loaded", 2)
    ]


def test_a_changed_file_with_the_same_name_is_a_new_version_that_replaces_the_old_rows(tmp_path: Path, inbox: Path) -> None:
    stock = inbox / "erp_stock_20240401.csv"
    stock.write_text("sku,on_hand,cost,warehouse,snapshot_at\nMUG,5,3.10,main,2024-04-01T06:00:00\nCUP,9,1.00,main,2024-04-01T06:00:00\n")
    _run(tmp_path)
    stock.write_text("sku,on_hand,cost,warehouse,snapshot_at\nMUG,4,3.10,main,2024-04-01T07:00:00\n")
    _run(tmp_path)
    assert _query(tmp_path, "select sku, on_hand from raw.file_erp_stock") == [("MUG", 4)]
    versions = _query(tmp_path, "select checksum, status, rows from meta.files order by loaded_at")
    assert [(s, r) for _, s, r in versions] == [("loaded", 2), ("loaded", 1)]
    assert versions[0][0] != versions[1][0]


def test_a_truncated_csv_fails_naming_file_and_line_loads_nothing_and_stays_in_the_inbox(tmp_path: Path, inbox: Path) -> None:
    bad = inbox / "orders_export_2024-04.csv"
    bad.write_text(MINIMAL + "A-3,c3,2024-03-31")
    (inbox / "budget_plan_2024.csv").write_text(
        "month,channel,planned_spend,planned_sessions,planned_orders,planned_revenue\n2024-04,email,100.00,1000,20,900.00\n"
    )
    with pytest.raises(ExtractFailed, match=r"orders_export_2024-04.csv: parse:truncated: line 4 has 3 field\(s\), the header has 5"):
        _run(tmp_path)
    assert bad.exists()
    assert _query(tmp_path, "select count(*) from information_schema.tables where table_name = 'file_orders'") == [(0,)]
    assert _query(tmp_path, "select file_name, status from meta.files order by file_name") == [
        ("budget_plan_2024.csv", "loaded"), ("orders_export_2024-04.csv", "failed"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("order_id,customer_id,ordered_at,currency,total\n", r"schema:missing_column: required column\(s\) total_price missing", id="a missing required column"),
        pytest.param("order_id,customer_id,ordered_at,currency,total_price,coupon\n", r"schema:extra_column: unexpected column\(s\) coupon", id="an unexpected extra column"),
        pytest.param(MINIMAL + 'A-9,"c9,2024-03-31,EUR,1.00\n', r"parse:truncated: line \d+: unexpected end of data", id="an unterminated quote"),
    ],
)
def test_an_off_contract_orders_file_is_rejected_with_the_rule_and_the_columns(inbox: Path, content: str, message: str) -> None:
    path = inbox / "orders_export_x.csv"
    path.write_text(content)
    with pytest.raises(InputFileError, match=rf"^orders_export_x.csv: {message}"):
        check_file(path, kind_of(path.name))


def test_orders_with_line_columns_get_one_row_per_line_numbered_per_order(inbox: Path) -> None:
    path = inbox / "orders_export_lines.parquet"
    pq.write_table(
        pa.table({
            "order_id": ["A", "A", "B"], "customer_id": ["c1", "c1", "c2"], "ordered_at": ["2024-03-30"] * 3,
            "currency": ["EUR"] * 3, "total_price": [30.0, 30.0, 5.0], "sku": ["MUG", "CUP", "MUG"],
            "quantity": [1, 2, 1], "line_price": [10.0, 10.0, 5.0],
        }),
        path,
    )
    check_file(path, kind_of(path.name))
    table = pa.concat_tables(read_file(path, kind_of(path.name)))
    assert list(zip(table.column("order_id").to_pylist(), table.column("line_number").to_pylist(), strict=True)) == [
        ("A", 1), ("A", 2), ("B", 1)
    ]
    assert table.column("_source_ref").to_pylist()[2] == "orders_export_lines.parquet:row 3"


def test_a_truncated_parquet_file_is_rejected_with_its_size(inbox: Path) -> None:
    path = inbox / "erp_stock_20240401.parquet"
    pq.write_table(pa.table({"sku": ["MUG"]}), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputFileError, match=r"parse:truncated: not a readable Parquet file at byte \d+"):
        check_file(path, kind_of(path.name))


def test_an_export_giving_its_own_line_numbers_keeps_them_and_quarantines_only_the_extra_copy(tmp_path: Path, inbox: Path) -> None:
    header = "order_id,customer_id,ordered_at,currency,total_price,sku,quantity,line_price,line_number\n"
    line = "A-1,c1,2024-03-30,EUR,30.00,MUG,1,10.00,{n}\n"
    (inbox / "orders_export_lines.csv").write_text(header + "".join(line.format(n=n) for n in (1, 2, 2, 3)))
    run_source("inbox", None, WINDOW, data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb", threshold=0.5)
    assert _query(tmp_path, "select line_number from raw.file_orders order by 1") == [(1,), (2,), (3,)]
    assert _query(tmp_path, "select rule, source_ref from meta.quarantine") == [
        ("unique:order_id,line_number", "orders_export_lines.csv:4")
    ]
