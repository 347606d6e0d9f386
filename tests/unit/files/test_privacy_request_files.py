"""Privacy request files: a request names the person by e-mail, by text customer id or both, and one bad line
rejects the whole file instead of being quarantined away under the threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from inbox_runs import query, run_inbox

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed

WINDOW = Window(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC))

# As a merchant's helpdesk writes it: semicolons, day-first dates, an e-mail-only line, text ids.
MERCHANT_FILE = (
    "customer_id;email;request_type;requested_at\n"
    ";Someone@Example.org;opt_out;30/03/2026\n"
    "C-17;;delete;30/03/2026\n"
    "00017;anna@example.de;opt_out;31/03/2026\n"
)


def _run(tmp_path: Path) -> None:
    run_inbox(tmp_path, WINDOW)


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    return query(tmp_path, sql)


def test_an_email_only_request_and_text_customer_ids_load_exactly_as_written(tmp_path: Path, inbox: Path) -> None:
    # GIVEN a privacy file with an e-mail-only line and text ids with a prefix and leading zeros
    (inbox / "privacy_requests_20260331.csv").write_text(MERCHANT_FILE)
    # WHEN the inbox loads
    _run(tmp_path)
    # THEN every request is in the raw table, keyed by its line, ids kept as text
    assert _query(tmp_path, "select line_number, customer_id, email, request_type from raw.file_privacy_requests "
                            "order by line_number") == [
        (2, None, "Someone@Example.org", "opt_out"),
        (3, "C-17", None, "delete"),
        (4, "00017", "anna@example.de", "opt_out"),
    ]
    assert _query(tmp_path, "select count(*) from meta.quarantine") == [(0,)]


def _many_valid_lines(n: int) -> str:
    return "".join(f"C-{i};;opt_out;30/03/2026\n" for i in range(n))


@pytest.mark.parametrize(
    ("bad_line", "rule"),
    [
        pytest.param(";;delete;30/03/2026\n", "any_not_null:customer_id|email", id="a line without e-mail or id"),
        pytest.param("C-9;;forget-me;30/03/2026\n", "accepted_values:request_type", id="an unknown request type"),
        pytest.param("C-9;;delete;\n", "not_null:requested_at", id="a line without a date"),
    ],
)
def test_one_bad_line_among_many_fails_the_whole_file_naming_line_and_rule(
    tmp_path: Path, inbox: Path, bad_line: str, rule: str
) -> None:
    # GIVEN a privacy file of 60 good lines and one bad one: 1.6 %, under the quarantine threshold
    text = "customer_id;email;request_type;requested_at\n" + _many_valid_lines(30) + bad_line + _many_valid_lines(30)
    (inbox / "privacy_requests_20260331.csv").write_text(text)
    # WHEN the inbox loads THEN the run fails naming the file's line 32 and the rule it broke
    with pytest.raises(ExtractFailed, match=rf"privacy_requests_20260331\.csv:32: {rule.replace('|', '[|]')}"):
        _run(tmp_path)
    # AND no request of the file loaded: the merchant fixes the line and drops the file again
    assert _query(tmp_path, "select count(*) from raw.file_privacy_requests") == [(0,)]
    assert _query(tmp_path, "select status from meta.files") == [("failed",)]
