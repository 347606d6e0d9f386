"""ECB extraction: the reference rates of every day the window touches, from the smallest file that holds them.

A window within the last 90 days reads ``eurofxref-hist-90d.xml``; one reaching further back (a first load, a
backfill of years) reads the whole history once from ``eurofxref-hist.zip``, so ten years take one request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from narrowcast.apis.ecb import LAST_90_DAYS_SPAN, LAST_90_DAYS_XML, EcbApi
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.windows import Window
from narrowcast.sources.ecb.formats import Rate, read_history_csv, read_xml

ENTITIES: dict[str, tuple[str, ...]] = {"fx_rates": ("rate_date", "currency")}
PAGE_ROWS = 50_000


def _today() -> date:
    return datetime.now(UTC).date()


def rates(client: EcbApi, since: date, until: date, *, today: date | None = None) -> tuple[Iterator[Rate], str]:
    """The published rates of ``since..until`` (inclusive) and the file they came from."""
    if since >= (today or _today()) - timedelta(days=LAST_90_DAYS_SPAN - 1):
        content, ref = client.xml(LAST_90_DAYS_XML)
        found = read_xml(content, ref)
    else:
        content, ref = client.history_csv()
        found = read_history_csv(content, ref)
    return (rate for rate in found if since <= rate[0] <= until), ref


def extract(conn: Connection, window: Window, *, client: EcbApi | None = None,
            today: date | None = None) -> Iterator[Page]:
    """Reference rates for every day ``[window.start, window.end)`` touches, in pages of ``PAGE_ROWS``."""
    client = client or EcbApi.from_connection(conn)
    since, until = window.days()
    found, ref = rates(client, since, until, today=today)
    records = []
    for day, currency, rate in found:
        records.append({"rate_date": day, "currency": currency, "rate_per_eur": rate, "source": "ecb"})
        if len(records) >= PAGE_ROWS:
            yield Page("fx_rates", records, ref)
            records = []
    yield Page("fx_rates", records, ref)
