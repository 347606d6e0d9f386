"""Who has been erased, kept only as salted hashes in ``meta.erased_subjects``.

A person who asked for deletion must stay erased when their records come back (a shop backfill, a marketplace
order re-read), so the pipeline has to recognise them without keeping their e-mail or customer key: each
identifier is stored as an HMAC-SHA-256 under a salt that lives outside the warehouse and the repository
(``NARROWCAST_ERASURE_SALT``, an environment variable or Airflow secret). E-mails are normalised (trimmed,
lower-cased) before hashing; customer keys are hashed exactly as written, as text.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from narrowcast import settings
from narrowcast.contracts.timestamps import utc_naive
from narrowcast.warehouse import Warehouse

SALT_VARIABLE = "NARROWCAST_ERASURE_SALT"
TABLE = "meta.erased_subjects"
LOCAL_SALT_FILE = ".erasure_salt"
Kind = Literal["email", "customer_id"]


class ErasureSaltMissing(RuntimeError):
    """Erased subjects exist (or must be recorded) but no salt is configured to recognise them."""


def salt() -> bytes:
    """The deployment's salt (``NARROWCAST_ERASURE_SALT``), else the one the local runtime keeps in the data
    directory: a process started outside ``narrowcast`` (an Airflow worker on the same data) erases alike."""
    value = os.environ.get(SALT_VARIABLE, "")
    kept = settings.paths().data_dir / LOCAL_SALT_FILE
    if not value and kept.is_file():
        value = kept.read_text().strip()
    if not value:
        raise ErasureSaltMissing(
            f"{SALT_VARIABLE} is not set: erased people are recognised by identifiers hashed with this secret; set "
            "it (a long random string, the same in every environment that loads data) and keep it out of git"
        )
    return value.encode()


def local_salt(data_dir: Path) -> str:
    """The local runtime's salt: random, made once and kept in its data directory (never in git).

    Only the local runtime uses it; a deployment sets ``NARROWCAST_ERASURE_SALT`` from its secrets, the same on
    every worker, because a salt that changes forgets who was erased.
    """
    path = data_dir / LOCAL_SALT_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def normalised(kind: Kind, value: object) -> str | None:
    """The form an identifier is hashed in; None for a missing one."""
    if value is None:
        return None
    text = str(value).strip().lower() if kind == "email" else str(value)
    return text or None


def ensure_table(wh: Warehouse) -> None:
    wh.ensure_schema("meta")
    wh.execute(f"create table if not exists {TABLE} (kind VARCHAR, subject_hash VARCHAR, erased_at TIMESTAMP)")


@dataclass(frozen=True)
class ErasedSubjects:
    """The salted hashes of every erased identifier, and the test whether a value is one of them."""

    key: bytes
    hashes: frozenset[tuple[str, str]]

    def digest(self, kind: Kind, value: str) -> str:
        return hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def erased(self, kind: Kind, value: object) -> bool:
        text = normalised(kind, value)
        return text is not None and (kind, self.digest(kind, text)) in self.hashes

    def __bool__(self) -> bool:
        return bool(self.hashes)

    @classmethod
    def load(cls, wh: Warehouse) -> ErasedSubjects:
        """Everyone erased so far; the salt is only required once someone has been."""
        if not wh.table_exists("meta", "erased_subjects"):
            return cls(b"", frozenset())
        hashes = frozenset((str(k), str(h)) for k, h in wh.fetchall(f"select kind, subject_hash from {TABLE}"))
        return cls(salt() if hashes else b"", hashes)

    @classmethod
    def record(cls, wh: Warehouse, emails: Iterable[str], customer_ids: Iterable[str]) -> ErasedSubjects:
        """Add these identifiers (already normalised) to ``meta.erased_subjects``; return everyone erased."""
        ensure_table(wh)
        current = cls.load(wh)
        subjects = cls(salt(), current.hashes)
        new = {("email", subjects.digest("email", e)) for e in emails}
        new |= {("customer_id", subjects.digest("customer_id", c)) for c in customer_ids}
        new -= subjects.hashes
        now = utc_naive(datetime.now(UTC))
        for kind, digest in sorted(new):
            wh.execute(f"insert into {TABLE} values (?, ?, ?)", [kind, digest, now])
        return cls(subjects.key, subjects.hashes | new)
