"""Vectorised NDJSON serialisation of an Arrow table (nested structs and lists included).

Every value is turned into its JSON text with Arrow compute kernels (no per-row Python), lists are joined with
``binary_join``, and the finished lines are written straight from the string buffer. Null struct fields are
left out, as BigQuery's JSON export does. Output is byte-stable: fields in schema order, doubles in the
shortest round-trip form (always with a '.' or an exponent).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NULL = "null"


RAW_JSON = {b"json": b"raw"}  # field metadata: the string column already holds JSON text, write it verbatim
# Field metadata: the column holds ready '"key":value,...' members (the field name is not written).
JSON_MEMBERS = {b"json": b"members"}


def json_string(arr: pa.Array) -> pa.Array:
    """Quoted, escaped JSON strings ('null' for nulls)."""
    return _string(arr)


def json_double(arr: pa.Array) -> pa.Array:
    """JSON numbers for doubles ('null' for nulls and non-finite values)."""
    return _double(arr)


def _string(arr: pa.Array) -> pa.Array:
    text = arr.cast(pa.string())
    if _may_need_escapes(text):
        text = pc.replace_substring(text, "\\", "\\\\")
        text = pc.replace_substring(text, '"', '\\"')
        for code in range(0x20):
            text = pc.replace_substring(text, chr(code), f"\\u{code:04x}")
    return pc.fill_null(pc.binary_join_element_wise('"', text, '"', ""), _NULL)


def _may_need_escapes(text: pa.Array) -> bool:
    """Whether any byte of the values is a quote, a backslash or a control character (one scan of the data
    buffer; bytes of values hidden by a null may give a false alarm, which only costs the escaping pass)."""
    if isinstance(text, pa.ChunkedArray):
        return any(_may_need_escapes(chunk) for chunk in text.chunks)
    if len(text) == 0:
        return False
    offsets = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1, text.offset * 4)
    data = text.buffers()[2]
    if data is None:
        return False
    raw = np.frombuffer(data, np.uint8, int(offsets[-1] - offsets[0]), int(offsets[0]))
    return bool(((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any())


def _double(arr: pa.Array) -> pa.Array:
    finite = pc.is_finite(arr)
    text = arr.cast(pa.string())
    # JSON readers infer a column's type from its text: keep doubles looking like doubles ("5" → "5.0").
    whole = pc.match_substring_regex(text, "^-?[0-9]+$")
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return pc.fill_null(pc.if_else(finite, text, pa.scalar(None, pa.string())), _NULL)


def to_json_text(arr: pa.Array) -> pa.Array:
    """One JSON text per element (never null: JSON null is the string 'null')."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_struct(t):
        return _struct(arr)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = pc.subtract(arr.offsets, arr.offsets[0]).cast(pa.int32())
        items = pa.ListArray.from_arrays(offsets, to_json_text(arr.flatten()))
        out = pc.binary_join_element_wise("[", pc.binary_join(items, ","), "]", "")
        return pc.if_else(pc.is_valid(arr), out, _NULL) if arr.null_count else out
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_temporal(t):
        return _string(arr)
    if pa.types.is_floating(t):
        return _double(arr)
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pc.fill_null(arr.cast(pa.string()), _NULL)
    if pa.types.is_null(t):
        return pa.array([_NULL] * len(arr), pa.string())
    raise TypeError(f"no JSON form for Arrow type {t}")


def _struct(arr: pa.StructArray) -> pa.Array:
    # Each present member renders as ',"name":value', an absent (null) one as ''; the leading comma is cut.
    members: list[pa.Array] = []
    for field, child in zip(arr.type, arr.flatten(), strict=True):
        if child.null_count == len(child):
            continue
        member = pc.binary_join_element_wise(f',"{field.name}":', to_json_text(child), "")
        members.append(pc.if_else(pc.is_valid(child), member, "") if child.null_count else member)
    if members:
        body = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(
            pc.binary_join_element_wise(*members, ""), 1), "}", "")
    else:
        body = pa.array(["{}"] * len(arr), pa.string())
    return pc.if_else(pc.is_valid(arr), body, _NULL) if arr.null_count else body


def _member(name: str, text: pa.Array, valid: pa.Array | None) -> pa.Array:
    member = pc.binary_join_element_wise(f',"{name}":', text, "")
    return member if valid is None else pc.if_else(valid, member, "")


def write_ndjson(table: pa.Table, path: Path) -> int:
    """Write ``table`` as newline-delimited JSON, one object per row; returns the row count."""
    with path.open("wb") as fh:
        return append_ndjson(table, fh)


def append_ndjson(table: pa.Table, fh: BinaryIO, batch_rows: int = 20_000) -> int:
    """Append ``table`` to an open binary file as NDJSON, ``batch_rows`` at a time to bound memory.

    Null columns are left out of a row; columns whose field metadata is :data:`RAW_JSON` hold ready JSON text.
    """
    for offset in range(0, table.num_rows, batch_rows):
        _append_batch(table.slice(offset, batch_rows), fh)
    return table.num_rows


def _append_batch(table: pa.Table, fh: BinaryIO) -> None:
    # Each row's line is assembled by ONE join over (literal key, value) pieces, so the bytes of a wide line are
    # copied once; a nullable column's piece is null where the value is, and null pieces are dropped ("").
    pieces: list[pa.Array | str] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        column = _one_array(column)
        if column.null_count == len(column):
            continue
        how = (field.metadata or {}).get(b"json")
        if not pieces and column.null_count:
            # The first present member varies per row: fall back to cutting each line's leading comma.
            _append_batch_leading_comma(table, fh)
            return
        lead = "{" if not pieces else ","
        if how == b"members":
            pieces += [lead, pc.fill_null(column, "")]
        elif column.null_count:
            text = column if how == b"raw" else to_json_text(column)
            pieces.append(_member_or_null(f'{lead}"{field.name}":', text, pc.is_valid(column)))
        else:
            pieces += [f'{lead}"{field.name}":', column if how == b"raw" else to_json_text(column)]
    if not pieces:
        fh.write(b"{}\n" * table.num_rows)
        return
    _write_lines(pc.binary_join_element_wise(*pieces, "}\n", "", null_handling="replace", null_replacement=""), fh)


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    # combine_chunks copies even a single chunk: a batch within one chunk is taken as it is.
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _member_or_null(head: str, text: pa.Array, valid: pa.Array) -> pa.Array:
    member = pc.binary_join_element_wise(head, text, "")
    return pc.if_else(valid, member, pa.scalar(None, pa.string()))


def _append_batch_leading_comma(table: pa.Table, fh: BinaryIO) -> None:
    members: list[pa.Array] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        column = _one_array(column)
        if column.null_count == len(column):
            continue
        valid = pc.is_valid(column) if column.null_count else None
        how = (field.metadata or {}).get(b"json")
        if how == b"members":
            members.append(pc.binary_join_element_wise(",", pc.fill_null(column, ""), ""))
        else:
            members.append(_member(field.name, column if how == b"raw" else to_json_text(column), valid))
    lines = pc.binary_join_element_wise(
        "{", pc.utf8_slice_codeunits(pc.binary_join_element_wise(*members, ""), 1), "}\n", "")
    _write_lines(lines, fh)


def _write_lines(lines: pa.Array, fh: BinaryIO) -> None:
    offsets = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, lines.buffers()[1]], offset=lines.offset)
    fh.write(memoryview(lines.buffers()[2])[offsets[0].as_py():offsets[-1].as_py()])
