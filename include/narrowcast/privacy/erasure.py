"""Blank an erased person's personal columns wherever a table declares them: raw table, landing files, quarantine.

Which columns are personal, and which columns name the person (e-mail, customer key), is declared per table
(``EntitySpec.personal`` / ``subject_email`` / ``subject_id``). Rows are blanked, not deleted: an order stays an
order (revenue, stock) once nothing in it points to the person any more, and the loader's counts still add up.

The landing zone is immutable except here: a landed Parquet file that holds an erased person's data is
rewritten once, with the same rows and those values set to NULL (written beside it, then moved over it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import EntitySpec
from narrowcast.privacy.subjects import ErasedSubjects, Kind
from narrowcast.warehouse import Warehouse

log = redacting_logger(__name__)


def _subject_columns(spec: EntitySpec) -> list[tuple[Kind, str]]:
    found: list[tuple[Kind, str]] = []
    if spec.subject_email:
        found.append(("email", spec.subject_email))
    if spec.subject_id:
        found.append(("customer_id", spec.subject_id))
    return found


def _subject_expression(kind: Kind, column: str) -> str:
    """The SQL form of a subject column that :func:`narrowcast.privacy.subjects.normalised` hashes."""
    if kind == "email":
        return f"lower(trim({quote_ident(column)}))"
    return f"cast({quote_ident(column)} as varchar)"


def erase_in_table(wh: Warehouse, spec: EntitySpec, erased: ErasedSubjects, batch_id: str | None = None) -> int:
    """Blank the personal columns of the rows of ``raw.<spec>`` (of one batch, if given) naming an erased person."""
    if not (spec.personal and erased and wh.table_exists("raw", spec.name)):
        return 0
    scope, scope_params = (" and _batch_id = ?", [batch_id]) if batch_id else ("", [])
    conditions, params = [], []
    for kind, column in _subject_columns(spec):
        expression = _subject_expression(kind, column)
        values = [v for (v,) in wh.fetchall(
            f"select distinct {expression} from {spec.table} where {expression} is not null{scope}", scope_params)
            if erased.erased(kind, v)]
        if values:
            conditions.append(f"{expression} in ({', '.join('?' for _ in values)})")
            params += values
    if not conditions:
        return 0
    blanks = ", ".join(f"{quote_ident(c)} = null" for c in spec.personal)
    # Rows already blank stay untouched: the subject columns that found them may outlive the erasure (a key).
    holding = " or ".join(f"{quote_ident(c)} is not null" for c in spec.personal)
    return wh.modified(f"update {spec.table} set {blanks} where ({' or '.join(conditions)}) and ({holding}){scope}",
                       params + scope_params)


def landed_files(landing: Path, spec: EntitySpec) -> list[Path]:
    """Every landed part of ``spec``'s table (layout in ``narrowcast.landing.zone``)."""
    return sorted(landing.glob(f"source=*/entity={spec.name}/date=*/batch=*/*.parquet"))


def erase_in_files(files: list[Path], spec: EntitySpec, erased: ErasedSubjects) -> int:
    """Rewrite each landed file holding an erased person with their personal values blanked; returns how many."""
    if not (spec.personal and erased):
        return 0
    rewritten = 0
    for path in files:
        table = pq.read_table(path)
        mask = _erased_rows(table, spec, erased)
        if mask is None:
            continue
        for column in spec.personal:
            if column in table.column_names:
                at = table.schema.get_field_index(column)
                values = table.column(column)
                table = table.set_column(at, column, pc.if_else(mask, pa.scalar(None, values.type), values))
        scratch = path.with_name(path.name + ".erasing")
        pq.write_table(table, scratch)
        os.replace(scratch, path)
        rewritten += 1
    return rewritten


def _erased_rows(table: pa.Table, spec: EntitySpec, erased: ErasedSubjects) -> pa.Array | None:
    """A boolean mask of the rows naming an erased person, or None when there is none."""
    flags = [False] * table.num_rows
    for kind, column in _subject_columns(spec):
        if column in table.column_names:
            for i, value in enumerate(table.column(column).to_pylist()):
                flags[i] = flags[i] or erased.erased(kind, value)
    personal = [table.column(c) for c in spec.personal if c in table.column_names]
    if not any(flags) or not personal:
        return None
    holding = pc.is_valid(personal[0])
    for values in personal[1:]:
        holding = pc.or_(holding, pc.is_valid(values))
    mask = pc.and_(pa.array(flags, pa.bool_()), holding)
    return mask if pc.any(mask).as_py() else None


def erase_in_quarantine(wh: Warehouse, spec: EntitySpec, erased: ErasedSubjects, batch_id: str | None = None) -> int:
    """Delete the quarantined rows of ``spec`` (of one batch, if given) naming an erased person."""
    if not (erased and _subject_columns(spec) and wh.table_exists("meta", "quarantine")):
        return 0
    scope, params = (" and batch_id = ?", [spec.name, batch_id]) if batch_id else ("", [spec.name])
    removed = 0
    for batch, ref, record in wh.fetchall(
            f"select batch_id, source_ref, record from meta.quarantine where entity = ?{scope}", params):
        row = json.loads(record) if record else {}
        if any(erased.erased(kind, row.get(column)) for kind, column in _subject_columns(spec)):
            removed += wh.modified("delete from meta.quarantine where batch_id = ? and source_ref = ? and record = ?",
                                   [batch, ref, record])
    return removed


def erase_reloaded(wh: Warehouse, spec: EntitySpec, batch_id: str, batch_path: Path) -> None:
    """Blank what a batch just brought back of people erased earlier: its raw rows, quarantine and landed files.

    Called by the loader inside the batch's transaction, so an erased person's data never becomes visible.
    """
    if not (spec.personal or _subject_columns(spec)):
        return
    erased = ErasedSubjects.load(wh)
    if not erased:
        return
    rows = erase_in_table(wh, spec, erased, batch_id)
    quarantined = erase_in_quarantine(wh, spec, erased, batch_id)
    files = erase_in_files(sorted(batch_path.glob("*.parquet")), spec, erased)
    if rows or quarantined or files:
        log.info("%s batch %s brought back erased people: %d row(s) blanked, %d quarantined row(s) deleted, "
                 "%d landed file(s) rewritten", spec.name, batch_id, rows, quarantined, files)
