"""Table declarations: what a raw table is (typed columns, key, load mode, quality rules) and what a source is.

A source package declares its tables with :class:`EntitySpec` next to the code that fetches them; the registry
collects them, and the loader, the quality gate, the dbt test schema, the empty-table macro, the Airflow assets
and ``docs/data-contracts.md`` are all derived from (or checked against) these declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from narrowcast.contracts.extraction import Extractor

LoadMode = Literal["merge", "replace_partition"]

MONEY = "DECIMAL(18,2)"
META_COLUMNS: dict[str, str] = {"_batch_id": "VARCHAR", "_loaded_at": "TIMESTAMP", "_source": "VARCHAR"}


@dataclass(frozen=True)
class EntitySpec:
    """One raw table: its typed columns, key, load mode and which rules of the quality gate apply."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    load_mode: LoadMode = "merge"
    # replace_partition: the column whose values (dates) a run replaces; merge: optional column whose values
    # present in the batch are replaced wholesale first (a new version of a file replaces the old one's rows).
    partition_column: str | None = None
    # Columns a batch must carry; the others of ``columns`` become NULL when a batch lacks them.
    required: tuple[str, ...] = ()
    # Non-key columns that must hold a value (``not_null:<col>``, checked after the key's).
    not_null: tuple[str, ...] = ()
    non_negative: tuple[str, ...] = ()
    # Columns checked against "now + tolerance"; BIGINT columns here hold microseconds since the epoch.
    not_future: tuple[str, ...] = ()
    currency_columns: tuple[str, ...] = ()
    event_name_column: str | None = None
    line_totals: bool = False
    # What a column holds beyond its type (allowed values, units), for the data contract's documentation.
    notes: Mapping[str, str] = field(default_factory=dict)
    # merge: columns whose stored value survives a batch that brings NULL for them (an API that stops returning
    # a field after a while, e.g. eBay's buyer e-mail, 14 days after the order).
    keep_stored: tuple[str, ...] = ()
    # Columns of which every row must fill at least one (``any_not_null:a|b``): a privacy request names the
    # person by e-mail, by customer id, or both.
    any_not_null: tuple[str, ...] = ()
    # Text columns restricted to a vocabulary (``accepted_values:<col>``), checked exactly as written.
    accepted_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # One invalid row fails the whole batch instead of being quarantined under the threshold: for tables where
    # a dropped row is worse than a late file (a privacy request must never silently go missing).
    all_or_nothing: bool = False
    # Columns holding a person's data (e-mail, phone, name, address, marketing consent): blanked when the person
    # asks for deletion, and in every later batch that brings them back (``narrowcast.privacy``).
    personal: tuple[str, ...] = ()
    # How an erasure finds the person's rows: the column holding their e-mail, the one holding their customer key.
    subject_email: str | None = None
    subject_id: str | None = None
    # The table whose rows this one's rows belong to, and how they match: ``("shop_orders", {"order_id": "id"})``
    # (child column → parent column). A child row whose parent row is quarantined in the same run is
    # quarantined too (``parent_quarantined:<child column>``), so the raw tables never hold an orphan.
    parent: tuple[str, Mapping[str, str]] | None = None

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Key columns plus the explicitly required ones; every other column may be absent (loaded as NULL)."""
        return tuple(dict.fromkeys((*self.key, *self.required)))


@dataclass(frozen=True)
class SourceSpec:
    """A source: how it is extracted and which raw tables it feeds."""

    name: str
    extractor: Extractor  # called with an ExtractContext; see narrowcast.contracts.extraction
    entities: tuple[EntitySpec, ...]
    lookback: timedelta = timedelta(0)
    connection_id: str | None = None
    # Folder the source reads files from, relative to the data directory (file sources only).
    input_dir: str | None = None
    # One batch per input file, loaded once per file version and logged in meta.files; otherwise every run
    # lands one batch per entity (an empty one too: its watermark advances, its window is replaced).
    batch_per_file: bool = False
    # With a batch per file: the run's new files land in one batch per entity, gated and loaded at once (one
    # quality-gate pass and one load per table, not per file: a backfill of a hundred daily exports), each file
    # still logged in meta.files and held to the quarantine threshold on its own. When any file fails the gate,
    # each file's rows are split off into a batch of its own and the files load one by one, as without it.
    files_load_together: bool = False
    # A scheduled run reads from the source's stored watermark, so hours missed while the scheduler was down are
    # extracted too; a longer gap is read in windows of at most this length, each advancing the watermark.
    # (Sources with a batch per file track files, not windows: they never catch up.)
    catch_up_step: timedelta = timedelta(days=1)

    def entity(self, name: str) -> EntitySpec:
        for spec in self.entities:
            if spec.name == name:
                return spec
        known = ", ".join(e.name for e in self.entities)
        raise KeyError(f"source {self.name!r} has no entity {name!r} (known: {known})")


def money_columns(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, MONEY)


def timestamp_columns(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "TIMESTAMP")


def text_columns(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "VARCHAR")
