"""Readers of the two formats the ECB publishes its reference rates in, as ``(date, currency, rate)`` triples.

- XML (``eurofxref-daily.xml``, ``eurofxref-hist-90d.xml``, ``eurofxref-hist.xml``): a gesmes ``Envelope`` in
  the namespace ``http://www.ecb.int/vocabulary/2002-08-01/eurofxref`` whose ``Cube`` holds one
  ``<Cube time='YYYY-MM-DD'>`` per working day, each holding ``<Cube currency='USD' rate='1.0811'/>``.
- CSV (``eurofxref-hist.csv`` in ``eurofxref-hist.zip``): header ``Date,USD,JPY,…,`` with one column per currency
  ever published (the lines end with a comma), one row per working day, newest first; ``N/A`` where a currency
  had no rate that day (not yet published, or discontinued).

A day the ECB did not fix (weekend, TARGET holiday) is simply absent. Rates are units of the currency per 1 EUR.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation

EUROFXREF_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
MISSING = "N/A"

Rate = tuple[date, str, Decimal]


class EcbFormatError(ValueError):
    """A published file that does not read as the ECB's format; the message names the file and the place."""


def _rate(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise EcbFormatError(f"{where}: rate {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise EcbFormatError(f"{where}: rate {text!r} is not a positive number")
    return value


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise EcbFormatError(f"{where}: {text!r} is not a YYYY-MM-DD date") from None


def read_xml(content: bytes, ref: str) -> Iterator[Rate]:
    """Every (day, currency, rate) of an eurofxref XML file (the daily one or a history)."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise EcbFormatError(f"{ref}: not XML ({exc})") from None
    outer = root.find(f"{EUROFXREF_NS}Cube")
    if outer is None:
        raise EcbFormatError(f"{ref}: no eurofxref Cube element (is this the ECB reference-rate XML?)")
    for day_cube in outer.findall(f"{EUROFXREF_NS}Cube"):
        where = f"{ref} Cube time={day_cube.get('time')!r}"
        day = _day(day_cube.get("time") or "", where)
        for cube in day_cube.findall(f"{EUROFXREF_NS}Cube"):
            currency = (cube.get("currency") or "").strip().upper()
            if len(currency) != 3:
                raise EcbFormatError(f"{where}: currency {cube.get('currency')!r} is not an ISO 4217 code")
            yield day, currency, _rate(cube.get("rate") or "", f"{where} {currency}")


def read_history_csv(content: bytes, ref: str) -> Iterator[Rate]:
    """Every (day, currency, rate) of ``eurofxref-hist.csv``; ``N/A`` cells are days without a rate."""
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    header = [name.strip().upper() for name in next(reader, [])]
    if not header or header[0] != "DATE":
        raise EcbFormatError(f"{ref}: the first column is not 'Date' (header {header[:3]!r})")
    currencies = [(i, name) for i, name in enumerate(header) if i > 0 and name]  # the trailing comma: no name
    for fields in reader:
        if not fields or not fields[0].strip():
            continue
        where = f"{ref} line {reader.line_num}"
        day = _day(fields[0], where)
        for i, currency in currencies:
            cell = fields[i].strip() if i < len(fields) else ""
            if cell and cell != MISSING:
                yield day, currency, _rate(cell, f"{where} {currency}")
