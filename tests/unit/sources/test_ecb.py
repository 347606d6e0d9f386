"""The ECB source: its readers on hand-written samples of the ECB's published formats, and the connector against
the ECB emulator (the file chosen per window, a ten-year backfill, reruns that change nothing, HTTP errors)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from narrowcast.apis.ecb import EcbApi
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source
from narrowcast.http import FatalApiError, RetryPolicy
from narrowcast.sandbox.emulators.ecb import CURRENCIES, fixing_days, rate_text
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources.ecb.extract import extract
from narrowcast.sources.ecb.formats import EcbFormatError, read_history_csv, read_xml

SAMPLES = Path(__file__).parent / "fixtures" / "ecb"


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


# ---- readers on the ECB's formats ---------------------------------------------------------------------------


def test_the_daily_xml_gives_each_currency_of_its_one_day_with_the_rate_as_written() -> None:
    rates = list(read_xml(_sample("eurofxref-daily.xml"), "daily"))
    assert rates == [
        (date(2026, 3, 13), "USD", Decimal("1.0875")),
        (date(2026, 3, 13), "JPY", Decimal("161.32")),
        (date(2026, 3, 13), "GBP", Decimal("0.84120")),
        (date(2026, 3, 13), "IDR", Decimal("17432.15")),
    ]


def test_the_90_day_xml_has_no_rows_for_the_easter_closing_days() -> None:
    days = {day for day, _currency, _rate in read_xml(_sample("eurofxref-hist-90d.xml"), "90d")}
    # Good Friday 3 April 2026 to Easter Monday 6 April: TARGET closing days and a weekend, no fixing.
    assert days == {date(2026, 4, 2), date(2026, 4, 7)}


def test_the_history_csv_skips_the_weekend_and_a_currency_before_its_first_fixing() -> None:
    rates = {(day, currency): rate for day, currency, rate in read_history_csv(_sample("eurofxref-hist.csv"), "h")}
    # GIVEN the file's N/A cells and its trailing comma: ISK appears on 16 March only, no empty-named currency
    assert {c for _d, c in rates} == {"USD", "JPY", "GBP", "ISK"}
    assert [d for d, c in rates if c == "ISK"] == [date(2026, 3, 16)]
    # AND the weekend of 14-15 March has no rate at all
    assert {d for d, _c in rates} == {date(2026, 3, 12), date(2026, 3, 13), date(2026, 3, 16)}
    assert rates[(date(2026, 3, 13), "GBP")] == Decimal("0.84120")


@pytest.mark.parametrize("content", [
    pytest.param(b"<html>Not the rates</html>", id="an html page instead of the rates"),
    pytest.param(b"<Envelope xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube><Cube time='2026-3-1'>"
                 b"</Cube></Cube></Envelope>", id="a day that is not YYYY-MM-DD"),
    pytest.param(b"<Envelope xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube><Cube time='2026-03-02'>"
                 b"<Cube currency='USD' rate='-1'/></Cube></Cube></Envelope>", id="a rate that is not positive"),
])
def test_a_file_that_is_not_the_ecb_format_fails_naming_the_place(content: bytes) -> None:
    with pytest.raises(EcbFormatError, match="feed"):
        list(read_xml(content, "feed"))


# ---- the connector against the emulator --------------------------------------------------------------------


@pytest.fixture(scope="module")
def ecb() -> Iterator[SandboxServer]:
    with SandboxServer(None, only=["ecb"]) as server:
        yield server


def _connection(server: SandboxServer) -> Connection:
    return Connection("narrowcast_ecb", f"{server.url}/ecb")


def _rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select rate_date, currency, rate_per_eur, source from raw.fx_rates order by all").fetchall()


def _expected(first: date, last: date) -> int:
    return sum(rate_text(c, d) is not None for d in fixing_days(first, last) for c in CURRENCIES)


def test_a_ten_year_backfill_loads_every_published_rate_once_and_a_rerun_changes_nothing(
    ecb: SandboxServer, tmp_path: Path
) -> None:
    # GIVEN ten years ending a week ago (the whole-history file is read once)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
    window = Window(end - timedelta(days=3653), end)
    warehouse = tmp_path / "wh.duckdb"
    # WHEN the source runs, then runs the same window again
    run_source("ecb", _connection(ecb), window, data_dir=tmp_path, warehouse=warehouse)
    first = _rows(warehouse)
    run_source("ecb", _connection(ecb), window, data_dir=tmp_path, warehouse=warehouse)
    # THEN every working day's rates (the 3-day lookback included) are there once, and unchanged by the rerun
    first_day, last_day = (window.start - timedelta(days=3)).date(), window.days()[1]
    assert len(first) == _expected(first_day, last_day) > 2500 * len(CURRENCIES) * 0.9
    assert _rows(warehouse) == first
    gbp = {(d, r) for d, c, r, _s in first if c == "GBP"}
    some_day = fixing_days(last_day - timedelta(days=10), last_day)[0]
    assert (some_day, Decimal(rate_text("GBP", some_day))) in gbp


def test_a_recent_window_reads_the_90_day_file_and_only_its_days(ecb: SandboxServer) -> None:
    today = date(2026, 12, 4)
    client = EcbApi.from_connection(_connection(ecb))
    window = Window(datetime(2026, 11, 27), datetime(2026, 12, 1))
    pages = list(extract(_connection(ecb), window, client=client, today=today))
    days = {r["rate_date"] for page in pages for r in page.records}
    assert pages[0].source_ref == "GET /eurofxref-hist-90d.xml"
    assert days == {date(2026, 11, 27), date(2026, 11, 30)}  # the weekend in between has no fixing
    assert {r["source"] for page in pages for r in page.records} == {"ecb"}


def test_a_file_the_ecb_does_not_publish_is_a_fatal_404(ecb: SandboxServer) -> None:
    client = EcbApi.from_connection(_connection(ecb), retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(FatalApiError, match="404"):
        client.xml("eurofxref-tomorrow.xml")


def test_a_server_error_is_retried_through(ecb: SandboxServer) -> None:
    ecb.faults("ecb", error_share=0.5, seed=3)
    try:
        client = EcbApi.from_connection(_connection(ecb), sleep=lambda _s: None,
                                        retry=RetryPolicy(max_attempts=8, base_delay=0.01))
        content, _ref = client.xml("eurofxref-daily.xml")
        assert len(list(read_xml(content, "daily"))) == len(CURRENCIES)
    finally:
        ecb.faults("ecb")
