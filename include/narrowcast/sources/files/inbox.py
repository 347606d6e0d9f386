"""The file inbox: take every new file (or new version of a file) exactly once into the landing zone.

A file is identified by name + SHA-256; ``meta.files`` records every attempt (the extract runner writes it).
A file already loaded with the same checksum is skipped; the same name with another checksum is a new version
and loads (its rows replace the previous version's, see the loader). Files stay where they are: a failed file is simply retried by the
next run, a loaded one is skipped by its checksum.

Header policy (checked before any row is read): a missing required column fails the file with
``schema:missing_column``; an unexpected extra column fails it with ``schema:extra_column`` too — we fail
rather than quarantine-and-drop because in a hand-made export an unknown column is nearly always a renamed
one (``total`` for ``total_price``), and silently dropping it would load wrong data. A row with fewer fields
than the header, or an unterminated quote, fails the file with ``parse:truncated`` and its line number; so
does a last line without a newline whose last field is cut (see ``readiness``). A column named twice fails it
with ``schema:duplicate_column``. CSV dialects (separator, encoding, decimal comma, day-first dates) are
detected or declared, and values normalised to the contract's forms, in ``dialect``. A file still being
written is left for the next run. Every file is read twice: once to check it whole (and settle its dialect),
then to land it, so a bad file lands nothing; a file that cannot be read fails alone, naming itself.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from narrowcast.contracts.extraction import ExtractContext, InputFile
from narrowcast.contracts.pages import Page
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.sources.files import readiness
from narrowcast.sources.files.dialect import (
    DECLARATIONS_FILE,
    Dialect,
    declaration_for,
    detect_encoding,
    sniff,
)
from narrowcast.sources.files.errors import InputFileError
from narrowcast.sources.files.kinds import FileKind, kind_of
from narrowcast.sources.files.values import Evidence, ValueColumns, currency_codes, normalise
from narrowcast.sources.registry import entity

log = redacting_logger(__name__)

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
        if readiness.is_marker(path) or path.name == DECLARATIONS_FILE:
            continue
        kind = kind_of(path.name)
        if kind is None:
            log.info("inbox: %s matches no file kind, left alone", path.name)
            continue
        try:
            seen = readiness.Snapshot.of(path)
        except OSError:
            continue  # removed since the folder was listed
        wait = readiness.unsettled_for(path, seen)
        if wait:
            log.info("inbox: %s changed %.0f s ago and may still be written: left for the next run "
                     "(read once unchanged for another %.0f s, or at once with a %s.done marker)",
                     path.name, time.time() - seen.mtime, wait, path.name)
            continue
        try:
            checksum = sha256_of(path)
        except OSError:
            checksum = ""  # unreadable: check_file fails it below, naming the reason
        file = InputFile(path, kind.entity, checksum, seen.size)
        if context.already_loaded(file):
            log.info("inbox: %s (sha256 %s…) already loaded, skipped", path.name, file.checksum[:12])
            continue
        try:
            dialect = check_file(path, kind)
            batch = context.file_batch(file)
            for table in read_file(path, kind, dialect):
                batch.write_table(table, path.name)
            if not readiness.unchanged(path, seen):
                log.info("inbox: %s changed while it was read: left for the next run", path.name)
                context.set_aside(file)
        except InputFileError as exc:
            context.reject(path.name, str(exc), file=file)
            log.error("%s", exc)
    return iter(())  # every file is already in its own batch


def _header(path: Path, kind: FileKind, columns: list[str], dialect: Dialect | None = None) -> list[str]:
    names = [c.strip().lower() for c in columns]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        where = "; ".join(f"{c} (columns {', '.join(str(i + 1) for i, n in enumerate(names) if n == c)})" for c in twice)
        raise InputFileError(path.name, "schema:duplicate_column", f"column(s) named more than once: {where}")
    missing = [c for c in kind.required if c not in names]
    if missing:
        read_as = f"; read with {dialect.describe()}" if dialect else ""
        raise InputFileError(
            path.name,
            "schema:missing_column",
            f"required column(s) {', '.join(missing)} missing{read_as}, the header's {len(names)} column(s): "
            + ", ".join(repr(c) for c in columns),
        )
    extra = [c for c in names if c not in kind.allowed]
    if extra:
        raise InputFileError(
            path.name,
            "schema:extra_column",
            f"unexpected column(s) {', '.join(extra)}; allowed: {', '.join(kind.allowed)}",
        )
    return names


def _value_columns(kind: FileKind) -> ValueColumns:
    spec = entity(kind.entity)
    return ValueColumns.of(spec.columns, spec.currency_columns)


def _unreadable(path: Path, exc: Exception) -> InputFileError:
    """Any other failure to read a file, as one line naming it (the rest of the inbox still loads)."""
    return InputFileError(path.name, "parse:unreadable", f"{type(exc).__name__}: {' '.join(str(exc).split())}")


def check_file(path: Path, kind: FileKind) -> Dialect | None:
    """Read the whole file once; return the CSV's dialect (None for Parquet) or raise :class:`InputFileError` at
    the first problem."""
    try:
        if path.suffix == ".parquet":
            _check_parquet(path, kind)
            return None
        declared = declaration_for(path)
        dialect = sniff(path, detect_encoding(path, declared), kind.allowed, declared)
        columns = _value_columns(kind)
        evidence = Evidence(columns)
        for table, lines in _csv_chunks(path, kind, dialect, only=columns.decimals + columns.moments):
            evidence.see(table, lines)
        return evidence.resolve(dialect, declared, path.name)
    except InputFileError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _unreadable(path, exc) from None


def _check_parquet(path: Path, kind: FileKind) -> None:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(
            path.name, "parse:truncated",
            f"not a readable Parquet file at byte {path.stat().st_size}: {' '.join(str(exc).split())}",
        ) from None
    _header(path, kind, parquet.schema_arrow.names)
    # A damaged page only shows when its row group is decoded: decode them all now, so it fails here, alone.
    for group in range(parquet.num_row_groups):
        try:
            parquet.read_row_group(group)
        except (pa.ArrowException, OSError) as exc:
            raise InputFileError(
                path.name, "parse:corrupt",
                f"row group {group + 1} of {parquet.num_row_groups} cannot be decoded: {' '.join(str(exc).split())}",
            ) from None


def _csv_rows(path: Path, kind: FileKind, dialect: Dialect) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line number, header, fields) per data row, validating the shape as it goes."""
    with path.open(newline="", encoding=dialect.encoding) as handle:
        reader = csv.reader(handle, delimiter=dialect.separator, quotechar=dialect.quote, strict=True)
        try:
            first = next(reader, None)
            if first is None:
                raise InputFileError(path.name, "schema:missing_column", "the file is empty (no header)")
            header = _header(path, kind, first, dialect)
            # Only a file that does not end with a newline can have been cut mid-row.
            watch = None if readiness.ends_with_newline(path) else readiness.LastFieldWatch()
            last: list[str] | None = None
            last_line = 0
            for fields in reader:
                if not fields:
                    continue  # blank line
                if len(fields) != len(header):
                    raise InputFileError(
                        path.name,
                        "parse:truncated",
                        f"line {reader.line_num} has {len(fields)} field(s), the header has {len(header)}",
                    )
                if watch is not None and last is not None:
                    watch.see(last[-1])
                last, last_line = fields, reader.line_num
                yield reader.line_num, header, fields
            if watch is not None and last is not None and watch.looks_cut(last[-1]):
                raise InputFileError(
                    path.name,
                    "parse:truncated",
                    f"line {last_line} ends the file without a newline and its last field {header[-1]} "
                    f"({last[-1]!r}) is shorter than in every other row: the file was cut mid-write",
                )
        except csv.Error as exc:
            raise InputFileError(path.name, "parse:truncated", f"line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:  # detect_encoding read the same bytes: only a file changed meanwhile
            raise InputFileError(path.name, "parse:encoding", f"not {dialect.encoding} near line {reader.line_num}: "
                                                              f"{exc.reason}") from None


def read_file(path: Path, kind: FileKind, dialect: Dialect | None = None) -> Iterator[pa.Table]:
    """The file as Arrow chunks with ``_file_name``, ``_source_ref`` (file:line) and, for orders, ``line_number``;
    CSV values normalised to the contract's forms under ``dialect`` (checked by :func:`check_file` if not given)."""
    try:
        yield from _read(path, kind, dialect)
    except InputFileError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _unreadable(path, exc) from None


def _read(path: Path, kind: FileKind, dialect: Dialect | None) -> Iterator[pa.Table]:
    lines_seen: dict[str, int] = {}  # order_id → lines so far, to number an order's lines 1..n
    if path.suffix == ".parquet":
        parquet = pq.ParquetFile(path)
        names = _header(path, kind, parquet.schema_arrow.names)
        currencies = [c for c in _value_columns(kind).currencies if c in names]
        first_line = 1
        for chunk in parquet.iter_batches(batch_size=CHUNK_ROWS):
            table = pa.Table.from_batches([chunk]).rename_columns(names)
            for name in currencies:
                if pa.types.is_string(table.schema.field(name).type):
                    at = table.schema.get_field_index(name)
                    table = table.set_column(at, name, currency_codes(table.column(name)))
            positions = list(range(first_line, first_line + table.num_rows))
            refs = [f"{path.name}:row {row}" for row in positions]
            first_line += table.num_rows
            yield _finish(table, kind, path, refs, positions, lines_seen)
        return
    dialect = dialect or check_file(path, kind) or Dialect()
    columns = _value_columns(kind)
    for table, lines in _csv_chunks(path, kind, dialect):
        refs = [f"{path.name}:{line}" for line in lines]
        yield _finish(normalise(table, columns, dialect), kind, path, refs, lines, lines_seen)


def _csv_chunks(
    path: Path, kind: FileKind, dialect: Dialect, only: tuple[str, ...] | None = None
) -> Iterator[tuple[pa.Table, list[int]]]:
    """The CSV's rows as text tables of up to ``CHUNK_ROWS`` rows (``only`` these columns if given), with each
    row's line number."""
    header: list[str] = []
    buffer: list[list[str]] = []
    lines: list[int] = []
    for line_num, header, fields in _csv_rows(path, kind, dialect):
        buffer.append(fields)
        lines.append(line_num)
        if len(buffer) >= CHUNK_ROWS:
            yield _as_table(header, buffer, only), lines
            buffer, lines = [], []
    if buffer:
        yield _as_table(header, buffer, only), lines


def _as_table(header: list[str], rows: list[list[str]], only: tuple[str, ...] | None = None) -> pa.Table:
    # Empty CSV cells are NULL; every value stays text until the quality gate types it.
    return pa.table({name: pa.array([r[i] if r[i] != "" else None for r in rows], pa.string())
                     for i, name in enumerate(header) if only is None or name in only})


def _finish(
    table: pa.Table, kind: FileKind, path: Path, refs: list[str], positions: list[int], lines_seen: dict[str, int]
) -> pa.Table:
    n = table.num_rows
    table = table.append_column("_file_name", pa.array([path.name] * n, pa.string()))
    table = table.append_column("_source_ref", pa.array(refs, pa.string()))
    if kind.numbered:
        table = table.append_column("line_number", pa.array(positions, pa.int32()))
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
