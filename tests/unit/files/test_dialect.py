"""CSV dialects: what the file shows is detected, what it cannot show is declared, nothing ambiguous is guessed."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from narrowcast.sources.files.errors import InputFileError
from narrowcast.sources.files.inbox import check_file, read_file
from narrowcast.sources.files.kinds import kind_of
from narrowcast.sources.files.values import normalise_moment, normalise_number

NAME = "orders_export_x.csv"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def _read(path: Path) -> list[dict]:
    kind = kind_of(path.name)
    return pa.concat_tables(read_file(path, kind, check_file(path, kind))).select(
        ["ordered_at", "total_price"]).to_pylist()


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        pytest.param("59,90", ",", "59.90", id="a decimal comma"),
        pytest.param("1.234,56", ",", "1234.56", id="dots grouping thousands before a decimal comma"),
        pytest.param("1,234.56", ".", "1234.56", id="commas grouping thousands before a decimal point"),
        pytest.param("€ 1.234,56", ",", "1234.56", id="an Excel currency cell"),
        pytest.param("59,90\u00a0€", ",", "59.90", id="a trailing euro sign after a no-break space"),
        pytest.param("-12,50", ",", "-12.50", id="a negative amount"),
        pytest.param("1.234", ",", "1234", id="a whole number with a thousands dot"),
        pytest.param("12.50", ".", "12.50", id="a plain amount unchanged"),
        pytest.param("12,3,4", ".", "12,3,4", id="a malformed amount left for the quality gate"),
    ],
)
def test_amounts_are_normalised_to_a_decimal_point(text: str, decimal: str, expected: str) -> None:
    assert normalise_number(text, decimal) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        pytest.param("01/08/2026", "dmy", "2026-08-01", id="day-first with slashes"),
        pytest.param("01.08.2026", "dmy", "2026-08-01", id="day-first with dots"),
        pytest.param("08/01/2026", "mdy", "2026-08-01", id="month-first when declared"),
        pytest.param("31/08/2026 18:30", "dmy", "2026-08-31 18:30:00", id="day-first with a time"),
        pytest.param("2026-08-06 21:14:03 +0200", "ymd", "2026-08-06 21:14:03+02:00", id="an offset without colon"),
        pytest.param("Aug 12, 2026 12:15:40 AM", "ymd", "2026-08-12 00:15:40", id="a named month at 12 AM"),
        pytest.param("2026-08-01T10:15:00Z", "dmy", "2026-08-01T10:15:00Z", id="ISO unchanged whatever the order"),
        pytest.param("32/08/2026", "dmy", "32/08/2026", id="an impossible date left for the quality gate"),
    ],
)
def test_dates_are_normalised_to_iso(text: str, order: str, expected: str) -> None:
    assert normalise_moment(text, order) == expected


@pytest.mark.parametrize(
    "separator", [pytest.param("\t", id="tab"), pytest.param("|", id="pipe"), pytest.param(";", id="semicolon")]
)
def test_the_separator_is_detected(inbox: Path, separator: str) -> None:
    path = inbox / NAME
    path.write_text("\n".join(separator.join(r) for r in (
        ("order_id", "customer_id", "ordered_at", "currency", "total_price"),
        ("A-1", "c1", "2026-08-01", "EUR", "19.99"),
    )) + "\n")
    assert _read(path) == [{"ordered_at": "2026-08-01", "total_price": "19.99"}]


AMBIGUOUS = "order_id;customer_id;ordered_at;currency;total_price\nA-1;c1;01/08/2026;EUR;19,99\nA-2;c2;02/08/2026;EUR;5,00\n"
MONTH_FIRST = "order_id,customer_id,ordered_at,currency,total_price\nA-1,c1,08/01/2026,EUR,19.99\nA-2,c2,08/25/2026,EUR,5.00\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(AMBIGUOUS, r"parse:ambiguous_date_order: every date reads day-first and month-first alike "
                                r"\('01/08/2026' at line 2, column ordered_at: no day above 12\); declare "
                                r"`date_order: dmy` or `mdy` in dialects.yml", id="dates with every day up to 12"),
        pytest.param(MONTH_FIRST, r"parse:undeclared_date_order: dates are month-first \('08/25/2026' at line 3, "
                                  r"column ordered_at\); month-first is read only when declared",
                     id="undeclared month-first dates"),
        pytest.param(MONTH_FIRST.replace("08/01/2026", "25/08/2026"),
                     r"parse:mixed_date_order: dates are day-first \('25/08/2026' at line 2, column ordered_at\) "
                     r"and month-first \('08/25/2026' at line 3, column ordered_at\)", id="day-first and month-first"),
        pytest.param(MONTH_FIRST.replace("19.99", '"19,99"'),
                     r"parse:mixed_decimal: amounts use both decimal separators: '5.00' at line 3, column "
                     r"total_price and '19,99' at line 2", id="both decimal separators"),
        pytest.param(AMBIGUOUS.replace("19,99", "1.234").replace("5,00", "2.500"),
                     r"parse:ambiguous_decimal: '1.234' at line 2, column total_price reads as a decimal or with a "
                     r"thousands separator", id="amounts that are all like 1.234"),
    ],
)
def test_what_cannot_be_told_apart_fails_and_asks_for_a_declaration(inbox: Path, content: str, message: str) -> None:
    path = inbox / NAME
    path.write_text(content)
    with pytest.raises(InputFileError, match=rf"^{NAME}: {message}"):
        check_file(path, kind_of(NAME))


@pytest.mark.parametrize(
    ("content", "declaration", "expected"),
    [
        pytest.param(AMBIGUOUS, "date_order: dmy", [("2026-08-01", "19.99"), ("2026-08-02", "5.00")],
                     id="ambiguous dates declared day-first"),
        pytest.param(MONTH_FIRST, "date_order: mdy", [("2026-08-01", "19.99"), ("2026-08-25", "5.00")],
                     id="month-first dates declared"),
        pytest.param(AMBIGUOUS.replace("19,99", "1.234").replace("5,00", "2.500"), "date_order: dmy\n  decimal: ','",
                     [("2026-08-01", "1234"), ("2026-08-02", "2500")], id="thousands dots declared"),
    ],
)
def test_a_declaration_in_dialects_yml_settles_what_the_values_cannot(
    inbox: Path, content: str, declaration: str, expected: list[tuple]
) -> None:
    (inbox / "dialects.yml").write_text(f'"orders_export_x*.csv":\n  {declaration}\n"*":\n  date_order: ymd\n')
    path = inbox / NAME
    path.write_text(content)
    assert [(r["ordered_at"], r["total_price"]) for r in _read(path)] == expected


def test_an_invalid_declaration_names_the_setting(inbox: Path) -> None:
    (inbox / "dialects.yml").write_text('"orders_export_*.csv":\n  decimal_separator: ","\n')
    path = inbox / NAME
    path.write_text(AMBIGUOUS)
    with pytest.raises(InputFileError, match=r"dialect:invalid_declaration: dialects.yml 'orders_export_\*.csv': "
                                             r"unknown setting\(s\) decimal_separator"):
        check_file(path, kind_of(NAME))
