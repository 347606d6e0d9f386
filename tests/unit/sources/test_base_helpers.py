"""The window and parsing helpers the API connectors share (``narrowcast.contracts``)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from narrowcast.contracts.timestamps import parse_day, parse_timestamp
from narrowcast.contracts.windows import Window


@pytest.mark.parametrize(("start", "end", "first", "last"), [
    pytest.param(datetime(2024, 3, 1), datetime(2024, 3, 2), date(2024, 3, 1), date(2024, 3, 1),
                 id="a daily interval covers one day"),
    pytest.param(datetime(2024, 3, 1), datetime(2024, 3, 8), date(2024, 3, 1), date(2024, 3, 7),
                 id="a week ending at midnight does not touch the end day"),
    pytest.param(datetime(2024, 3, 1, 22), datetime(2024, 3, 2, 1), date(2024, 3, 1), date(2024, 3, 2),
                 id="an interval over midnight touches both days"),
    pytest.param(datetime(2024, 3, 1, 5), datetime(2024, 3, 1, 6), date(2024, 3, 1), date(2024, 3, 1),
                 id="an hour inside a day touches that day"),
])
def test_window_days_are_the_calendar_days_the_window_touches(start, end, first, last):
    assert Window(start, end).days() == (first, last)


def test_window_contains_is_half_open():
    window = Window(datetime(2024, 3, 1), datetime(2024, 3, 2))
    assert window.contains(datetime(2024, 3, 1))
    assert not window.contains(datetime(2024, 3, 2))


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10), id="Z suffix"),
    pytest.param("2024-03-01T10:00:00.250Z", datetime(2024, 3, 1, 10, 0, 0, 250000), id="milliseconds"),
    pytest.param("2024-03-01T10:00:00-05:00", datetime(2024, 3, 1, 15), id="an offset becomes UTC"),
    pytest.param(None, None, id="missing stays None"),
])
def test_parse_timestamp_gives_naive_utc(text, expected):
    assert parse_timestamp(text) == expected


def test_bad_timestamps_and_days_name_where_they_came_from():
    with pytest.raises(ValueError, match="order 7 updated_at: 'yesterday' is not an ISO 8601 timestamp"):
        parse_timestamp("yesterday", where="order 7 updated_at")
    with pytest.raises(ValueError, match="row 3 date_start: '03/01/2024' is not a YYYY-MM-DD date"):
        parse_day("03/01/2024", where="row 3 date_start")
