"""Deterministic writers for the generator's Parquet and CSV outputs, plus Arrow builders for money and time.

Same input arrays must give byte-identical files on any machine and any day, so every writer option that could
vary (compression, row-group size, statistics, pandas metadata) is pinned here, in one place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

MONEY = pa.decimal128(18, 2)
TIMESTAMP = pa.timestamp("us")
_ROW_GROUP_SIZE = 1_000_000


def money(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A DECIMAL(18,2) array built exactly from integer cents (no float rounding); ``valid`` False → null."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    # A decimal128 value is a 16-byte little-endian two's-complement integer: low word = cents, high = sign.
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    validity = None
    if valid is not None:
        validity = pa.array(np.asarray(valid, dtype=bool)).buffers()[1]
    return pa.Array.from_buffers(MONEY, len(cents), [validity, pa.py_buffer(words.tobytes())])


def timestamps(epoch_seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Naive UTC timestamps from epoch seconds; ``valid`` False entries become null."""
    micros = np.asarray(epoch_seconds, dtype=np.int64) * 1_000_000
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(micros, type=pa.int64(), mask=mask).cast(TIMESTAMP)


def strings(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(values, type=pa.string(), mask=mask)


def pick(labels: list[str] | pa.Array, codes: np.ndarray) -> pa.Array:
    """Strings chosen by integer codes from a small vocabulary, vectorised (codes < 0 become null)."""
    vocab = labels if isinstance(labels, pa.Array) else pa.array(labels, type=pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    idx = pa.array(np.where(codes < 0, 0, codes), mask=codes < 0)
    return vocab.take(idx)


def write_parquet(table: pa.Table, path: Path) -> int:
    """Write ``table`` with pinned options; returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata(None)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=_ROW_GROUP_SIZE,
        use_dictionary=True,
        write_statistics=True,
        version="2.6",
        store_schema=False,
    )
    return table.num_rows


def write_csv(table: pa.Table, path: Path) -> int:
    """Write ``table`` as a comma-separated file with a header; returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    return table.num_rows
