"""The export formats a column at a time as utc_text and decimal text did a value at a time: whole seconds, UTC,
"Z", for naive and zoned timestamps; decimals as their text; nulls kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa

from narrowcast.serve.profile_snapshot import _plain, _render, utc_text


def test_timestamps_become_utc_text_for_naive_and_zoned_columns() -> None:
    naive = [datetime(2026, 8, 1, 10, 0, 5, 999_999), None, datetime(1999, 12, 31, 23, 59, 59)]
    berlin = timezone(timedelta(hours=2))
    zoned = [datetime(2026, 8, 1, 10, 0, 5, 123_456, tzinfo=berlin), None]
    assert _plain(pa.array(naive, pa.timestamp("us"))).to_pylist() == \
        [utc_text(naive[0]), None, utc_text(naive[2])]
    assert _plain(pa.array(zoned, pa.timestamp("us", "Europe/Berlin"))).to_pylist() == \
        [utc_text(zoned[0]), None]
    assert utc_text(zoned[0]) == "2026-08-01T08:00:05Z"
    assert _plain(pa.array([datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)], pa.timestamp("ns", "UTC"))).to_pylist() == \
        ["2026-01-02T03:04:05Z"]


def test_decimals_become_their_text_and_other_columns_stay() -> None:
    money = [Decimal("812.40"), Decimal("-0.05"), Decimal("0.00"), None]
    assert _plain(pa.array(money, pa.decimal128(18, 2))).to_pylist() == ["812.40", "-0.05", "0.00", None]
    assert _plain(pa.array([1, None, 3])).to_pylist() == [1, None, 3]
    # What the encoder writes: decimals as strings, as before, wherever one still reaches it.
    assert _render({"value": Decimal("15.00"), "score": 3.2, "n": None}) == b'{"value":"15.00","score":3.2,"n":null}'
