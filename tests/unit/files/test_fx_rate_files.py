"""Exchange-rate files (``fx_rates_*.csv``) in the inbox: any common dialect, one row per day and currency,
a later file's rate replacing an earlier one's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from inbox_runs import query, run_inbox

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed

WINDOW = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))


def _rates(data_dir: Path) -> list[tuple]:
    return query(data_dir, 'select "date", currency, rate_per_eur, _file_name from raw.file_fx_rates order by all')


@pytest.mark.parametrize(("text", "encoding"), [
    pytest.param("date,currency,rate_per_eur\n2026-03-13,GBP,0.8412\n2026-03-16,usd,1.0890\n", "utf-8",
                 id="comma separated with ISO dates"),
    pytest.param("date;currency;rate_per_eur\n13.03.2026;GBP;0,8412\n16.03.2026;usd;1,0890\n", "utf-8",
                 id="semicolon separated with decimal commas and day-first dates"),
    pytest.param("\ufeffdate\tcurrency\trate_per_eur\r\n13/03/2026\tGBP\t0,8412\r\n16/03/2026\tusd\t1,0890\r\n",
                 "utf-8", id="tab separated with a BOM and CRLF"),
])
def test_a_rates_file_in_any_common_dialect_loads_the_same_rates(tmp_path: Path, text: str, encoding: str) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "fx_rates_2026-03.csv").write_bytes(text.encode(encoding))
    run_inbox(tmp_path, WINDOW)
    assert _rates(tmp_path) == [
        (date(2026, 3, 13), "GBP", Decimal("0.841200"), "fx_rates_2026-03.csv"),
        (date(2026, 3, 16), "USD", Decimal("1.089000"), "fx_rates_2026-03.csv"),
    ]


def test_a_later_file_replaces_the_rate_of_the_same_day_and_currency(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "fx_rates_a.csv").write_text("date,currency,rate_per_eur\n2026-03-13,GBP,0.8412\n2026-03-13,USD,1.09\n")
    run_inbox(tmp_path, WINDOW)
    (inbox / "fx_rates_b.csv").write_text("date,currency,rate_per_eur\n2026-03-13,GBP,0.8500\n")
    run_inbox(tmp_path, WINDOW)
    assert [(c, r, f) for _d, c, r, f in _rates(tmp_path)] == [
        ("GBP", Decimal("0.850000"), "fx_rates_b.csv"), ("USD", Decimal("1.090000"), "fx_rates_a.csv")]


def test_a_rates_file_without_the_rate_column_is_rejected_naming_it(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "fx_rates_bad.csv").write_text("date,currency,rate\n2026-03-13,GBP,0.8412\n")
    with pytest.raises(ExtractFailed, match="rate_per_eur"):
        run_inbox(tmp_path, WINDOW)
