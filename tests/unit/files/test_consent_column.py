"""The orders export's optional ``accepts_marketing`` column: yes and no as merchants write them, in their
language; an empty cell states nothing; any other value quarantines its row, naming file:line and the column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from inbox_runs import query

from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source
from narrowcast.sources.files.values import normalise_boolean

WINDOW = Window(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 8, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    ("written", "read"),
    [
        *[pytest.param(word, "true", id=f"{word!r} is yes") for word in (
            "true", "TRUE", "yes", "Yes", "Y", "1", "ja", "JA", "oui", "Oui", "sì", "sí", "Sí", "si", " yes ")],
        *[pytest.param(word, "false", id=f"{word!r} is no") for word in (
            "false", "False", "no", "NO", "n", "0", "nein", "Nein", "non", "NON")],
        *[pytest.param(word, word, id=f"{word!r} is left for the quality gate to reject") for word in (
            "maybe", "unknown", "2", "jein", "subscribed", "oui!")],
    ],
)
def test_yes_and_no_are_read_in_the_merchants_words_and_nothing_else_is(written: str, read: str) -> None:
    assert normalise_boolean(written) == read


def test_consent_loads_as_a_boolean_and_a_bad_value_quarantines_its_row_naming_line_and_column(
    tmp_path: Path, inbox: Path
) -> None:
    # GIVEN a semicolon export whose consent column says yes, no, nothing, and once something else
    (inbox / "orders_export_consent.csv").write_bytes(
        "order_id;customer_id;ordered_at;currency;total_price;accepts_marketing\r\n"
        "A-1;c1;31.07.2026;EUR;10,00;Ja\r\n"
        "A-2;c2;31.07.2026;EUR;10,00;non\r\n"
        "A-3;c3;31.07.2026;EUR;10,00;\r\n"
        "A-4;c4;31.07.2026;EUR;10,00;vielleicht\r\n".encode("cp1252")
    )
    # WHEN the inbox is extracted (one bad row in four is over the default threshold: allow it)
    run_source("inbox", None, WINDOW, data_dir=tmp_path, warehouse=tmp_path / "wh.duckdb", threshold=0.5)
    # THEN the stated answers load as booleans, the empty cell as NULL
    assert query(tmp_path, "select order_id, accepts_marketing from raw.file_orders order by order_id") == [
        ("A-1", True), ("A-2", False), ("A-3", None)]
    # AND the row with the unreadable value is quarantined under its column, at its line
    assert query(tmp_path, "select rule, source_ref from meta.quarantine") == [
        ("type:accepts_marketing", "orders_export_consent.csv:5")]
