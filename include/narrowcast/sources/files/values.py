"""A delivered file's values in the forms the contract's types parse: decimal commas and grouped thousands,
day-first and named-month dates, lower-case currency codes, yes/no in the merchant's language.

What a column's values show decides the decimal separator and date order; what they cannot show must be declared
(``inbox/dialects.yml``). Values that do not parse are left as they are, so the quality gate quarantines the row
with its file:line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.sources.files.dialect import DECLARATIONS_FILE, Declaration, Dialect
from narrowcast.sources.files.errors import InputFileError

# --------------------------------------------------------------------------------------- numbers and dates

_MONEY_NOISE = str.maketrans("", "", "€$£ \u00a0\u202f")
_GROUPED = {
    ".": re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"),
    ",": re.compile(r"[-+]?\d{1,3}(?:\.\d{3})+(?:,\d+)?"),
}
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ,]\s*(.+))?")
_DAY_OR_MONTH_FIRST = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})(?:[T ,]\s*(.+))?")
_MONTH_NAMED = re.compile(r"([A-Za-z]{3})[a-z]*\.? (\d{1,2}), (\d{4})(?:,? (.+))?")  # Magento: Aug 1, 2026 2:03:45 PM
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?(?:\s*([AaPp][Mm]))?(?:\s*(Z|[+-]\d{2}:?\d{2}))?")
_ISO_PLAIN = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?")


def decimal_hint(text: str) -> str | None:
    """'.' or ',' when the value shows its decimal separator, '?' when it could be either (``1.234``), None
    when it says nothing (an integer, not a number)."""
    s = text.translate(_MONEY_NOISE).lstrip("+-")
    if not s or s.isdigit():
        return None
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        return "," if s.rfind(",") > s.rfind(".") else "."
    if dots + commas > 1:
        return "," if dots else "."  # only thousands separators repeat
    separator = "." if dots else ","
    whole, _, fraction = s.partition(separator)
    if not fraction.isdigit() or not (whole == "" or whole.isdigit()):
        return None
    if len(fraction) == 3 and 1 <= len(whole) <= 3 and whole[0] != "0":
        return "?"
    return separator


def normalise_number(text: str, decimal: str) -> str:
    """``1.234,56`` → ``1234.56`` for ``decimal=','`` (currency symbols and spaces dropped); unparseable stays."""
    s = text.translate(_MONEY_NOISE)
    if _PLAIN_NUMBER.fullmatch(s) and (decimal == "." or "." not in s):
        return s
    thousands = "," if decimal == "." else "."
    if thousands in s:
        if not _GROUPED[decimal].fullmatch(s):
            return text
        s = s.replace(thousands, "")
    s = s.replace(decimal, ".")
    return s if _PLAIN_NUMBER.fullmatch(s) else text


def date_hint(text: str) -> str | None:
    """'dmy' or 'mdy' when a numeric date shows its order (a part above 12), '?' when it reads both ways."""
    match = _DAY_OR_MONTH_FIRST.fullmatch(text.strip())
    if match is None:
        return None
    first, second = int(match.group(1)), int(match.group(3))
    if first == second or (first > 12 and second > 12):
        return None
    if first > 12:
        return "dmy"
    if second > 12:
        return "mdy"
    return "?"


def normalise_moment(text: str, date_order: str) -> str:
    """A date or timestamp as ISO 8601 (``2026-08-01`` or ``2026-08-01 14:03:00+02:00``); unparseable stays."""
    s = text.strip()
    if _ISO_PLAIN.fullmatch(s):
        return s
    if match := _YEAR_FIRST.fullmatch(s):
        year, month, day, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
    elif match := _DAY_OR_MONTH_FIRST.fullmatch(s):
        a, b = int(match[1]), int(match[3])
        if date_order not in ("dmy", "mdy") and a != b:
            return text  # the file's dates are year-first: this one is not, the quality gate flags it
        day, month = (a, b) if date_order == "dmy" else (b, a)
        year, rest = int(match[4]), match[5]
    elif (match := _MONTH_NAMED.fullmatch(s)) and match[1].lower() in _MONTHS:
        year, month, day, rest = int(match[3]), _MONTHS[match[1].lower()], int(match[2]), match[4]
    else:
        return text
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return text
    iso = f"{year:04d}-{month:02d}-{day:02d}"
    if rest is None:
        return iso
    clock = _TIME.fullmatch(rest.strip())
    if clock is None:
        return text
    hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
    if clock[5]:
        if not 1 <= hour <= 12:
            return text
        hour = hour % 12 + (12 if clock[5].lower() == "pm" else 0)
    offset = clock[6] or ""
    if len(offset) == 5:  # +0200 → +02:00, the form the warehouse's offset handling reads
        offset = f"{offset[:3]}:{offset[3:]}"
    return f"{iso} {hour:02d}:{minute:02d}:{second:02d}{clock[4] or ''}{offset}"


# Yes and no as shop systems and merchants' spreadsheets write them; only these words, so a value such as
# 'pending' or 'unknown' is never guessed into a consent.
_BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "ja", "oui", "sì", "sí", "si"), "true"),
    **dict.fromkeys(("false", "f", "no", "n", "0", "nein", "non"), "false"),
}


def normalise_boolean(text: str) -> str:
    """``Ja``, ``OUI``, ``y``, ``1`` → ``true``; ``nein``, ``non``, ``N``, ``0`` → ``false``; anything else stays."""
    return _BOOLEAN_WORDS.get(text.strip().casefold(), text)


# ----------------------------------------------------------------------------------------- columns and evidence


@dataclass(frozen=True)
class ValueColumns:
    """Which columns of a file hold amounts, whole numbers, dates, currency codes or yes/no values (from the
    contract's types)."""

    decimals: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    moments: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()

    @classmethod
    def of(cls, types: dict[str, str], currencies: Iterable[str] = ()) -> ValueColumns:
        def typed(*prefixes: str) -> tuple[str, ...]:
            return tuple(c for c, t in types.items() if t.upper().startswith(prefixes))

        return cls(typed("DECIMAL", "DOUBLE", "FLOAT", "REAL"), typed("INTEGER", "BIGINT", "SMALLINT"),
                   typed("TIMESTAMP", "DATE"), tuple(currencies), typed("BOOLEAN"))


class Evidence:
    """What the values of one file show about its decimal separator and date order, with a first example each."""

    def __init__(self, columns: ValueColumns) -> None:
        self._columns = columns
        self.decimal: dict[str, tuple[str, int, str]] = {}  # hint → (value, line, column)
        self.dates: dict[str, tuple[str, int, str]] = {}

    def see(self, table: pa.Table, lines: list[int]) -> None:
        """Take the evidence of one chunk of rows (text columns, ``lines`` their line numbers)."""
        for name in table.column_names:
            if name in self._columns.decimals:
                self._see(table.column(name), lines, name, _EVIDENT_AMOUNT, decimal_hint, self.decimal)
                if "." not in self.decimal:  # amounts like 59.90 skip the Python check, but are evidence
                    pointed = pc.fill_null(pc.match_substring_regex(table.column(name), _POINT_CENTS), False)
                    if (at := pc.index(pointed, True).as_py()) >= 0:
                        self.decimal["."] = (table.column(name)[at].as_py(), lines[at], name)
            elif name in self._columns.moments:
                self._see(table.column(name), lines, name, _CANONICAL_MOMENT, date_hint, self.dates)

    @staticmethod
    def _see(column: pa.ChunkedArray, lines: list[int], name: str, canonical: str,
             hint_of: Callable[[str], str | None], found: dict[str, tuple[str, int, str]]) -> None:
        for at in _off_pattern(column, canonical):
            value = column[at].as_py()
            if (hint := hint_of(value)) is not None and hint not in found:
                found[hint] = (value, lines[at], name)

    def resolve(self, dialect: Dialect, declared: Declaration, file_name: str) -> Dialect:
        """The dialect with decimal and date order settled; raises on mixed or undeclared ambiguous values."""
        return replace(dialect, decimal=self._decimal(declared, file_name), date_order=self._date_order(declared, file_name))

    def _decimal(self, declared: Declaration, file_name: str) -> str:
        if declared.decimal:
            return declared.decimal
        if "." in self.decimal and "," in self.decimal:
            raise InputFileError(file_name, "parse:mixed_decimal",
                                 f"amounts use both decimal separators: {_example(self.decimal['.'])} and "
                                 f"{_example(self.decimal[','])}")
        for separator in (".", ","):
            if separator in self.decimal:
                return separator
        if "?" in self.decimal:
            raise InputFileError(file_name, "parse:ambiguous_decimal",
                                 f"{_example(self.decimal['?'])} reads as a decimal or with a thousands "
                                 f"separator and no amount tells which; declare `decimal` in {DECLARATIONS_FILE}")
        return "."

    def _date_order(self, declared: Declaration, file_name: str) -> str:
        if declared.date_order:
            return declared.date_order
        if "dmy" in self.dates and "mdy" in self.dates:
            raise InputFileError(file_name, "parse:mixed_date_order",
                                 f"dates are day-first ({_example(self.dates['dmy'])}) and month-first "
                                 f"({_example(self.dates['mdy'])})")
        if "mdy" in self.dates:
            raise InputFileError(file_name, "parse:undeclared_date_order",
                                 f"dates are month-first ({_example(self.dates['mdy'])}); month-first is read only "
                                 f"when declared: set `date_order: mdy` in {DECLARATIONS_FILE}")
        if "dmy" in self.dates:
            return "dmy"
        if "?" in self.dates:
            raise InputFileError(file_name, "parse:ambiguous_date_order",
                                 f"every date reads day-first and month-first alike ({_example(self.dates['?'])}: "
                                 f"no day above 12); declare `date_order: dmy` or `mdy` in {DECLARATIONS_FILE}")
        return "ymd"


def _example(seen: tuple[str, int, str]) -> str:
    value, line, column = seen
    return f"{value!r} at line {line}, column {column}"


def normalise(table: pa.Table, columns: ValueColumns, dialect: Dialect) -> pa.Table:
    """The chunk with amounts, whole numbers, dates, currency codes and yes/no values rewritten to the contract's
    forms."""
    for at, name in enumerate(table.column_names):
        column = table.column(name)
        if name in columns.decimals or name in columns.integers:
            canonical = _CANONICAL_AMOUNT if dialect.decimal == "." else _CANONICAL_WHOLE
            column = _rewrite(column, canonical, lambda v: normalise_number(v, dialect.decimal))
        elif name in columns.moments:
            column = _rewrite(column, _CANONICAL_MOMENT, lambda v: normalise_moment(v, dialect.date_order))
        elif name in columns.currencies:
            column = currency_codes(column)
        elif name in columns.booleans:
            column = _rewrite(column, _CANONICAL_BOOLEAN, normalise_boolean)
        else:
            continue
        table = table.set_column(at, name, column)
    return table


def currency_codes(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO 4217 codes as the contract has them: ``eur`` and `` EUR`` are ``EUR``."""
    return pc.utf8_upper(pc.utf8_trim_whitespace(column))


# Values already in the contract's form are found by Arrow and left alone: only the rest goes through Python.
_CANONICAL_AMOUNT = r"^-?\d+(\.\d+)?$"
_CANONICAL_WHOLE = r"^-?\d+$"
_POINT_CENTS = r"^-?\d+\.\d{1,2}$"
_EVIDENT_AMOUNT = r"^-?\d+(\.\d{1,2})?$"  # a whole number (no evidence) or point cents ('.'): never ambiguous
_CANONICAL_MOMENT = "^" + _ISO_PLAIN.pattern + "$"
_CANONICAL_BOOLEAN = "^(true|false)$"


def _off_pattern(column: pa.ChunkedArray, canonical: str) -> list[int]:
    """Positions of the non-null values that do not match ``canonical``."""
    matches = pc.fill_null(pc.match_substring_regex(column, canonical), True)
    return pc.indices_nonzero(pc.invert(matches)).to_pylist()


def _rewrite(column: pa.ChunkedArray, canonical: str, rewrite: Callable[[str], str]) -> pa.ChunkedArray:
    positions = _off_pattern(column, canonical)
    if not positions:
        return column
    values = column.to_pylist()
    for at in positions:
        values[at] = rewrite(values[at])
    return pa.chunked_array([pa.array(values, pa.string())])
