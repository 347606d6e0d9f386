"""ECB euro reference rates emulator: the published files ``eurofxref-daily.xml``, ``eurofxref-hist-90d.xml``,
``eurofxref-hist.xml`` and ``eurofxref-hist.zip`` (``eurofxref-hist.csv``), as the ECB page "Euro foreign
exchange reference rates" describes them.

Rates come from a deterministic table, not the world: every TARGET working day from 4 January 1999 (the ECB's
first fixing) to today, for a fixed set of currencies, so any demo world finds a rate for each of its days. The
day's rates appear at 15:00 UTC (the ECB publishes "around 16:00 CET"). These are static files: an unknown
file is a plain HTTP 404, and there is no error envelope or rate-limit header to imitate.
"""

from __future__ import annotations

import io
import math
import threading
import zipfile
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from narrowcast.sandbox.framework import Emulator

FIRST_FIXING = date(1999, 1, 4)
PUBLISHED_AT_UTC_HOUR = 15
# Currency → (rate around which it moves, ISO date of its first fixing). A currency the ECB began quoting later
# (as it did for ISK, KRW or CNY) has N/A before its first day in the history CSV.
CURRENCIES: dict[str, tuple[float, date]] = {
    "USD": (1.12, FIRST_FIXING),
    "JPY": (135.0, FIRST_FIXING),
    "GBP": (0.86, FIRST_FIXING),
    "CHF": (1.05, FIRST_FIXING),
    "SEK": (10.4, FIRST_FIXING),
    "DKK": (7.45, FIRST_FIXING),
    "NOK": (9.8, FIRST_FIXING),
    "PLN": (4.35, FIRST_FIXING),
    "CZK": (25.2, FIRST_FIXING),
    "AUD": (1.6, FIRST_FIXING),
    "CAD": (1.45, FIRST_FIXING),
    "CNY": (7.8, date(2005, 4, 1)),
}
NS_ENVELOPE = ('<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
               'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">')


def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month = (h + m - 7 * n + 114) // 31
    return date(year, month, (h + m - 7 * n + 114) % 31 + 1)


def is_target_working_day(day: date) -> bool:
    """TARGET2 closing days (ECB): weekends, New Year's Day, Good Friday, Easter Monday, 1 May, 25 and 26 December."""
    if day.weekday() >= 5 or (day.month, day.day) in {(1, 1), (5, 1), (12, 25), (12, 26)}:
        return False
    easter = _easter(day.year)
    return day not in (easter - timedelta(days=2), easter + timedelta(days=1))


def rate_text(currency: str, day: date) -> str | None:
    """The table's rate of ``currency`` on ``day`` as the ECB writes it (5 significant digits), or None."""
    base, first = CURRENCIES[currency]
    if day < first:
        return None
    phase = sum(map(ord, currency)) / 10
    value = base * (1 + 0.04 * math.sin(day.toordinal() / 58.0 + phase) + 0.01 * math.sin(day.toordinal() / 7.3))
    decimals = max(0, 4 - int(math.floor(math.log10(value))))
    return f"{value:.{decimals}f}"


def fixing_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if is_target_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _last_published(now: datetime) -> date:
    today = now.date()
    return today if now.hour >= PUBLISHED_AT_UTC_HOUR else today - timedelta(days=1)


def xml_document(days: list[date]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', NS_ENVELOPE, "\t<gesmes:subject>Reference rates</gesmes:subject>",
             "\t<gesmes:Sender>", "\t\t<gesmes:name>European Central Bank</gesmes:name>", "\t</gesmes:Sender>",
             "\t<Cube>"]
    for day in sorted(days, reverse=True):
        lines.append(f"\t\t<Cube time='{day.isoformat()}'>")
        for currency in CURRENCIES:
            if (rate := rate_text(currency, day)) is not None:
                lines.append(f"\t\t\t<Cube currency='{currency}' rate='{rate}'/>")
        lines.append("\t\t</Cube>")
    lines += ["\t</Cube>", "</gesmes:Envelope>"]
    return "\n".join(lines) + "\n"


def history_csv(days: list[date]) -> str:
    rows = ["Date," + ",".join(CURRENCIES) + ","]
    for day in sorted(days, reverse=True):
        cells = [rate_text(currency, day) or "N/A" for currency in CURRENCIES]
        rows.append(f"{day.isoformat()},{','.join(cells)},")
    return "\n".join(rows) + "\n"


class EcbEmulator(Emulator):
    name = "ecb"

    def load(self) -> None:
        self._cache: dict[tuple[str, date], bytes] = {}
        self._cache_lock = threading.Lock()

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/{file_name}", self.published_file, methods=["GET"])

    def _build(self, file_name: str, last: date) -> bytes | None:
        if file_name == "eurofxref-daily.xml":
            days = fixing_days(last - timedelta(days=6), last)[-1:]
            return xml_document(days).encode()
        if file_name == "eurofxref-hist-90d.xml":
            return xml_document(fixing_days(last - timedelta(days=89), last)).encode()
        if file_name == "eurofxref-hist.xml":
            return xml_document(fixing_days(FIRST_FIXING, last)).encode()
        if file_name == "eurofxref-hist.zip":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("eurofxref-hist.csv", history_csv(fixing_days(FIRST_FIXING, last)))
            return buffer.getvalue()
        return None

    def published_file(self, file_name: str) -> Response:
        last = _last_published(datetime.now(UTC))
        with self._cache_lock:
            content = self._cache.get((file_name, last))
            if content is None:
                content = self._build(file_name, last)
                if content is None:
                    return PlainTextResponse("Not Found", status_code=404)
                self._cache[(file_name, last)] = content
        media = "application/zip" if file_name.endswith(".zip") else "text/xml"
        return Response(content, media_type=media)

    def rate_limited(self, retry_after: float) -> Response:
        return PlainTextResponse("Too Many Requests", status_code=429, headers={"Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return PlainTextResponse("Service Unavailable", status_code=503)


EMULATOR = EcbEmulator
