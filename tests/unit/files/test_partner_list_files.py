"""Partner lists (``partner_list_*.csv``): each contact loads with its lawful basis and allowed uses; a row without
an e-mail or with a basis outside consent / legitimate_interest / contract is quarantined with its line and
rule, and the rest of the file loads."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from inbox_runs import query

from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source

WINDOW = Window(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 8, 2, tzinfo=UTC))
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "partner_lists" / "partner_list_greenblog_2026-07.csv"


def test_a_partner_list_loads_its_contacts_and_quarantines_rows_without_email_or_a_known_basis(
    tmp_path: Path, inbox: Path
) -> None:
    # GIVEN a semicolon, CRLF, day-first partner list with three good rows and three bad ones
    shutil.copy(FIXTURE, inbox / FIXTURE.name)
    # WHEN the inbox is extracted (half the rows are bad: allow it)
    run_source("inbox", None, WINDOW, data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb", threshold=0.6)
    # THEN the good rows load with their basis, uses and dates, keyed by their line
    assert query(tmp_path, "select line_number, partner_id, email, consent_basis, allowed_uses, collected_at "
                           "from raw.file_partner_lists order by line_number") == [
        (2, "GreenBlog", "Zoe@Example.org", "consent", "email|ads", datetime(2026, 7, 23)),
        (3, "greenblog", "yan@example.org", "legitimate_interest", "email", datetime(2026, 7, 24, 10, 15)),
        (4, "greenblog", "xia@example.org", "contract", None, None),
    ]
    # AND each bad row is quarantined at its line under the rule it broke (the basis is checked as written)
    assert sorted(query(tmp_path, "select source_ref, rule from meta.quarantine")) == [
        (f"{FIXTURE.name}:5", "not_null:email"),
        (f"{FIXTURE.name}:6", "accepted_values:consent_basis"),
        (f"{FIXTURE.name}:7", "accepted_values:consent_basis"),
    ]
