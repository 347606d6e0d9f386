"""The purge step after deletion requests load: record who is erased, then blank them everywhere.

A ``delete`` request in ``raw.file_privacy_requests`` names a person by e-mail, customer key or both. The purge
widens that to every identifier the person is known by (a shop customer's e-mail found by their id, and the
other way round), records the salted hashes in ``meta.erased_subjects``, then sweeps every table that declares
personal columns: raw rows blanked, landed files rewritten without the values, quarantined rows deleted. The
request rows themselves are blanked too: from then on only the hashes remain. The sweep covers everyone ever
erased, so a rerun after a crash finishes the job and a purge with nothing new changes nothing. ``opt_out``
requests are not erasures: they keep suppressing the person in the dbt models.

Counts per table are logged, never an identifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import EntitySpec
from narrowcast.privacy.erasure import erase_in_files, erase_in_quarantine, erase_in_table, landed_files
from narrowcast.privacy.subjects import ErasedSubjects, normalised
from narrowcast.warehouse import Warehouse

log = redacting_logger(__name__)

REQUESTS = "raw.file_privacy_requests"


@dataclass(frozen=True)
class TableErasure:
    rows_blanked: int
    files_rewritten: int
    quarantined_deleted: int


@dataclass
class PurgeReport:
    new_identifiers: int = 0
    tables: dict[str, TableErasure] = field(default_factory=dict)


def purge_deleted(
    wh: Warehouse,
    specs: Iterable[EntitySpec],
    landing: Path,
    *,
    before_erasure: Callable[[list[str]], None] | None = None,
) -> PurgeReport:
    """Erase every person with a ``delete`` request; ``before_erasure`` gets their e-mails first (e.g. to delete
    their profiles at an e-mail tool), while the warehouse still knows them."""
    specs = [s for s in specs if s.personal]
    emails, customer_ids = _requested(wh)
    if emails or customer_ids:
        _widen(wh, specs, emails, customer_ids)
    if before_erasure is not None and emails:
        before_erasure(sorted(emails))
    known = ErasedSubjects.load(wh)
    with wh.transaction():
        erased = ErasedSubjects.record(wh, emails, customer_ids) if emails or customer_ids else known
    report = PurgeReport(new_identifiers=len(erased.hashes) - len(known.hashes))
    if not erased:
        log.info("privacy purge: nobody to erase")
        return report
    with wh.transaction():
        blanked = {s.name: erase_in_table(wh, s, erased) for s in specs}
        quarantined = {s.name: erase_in_quarantine(wh, s, erased) for s in specs}
    for spec in specs:
        entry = TableErasure(blanked[spec.name], erase_in_files(landed_files(landing, spec), spec, erased),
                             quarantined[spec.name])
        report.tables[spec.name] = entry
        log.info("privacy purge: %s: %d row(s) blanked, %d landed file(s) rewritten, %d quarantined row(s) deleted",
                 spec.name, entry.rows_blanked, entry.files_rewritten, entry.quarantined_deleted)
    log.info("privacy purge: %d new identifier(s) erased, %d in all", report.new_identifiers, len(erased.hashes))
    return report


def _requested(wh: Warehouse) -> tuple[set[str], set[str]]:
    """The e-mails and customer keys of the delete requests still holding them (not yet erased)."""
    if not wh.table_exists("raw", "file_privacy_requests"):
        return set(), set()
    rows = wh.fetchall(f"select email, customer_id from {REQUESTS} where request_type = 'delete' "
                       "and (email is not null or customer_id is not null)")
    emails = {e for e in (normalised("email", r[0]) for r in rows) if e}
    customer_ids = {c for c in (normalised("customer_id", r[1]) for r in rows) if c}
    return emails, customer_ids


def _widen(wh: Warehouse, specs: list[EntitySpec], emails: set[str], customer_ids: set[str]) -> None:
    """Add the identifiers tables tie to the requested ones: one table holding both an e-mail and a customer
    key links them (the shop's customers, its orders, the orders export)."""
    for spec in specs:
        if not (spec.subject_email and spec.subject_id and wh.table_exists("raw", spec.name)):
            continue
        email, key = quote_ident(spec.subject_email), quote_ident(spec.subject_id)
        wanted_emails, wanted_ids = sorted(emails), sorted(customer_ids)
        conditions = []
        if wanted_emails:
            conditions.append(f"lower(trim({email})) in ({', '.join('?' for _ in wanted_emails)})")
        if wanted_ids:
            conditions.append(f"cast({key} as varchar) in ({', '.join('?' for _ in wanted_ids)})")
        for found_email, found_id in wh.fetchall(
                f"select distinct {email}, cast({key} as varchar) from {spec.table} where {' or '.join(conditions)}",
                wanted_emails + wanted_ids):
            if (e := normalised("email", found_email)) is not None:
                emails.add(e)
            if (c := normalised("customer_id", found_id)) is not None:
                customer_ids.add(c)
