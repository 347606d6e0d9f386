"""The one way the extract runner calls a source: ``extractor(context) -> Iterator[Page]``, whatever the source.

An API source pages records for ``context.window`` over ``context.connection``; a source of export files lands
whole files straight into ``context.batch(entity)``; a file inbox gives each file a batch of its own with
``context.file_batch(file)``. Inputs that cannot be read are reported with ``context.reject`` so the run loads
everything else, then fails naming each. The runner (``narrowcast.extract``) implements the context.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window


class BatchSink(Protocol):
    """A landing-zone batch an extractor may write into directly (Arrow tables or a DuckDB query's result)."""

    batch_id: str
    rows: int

    def write_records(self, records: list[dict[str, Any]], source_ref: str) -> Any: ...

    def write_table(self, table: Any, source_ref: str) -> Any: ...

    def write_query(self, con: Any, sql: str, source_ref: str) -> Any: ...


@dataclass(frozen=True)
class InputFile:
    """One version of a file read whole: loaded exactly once per name + checksum (``meta.files`` logs each try)."""

    path: Path
    entity: str
    checksum: str
    size_bytes: int


class ExtractContext(Protocol):
    """What an extractor receives. Pages it yields land in ``batch(page.entity)``."""

    source: str
    connection: Connection | None
    # The data interval widened by the source's lookback: what to read.
    window: Window
    # The folder a file source reads (its declared ``input_dir`` under the data directory), or None.
    input_dir: Path | None

    def batch(self, entity: str) -> BatchSink:
        """The run's batch of ``entity`` (sources that land one batch per entity and run)."""
        ...

    def already_loaded(self, file: InputFile) -> bool:
        """Whether this version of the file loaded in an earlier run (sources with a batch per file)."""
        ...

    def loaded_unchanged(self, path: Path, entity: str) -> bool:
        """Whether a version of ``path`` with its name and size loaded after the file was last modified, so
        the file need not even be hashed (large exports that stay in their folder for years)."""
        ...

    def file_batch(self, file: InputFile) -> BatchSink:
        """A new batch for one file: gated, loaded and logged in ``meta.files`` on its own; for a source whose
        files load together (``SourceSpec.files_load_together``), the file's share of the run's batch."""
        ...

    def reject(self, what: str, reason: str, *, file: InputFile | None = None) -> None:
        """``what`` (a file, a day) lands nothing: the run loads the rest, then fails with ``reason``.

        ``file``: logged as failed in ``meta.files`` (it is retried next run).
        """
        ...

    def alert(self, kind: str, reason: str, details: dict[str, Any]) -> None:
        """Raise an alert (a ``narrowcast.alerts`` kind) about something the run tolerates but a person should
        know, e.g. an export file that is due and absent; the run goes on."""
        ...

    def set_aside(self, file: InputFile) -> None:
        """``file``'s batch does not load and nothing is logged: the file is read again by the next run
        (it changed while it was being read)."""
        ...


class Extractor(Protocol):
    def __call__(self, context: ExtractContext) -> Iterator[Page]: ...


def _resolve(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class ImportedExtractor:
    """An extractor named ``"module:function"``, imported on its first call so declaring it stays cheap."""

    target: str

    def load(self) -> Callable[..., Any]:
        return _resolve(self.target)

    def __call__(self, context: ExtractContext) -> Iterator[Page]:
        return self.load()(context)


@dataclass(frozen=True)
class ConnectionPagesExtractor(ImportedExtractor):
    """An API source's ``function(connection, window) -> pages`` (its wire-level shape, tested with fake HTTP)."""

    def __call__(self, context: ExtractContext) -> Iterator[Page]:
        return self.load()(context.connection, context.window)


def imported(target: str) -> ImportedExtractor:
    """The extractor ``"module:function"`` taking an :class:`ExtractContext`."""
    return ImportedExtractor(target)


def connection_pages(target: str) -> ConnectionPagesExtractor:
    """The extractor of an API source whose ``"module:function"`` pages ``(connection, window)``."""
    return ConnectionPagesExtractor(target)
