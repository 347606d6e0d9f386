"""How a delivered CSV is written — separator, quote, encoding, decimal and date conventions (the values'
conventions are settled in ``narrowcast.sources.files.values``).

Merchants' systems export in their locale: an Italian Excel save is ``;``-separated Windows-1252 with
``59,90`` and ``01/08/2026``. What the bytes show is detected; what they cannot show is declared per file
pattern in ``inbox/dialects.yml`` (see README "File drops"). Nothing ambiguous is guessed: a file whose dates
all read both ways (every day ≤ 12), or whose amounts are all like ``1.234``, fails until it is declared.
Values that do not parse are left as they are, so the quality gate quarantines the row with its file:line.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from narrowcast.sources.files.errors import InputFileError

DECLARATIONS_FILE = "dialects.yml"
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DATE_ORDERS = ("dmy", "mdy", "ymd")
_SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", **{s: s for s in SEPARATORS}}
_READ_BLOCK = 1 << 20
_SNIFF_CHARS = 64 * 1024
_SNIFF_LINES = 50
_UTF8_BOM = codecs.BOM_UTF8
_ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252", "iso8859-1": "Latin-1"}


@dataclass(frozen=True)
class Declaration:
    """What ``dialects.yml`` states for a file; ``None`` means "detect it"."""

    separator: str | None = None
    quote: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    date_order: str | None = None


def declaration_for(path: Path) -> Declaration:
    """The first entry of the inbox's ``dialects.yml`` whose pattern matches the file (an empty one if none)."""
    source = path.parent / DECLARATIONS_FILE
    if not source.is_file():
        return Declaration()
    try:
        entries = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputFileError(path.name, "dialect:invalid_declaration", f"{DECLARATIONS_FILE} is not valid YAML: "
                             f"{' '.join(str(exc).split())}") from None
    if not isinstance(entries, dict):
        raise InputFileError(path.name, "dialect:invalid_declaration",
                             f"{DECLARATIONS_FILE} must map file patterns to settings")
    for pattern, settings in entries.items():
        if fnmatch.fnmatch(path.name, str(pattern)):
            return _declaration(path.name, str(pattern), settings)
    return Declaration()


def _declaration(file_name: str, pattern: str, settings: object) -> Declaration:
    def bad(detail: str) -> InputFileError:
        return InputFileError(file_name, "dialect:invalid_declaration", f"{DECLARATIONS_FILE} {pattern!r}: {detail}")

    if not isinstance(settings, dict):
        raise bad("expected settings such as `separator: \";\"`")
    known = ("separator", "quote", "encoding", "decimal", "date_order")
    unknown = [str(k) for k in settings if k not in known]
    if unknown:
        raise bad(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    values = {k: None if v is None else str(v) for k, v in settings.items()}
    if values.get("separator") is not None:
        if values["separator"] not in _SEPARATOR_NAMES:
            raise bad(f"separator {values['separator']!r} is not one of , ; tab |")
        values["separator"] = _SEPARATOR_NAMES[values["separator"]]
    if values.get("quote") not in (None, '"', "'"):
        raise bad(f"quote {values['quote']!r} is not \" or '")
    if values.get("decimal") not in (None, ".", ","):
        raise bad(f"decimal {values['decimal']!r} is not . or ,")
    if values.get("date_order") is not None:
        values["date_order"] = values["date_order"].lower()
        if values["date_order"] not in DATE_ORDERS:
            raise bad(f"date_order {values['date_order']!r} is not one of {', '.join(DATE_ORDERS)}")
    if values.get("encoding") is not None:
        try:
            values["encoding"] = codecs.lookup(values["encoding"]).name
        except LookupError:
            raise bad(f"encoding {values['encoding']!r} is unknown") from None
    return Declaration(**values)


@dataclass(frozen=True)
class Dialect:
    """How one CSV file is read; ``declared`` names the settings that came from ``dialects.yml``."""

    separator: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    decimal: str = "."
    date_order: str = "ymd"
    declared: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        def how(name: str) -> str:
            return "declared" if name in self.declared else "detected"

        encoding = _ENCODING_NAMES.get(self.encoding, self.encoding)
        return (f"separator {SEPARATORS.get(self.separator, repr(self.separator))} ({how('separator')}), "
                f"encoding {encoding} ({how('encoding')})")


# ---------------------------------------------------------------------------------------------------- encoding


def detect_encoding(path: Path, declared: Declaration) -> str:
    """UTF-8 (with or without BOM) unless the bytes are not UTF-8, then Windows-1252; a declared encoding is
    checked, not trusted. Raises ``parse:encoding`` naming line, column and value of the first bad byte."""
    if declared.encoding is not None:
        bad = _first_undecodable(path, declared.encoding)
        if bad is not None:
            raise _encoding_error(path, declared.encoding, bad, f"is not valid {declared.encoding} (declared)")
        return "utf-8-sig" if declared.encoding == "utf-8" else declared.encoding
    bad_utf8 = _first_undecodable(path, "utf-8")
    if bad_utf8 is None:
        return "utf-8-sig"
    if _starts_with_bom(path):  # a BOM says UTF-8 outright: a stray byte is an error, not another encoding
        raise _encoding_error(path, "utf-8", bad_utf8, "is not valid UTF-8 (the file starts with a UTF-8 BOM)")
    bad_1252 = _first_undecodable(path, "cp1252")
    if bad_1252 is None:
        return "cp1252"
    first = _position(path, "utf-8", bad_utf8)
    raise _encoding_error(path, "cp1252", bad_1252, f"is not valid UTF-8 (first at {first}) nor Windows-1252; "
                                                    f"declare the encoding in {DECLARATIONS_FILE}")


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_UTF8_BOM)) == _UTF8_BOM


def _first_undecodable(path: Path, encoding: str) -> int | None:
    """The file offset of the first byte ``encoding`` cannot decode, or None; reads in blocks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(_READ_BLOCK)
            pending = len(decoder.getstate()[0])  # bytes of a character split across blocks, kept by the decoder
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            if not block:
                return None
            offset += len(block)


def _position(path: Path, encoding: str, offset: int) -> str:
    """'byte 0xE0 at line 3, column 17' (1-based; the column counts the characters before it on its line)."""
    with path.open("rb") as handle:
        before = handle.read(offset + 1)
    line_start = before.rfind(b"\n", 0, offset) + 1
    column = len(before[line_start:offset].decode(encoding, errors="replace")) + 1
    line = before.count(b"\n", 0, offset) + 1
    return f"byte 0x{before[offset]:02X} at line {line}, column {column}"


def _encoding_error(path: Path, encoding: str, offset: int, why: str) -> InputFileError:
    return InputFileError(path.name, "parse:encoding", f"{_position(path, encoding, offset)} {why}")


# ------------------------------------------------------------------------------------------ separator and quote


def sniff(path: Path, encoding: str, expected: Iterable[str], declared: Declaration) -> Dialect:
    """Separator and quote from the file's head: the separator that splits the header into the most expected
    column names, then into consistent rows; a comma when nothing tells them apart."""
    with path.open(encoding=encoding, newline="") as handle:
        head = handle.read(_SNIFF_CHARS)
    lines = head.splitlines()[:_SNIFF_LINES]
    names = set(expected)
    quote = declared.quote or _quote_of(lines)
    candidates = [declared.separator] if declared.separator else list(SEPARATORS)

    def score(separator: str) -> tuple[int, int, int]:
        rows = [r for r in csv.reader(lines, delimiter=separator, quotechar=quote) if r]
        if not rows:
            return (0, 0, 0)
        header = rows[0]
        known = sum(c.strip().lower() in names for c in header)
        consistent = sum(len(r) == len(header) for r in rows[1:])
        return (known, consistent if len(header) > 1 else 0, len(header))

    separator = max(candidates, key=score)  # max keeps the first on ties: the comma
    chosen = {k for k in ("separator", "quote", "encoding", "decimal", "date_order") if getattr(declared, k)}
    return Dialect(separator, quote, encoding, declared=frozenset(chosen))


def _quote_of(lines: list[str]) -> str:
    def wrapped(q: str) -> int:
        pattern = re.compile(rf"(?:^|[,;\t|]){q}[^{q}]*{q}(?:[,;\t|]|$)")
        return sum(len(pattern.findall(line)) for line in lines)

    return "'" if wrapped('"') == 0 and wrapped("'") > 0 else '"'
