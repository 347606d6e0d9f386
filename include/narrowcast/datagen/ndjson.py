"""Vectorised NDJSON serialisation of an Arrow table (nested structs and lists included).

Every value is turned into its JSON text with Arrow compute kernels (no per-row Python), lists are joined with
``binary_join``, and the finished lines are written straight from the string buffer. Null struct fields are
left out, as BigQuery's JSON export does. Output is byte-stable: fields in schema order, doubles in the
shortest round-trip form (always with a '.' or an exponent).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

_NULL = "null"


def _string(arr: pa.Array) -> pa.Array:
    text = arr.cast(pa.string())
    if pc.any(pc.match_substring_regex(text, '["\\\\\\x00-\\x1f]')).as_py():
        text = pc.replace_substring(text, "\\", "\\\\")
        text = pc.replace_substring(text, '"', '\\"')
        for code in range(0x20):
            text = pc.replace_substring(text, chr(code), f"\\u{code:04x}")
    return pc.fill_null(pc.binary_join_element_wise('"', text, '"', ""), _NULL)


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


def write_ndjson(table: pa.Table, path: Path) -> int:
    """Write ``table`` as newline-delimited JSON, one object per row; returns the row count."""
    rows = pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns], names=table.column_names)
    lines = pc.binary_join_element_wise(to_json_text(rows), "\n", "") if len(rows) else pa.array([], pa.string())
    with path.open("wb") as fh:
        if len(lines):
            offsets = lines.buffers()[1]
            data = lines.buffers()[2]
            first = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offsets], offset=lines.offset)
            start, end = first[0].as_py(), first[-1].as_py()
            fh.write(memoryview(data)[start:end])
    return table.num_rows
