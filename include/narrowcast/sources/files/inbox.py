"""The file inbox: take every new file (or new version of a file) exactly once into the landing zone.

A file is identified by name + SHA-256; ``meta.files`` records every attempt (the extract runner writes it).
A file already loaded with the same checksum is skipped; the same name with another checksum is a new version
and loads (its rows replace the previous version's, see the loader). Files stay where they are: a failed file is simply retried by the
next run, a loaded one is skipped by its checksum.

Header policy (checked before any row is read): a missing required column fails the file with
``schema:missing_column``; an unexpected extra column fails it with ``schema:extra_column`` too — we fail
rather than quarantine-and-drop because in a hand-made export an unknown column is nearly always a renamed
one (``total`` for ``total_price``), and silently dropping it would load wrong data. A row with fewer fields
than the header, or an unterminated quote, fails the file with ``parse:truncated`` and its line number.
Every file is read twice: once to check it whole, then to land it, so a bad file lands nothing.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from narrowcast.contracts.extraction import ExtractContext, InputFile
from narrowcast.contracts.pages import Page
from narrowcast.sources.files.errors import InputFileError
from narrowcast.sources.files.kinds import FileKind, kind_of

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def land_inbox(context: ExtractContext) -> Iterator[Page]:
    """The inbox's extractor: land every pending file as a batch of its own; a bad file is rejected whole.

    The runner loads each file's batch on its own and logs every attempt in ``meta.files``.
    """
    inbox = context.input_dir
    if inbox is None or not inbox.is_dir():
        log.warning("inbox %s does not exist: nothing to load", inbox)
        return iter(())
    for path in sorted(p for p in inbox.iterdir() if p.is_file()):
        kind = kind_of(path.name)
        if kind is None:
            log.info("inbox: %s matches no file kind, left alone", path.name)
            continue
        file = InputFile(path, kind.entity, sha256_of(path), path.stat().st_size)
        if context.already_loaded(file):
            log.info("inbox: %s (sha256 %s…) already loaded, skipped", path.name, file.checksum[:12])
            continue
        try:
            check_file(path, kind)
            batch = context.file_batch(file)
            for table in read_file(path, kind):
                batch.write_table(table, path.name)
        except InputFileError as exc:
            context.reject(path.name, str(exc), file=file)
            log.error("%s", exc)
    return iter(())  # every file is already in its own batch


def _header(path: Path, kind: FileKind, columns: list[str]) -> list[str]:
    names = [c.strip().lower() for c in columns]
    missing = [c for c in kind.required if c not in names]
    if missing:
        raise InputFileError(path.name, "schema:missing_column", f"required column(s) {', '.join(missing)} missing")
    extra = [c for c in names if c not in kind.allowed]
    if extra:
        raise InputFileError(
            path.name,
            "schema:extra_column",
            f"unexpected column(s) {', '.join(extra)}; allowed: {', '.join(kind.allowed)}",
        )
    return names


def check_file(path: Path, kind: FileKind) -> None:
    """Read the whole file once; raise :class:`InputFileError` at the first problem."""
    if path.suffix == ".parquet":
        try:
            schema = pq.ParquetFile(path).schema_arrow
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFileError(
                path.name, "parse:truncated", f"not a readable Parquet file at byte {path.stat().st_size}: {exc}"
            ) from None
        _header(path, kind, schema.names)
        return
    for _ in _csv_rows(path, kind):
        pass


def _csv_rows(path: Path, kind: FileKind) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line number, header, fields) per data row, validating the shape as it goes."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            first = next(reader, None)
            if first is None:
                raise InputFileError(path.name, "schema:missing_column", "the file is empty (no header)")
            header = _header(path, kind, first)
            for fields in reader:
                if not fields:
                    continue  # blank line
                if len(fields) != len(header):
                    raise InputFileError(
                        path.name,
                        "parse:truncated",
                        f"line {reader.line_num} has {len(fields)} field(s), the header has {len(header)}",
                    )
                yield reader.line_num, header, fields
        except csv.Error as exc:
            raise InputFileError(path.name, "parse:truncated", f"line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise InputFileError(path.name, "parse:encoding", f"not UTF-8 at byte {exc.start}") from None


def read_file(path: Path, kind: FileKind) -> Iterator[pa.Table]:
    """The file as Arrow chunks with ``_file_name``, ``_source_ref`` (file:line) and, for orders, ``line_number``."""
    lines_seen: dict[str, int] = {}  # order_id → lines so far, to number an order's lines 1..n
    if path.suffix == ".parquet":
        parquet = pq.ParquetFile(path)
        names = _header(path, kind, parquet.schema_arrow.names)
        first_line = 1
        for chunk in parquet.iter_batches(batch_size=CHUNK_ROWS):
            table = pa.Table.from_batches([chunk]).rename_columns(names)
            refs = [f"{path.name}:row {first_line + i}" for i in range(table.num_rows)]
            first_line += table.num_rows
            yield _finish(table, kind, path, refs, lines_seen)
        return
    header: list[str] = []
    buffer: list[list[str]] = []
    refs: list[str] = []
    for line_num, header, fields in _csv_rows(path, kind):
        buffer.append(fields)
        refs.append(f"{path.name}:{line_num}")
        if len(buffer) >= CHUNK_ROWS:
            yield _finish(_as_table(header, buffer), kind, path, refs, lines_seen)
            buffer, refs = [], []
    if buffer:
        yield _finish(_as_table(header, buffer), kind, path, refs, lines_seen)


def _as_table(header: list[str], rows: list[list[str]]) -> pa.Table:
    # Empty CSV cells are NULL; every value stays text until the quality gate types it.
    return pa.table({name: pa.array([r[i] if r[i] != "" else None for r in rows], pa.string())
                     for i, name in enumerate(header)})


def _finish(table: pa.Table, kind: FileKind, path: Path, refs: list[str], lines_seen: dict[str, int]) -> pa.Table:
    n = table.num_rows
    table = table.append_column("_file_name", pa.array([path.name] * n, pa.string()))
    table = table.append_column("_source_ref", pa.array(refs, pa.string()))
    if kind.entity == "file_orders" and "line_number" not in table.column_names:
        if any(c in table.column_names for c in kind.line_columns):
            numbers = []
            for order_id in table.column("order_id").to_pylist():
                lines_seen[str(order_id)] = lines_seen.get(str(order_id), 0) + 1
                numbers.append(lines_seen[str(order_id)])
        else:
            numbers = [1] * n  # one row per order: a repeated order_id is a duplicate, not a second line
        table = table.append_column("line_number", pa.array(numbers, pa.int32()))
    return table
