"""The vectorised NDJSON writer produces valid JSON that round-trips the Arrow values."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from narrowcast.datagen.ndjson import append_ndjson, to_json_text, write_ndjson


@pytest.mark.parametrize(
    ("value", "arrow_type", "expected"),
    [
        pytest.param('say "hi"\\\n', pa.string(), 'say "hi"\\\n', id="quotes backslashes and newlines escaped"),
        pytest.param("Köln – Straße", pa.string(), "Köln – Straße", id="non-ascii text kept"),
        pytest.param(5.0, pa.float64(), 5.0, id="whole doubles stay doubles"),
        pytest.param(0.1 + 0.2, pa.float64(), 0.1 + 0.2, id="doubles round-trip exactly"),
        pytest.param(-42, pa.int64(), -42, id="integers"),
        pytest.param(True, pa.bool_(), True, id="booleans"),
    ],
)
def test_scalars_round_trip_through_json(value: object, arrow_type: pa.DataType, expected: object) -> None:
    (text,) = to_json_text(pa.array([value], arrow_type)).to_pylist()
    assert json.loads(text) == expected
    if arrow_type == pa.float64():
        assert "." in text or "e" in text


def test_null_struct_fields_are_left_out_and_null_values_written_as_null() -> None:
    arr = pa.array([{"a": 1, "b": None, "c": [{"k": "x"}]}, None, {"a": None, "b": "y", "c": []}])
    assert [json.loads(t) for t in to_json_text(arr).to_pylist()] == [
        {"a": 1, "c": [{"k": "x"}]}, None, {"b": "y", "c": []}]


def test_a_table_is_written_one_object_per_line(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2, 3], "tags": [["a"], None, ["b", "c"]]}).slice(1)
    path = tmp_path / "rows.ndjson"
    assert write_ndjson(table, path) == 2
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [
        {"id": 2}, {"id": 3, "tags": ["b", "c"]}]


def test_strings_of_a_slice_are_escaped_when_the_slice_holds_a_control_character() -> None:
    # GIVEN values whose escape-needing characters sit in some rows only, read through slices and a take
    arr = pa.array(["plain", "tab\there", None, 'quote"', "end"])
    for part, expected in ((arr.slice(0, 1), ['"plain"']), (arr.slice(1, 1), ['"tab\\u0009here"']),
                           (arr.slice(2, 2), ["null", '"quote\\""']), (arr.take([4, 0]), ['"end"', '"plain"']),
                           (arr.slice(5), [])):
        # THEN each value is quoted, and escaped exactly where it needs it
        assert to_json_text(part).to_pylist() == expected


def test_a_table_from_several_chunks_is_written_whole(tmp_path: Path) -> None:
    # GIVEN a table whose rows come in two chunks (as a hook appending rows makes), written in small batches
    table = pa.concat_tables([pa.table({"id": [1, 2, 3]}), pa.table({"id": [4, 5]})])
    path = tmp_path / "rows.ndjson"
    with path.open("wb") as fh:
        assert append_ndjson(table, fh, batch_rows=2) == 5
    assert [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()] == [1, 2, 3, 4, 5]
