"""Query-string filters: dates, channel and the trend grain they imply."""

from __future__ import annotations

import datetime as dt

import pytest

from narrowcast.dashboard.filters import FilterError, Filters, parse_filters


def test_empty_values_and_all_mean_no_filter():
    assert parse_filters("", " ", "all") == Filters()


def test_a_valid_range_and_channel_parse():
    assert parse_filters("2026-01-01", "2026-01-31", "email") == Filters(dt.date(2026, 1, 1), dt.date(2026, 1, 31), "email")


@pytest.mark.parametrize(
    ("start", "end", "grain"),
    [
        pytest.param("2026-01-01", "2026-03-03", "day", id="two months are shown per day"),
        pytest.param("2026-01-01", "2026-12-31", "week", id="a year is shown per week"),
        pytest.param("2025-01-01", "2026-12-31", "month", id="two years are shown per month"),
    ],
)
def test_the_trend_grain_follows_the_range_length(start: str, end: str, grain: str):
    assert parse_filters(start, end).grain == grain


def test_an_unknown_channel_lists_the_known_ones():
    with pytest.raises(FilterError, match="use one of: paid_social, paid_search"):
        parse_filters(channel="Paid Social")
