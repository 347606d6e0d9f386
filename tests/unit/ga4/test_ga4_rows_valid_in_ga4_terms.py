"""Rows GA4 itself writes load, whatever consent mode or export schema version; what GA4 never writes is quarantined.

The rows below are written by hand from Google's published export schema ("[GA4] BigQuery Export schema",
https://support.google.com/analytics/answer/7029846): ``user_id`` is set only when the site sends one; under
consent mode with ``analytics_storage`` denied, GA4 exports "cookieless pings" whose ``user_pseudo_id`` is NULL
and whose ``privacy_info.analytics_storage`` is ``"No"`` (see
https://www.ga4bigquery.com/how-to-deal-with-consent-mode-in-the-ga4-bigquery-export/); exports written before
``collected_traffic_source`` was added to the schema (2023) lack that record entirely.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from narrowcast.contracts.windows import Window
from narrowcast.extract import run_source

DAY = Window(datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC))
NOW = datetime(2024, 1, 7, tzinfo=UTC)

CONSENTED = (
    '{"event_date":"20240105","event_timestamp":"1704448800000001","event_name":"page_view",'
    '"event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1704448000",'
    '"float_value":null,"double_value":null}}],"user_id":"c_42","user_pseudo_id":"1234567.7654321",'
    '"privacy_info":{"analytics_storage":"Yes","ads_storage":"Yes","uses_transient_token":"No"},'
    '"device":{"category":"desktop"},"geo":{"city":"Berlin","country":"Germany","region":"Berlin"},'
    '"traffic_source":{"name":"(direct)","medium":"(none)","source":"(direct)"},'
    '"collected_traffic_source":{"manual_source":"google","manual_medium":"cpc","gclid":null},'
    '"stream_id":"4178923","platform":"WEB","items":[]}'
)
# Consent mode, analytics storage denied: no user_pseudo_id, no user_id, no session id, geo reduced to country.
COOKIELESS_PING = (
    '{"event_date":"20240105","event_timestamp":"1704448800000002","event_name":"page_view",'
    '"event_params":[{"key":"page_location","value":{"string_value":"https://shop.example/","int_value":null,'
    '"float_value":null,"double_value":null}}],"user_id":null,"user_pseudo_id":null,'
    '"privacy_info":{"analytics_storage":"No","ads_storage":"No","uses_transient_token":"No"},'
    '"device":{"category":"mobile"},"geo":{"city":"","country":"Germany","region":""},'
    '"traffic_source":null,"collected_traffic_source":null,"stream_id":"4178923","platform":"WEB","items":[]}'
)
# A user GA4 could not place: geo and device fields empty, no user_id key at all.
UNPLACED = (
    '{"event_date":"20240105","event_timestamp":"1704448800000003","event_name":"scroll","event_params":[],'
    '"user_pseudo_id":"99.88","device":{"category":""},"geo":{"city":"","country":"","region":""},'
    '"stream_id":"4178923","platform":"WEB","items":[]}'
)
NO_EVENT_NAME = '{"event_date":"20240105","event_timestamp":"1704448800000004","user_pseudo_id":"1.2","event_params":[]}'
NO_TIMESTAMP = '{"event_date":"20240105","event_name":"page_view","user_pseudo_id":"1.2","event_params":[]}'
FUTURE = '{"event_date":"20240105","event_timestamp":"1893456000000000","event_name":"page_view","user_pseudo_id":"1.2"}'

# An export written before collected_traffic_source (and is_active_user, session_traffic_source_last_click).
OLDER_SCHEMA_ROWS = [
    {"event_date": "20240105", "event_timestamp": 1704448800000005, "event_name": "page_view",
     "user_pseudo_id": "555.666", "user_id": None, "platform": "WEB",
     "device": {"category": "tablet"}, "geo": {"city": "Wien", "country": "Austria", "region": "Vienna"},
     "traffic_source": {"name": "(organic)", "medium": "organic", "source": "google"}},
]


def _events(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select event_timestamp, user_pseudo_id, collected_source, first_user_source from raw.ga4_events order by 1"
        ).fetchall()
    finally:
        con.close()


def _quarantined(warehouse: Path) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "select rule from meta.quarantine where entity = 'ga4_events' order by rule").fetchall()]
    finally:
        con.close()


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports" / "ga4"
    folder.mkdir(parents=True)
    return folder


def test_a_consent_mode_ping_and_an_unplaced_user_load_with_their_empty_fields(tmp_path: Path, exports: Path) -> None:
    # GIVEN a day of which two thirds of the events carry no user_pseudo_id or geo (far above the 5% threshold)
    (exports / "events_20240105.ndjson").write_text("\n".join([CONSENTED, COOKIELESS_PING, UNPLACED]) + "\n")
    warehouse = tmp_path / "wh.duckdb"
    # WHEN the day is extracted
    report = run_source("ga4", None, DAY, data_dir=tmp_path, warehouse=warehouse, now=NOW)
    # THEN every event loads, nothing is quarantined
    assert report.entities["ga4_events"].loaded == 3 and report.entities["ga4_events"].quarantined == 0
    assert _events(warehouse) == [
        (1704448800000001, "1234567.7654321", "google", "(direct)"),
        (1704448800000002, None, None, None),
        (1704448800000003, "99.88", None, None),
    ]


def test_an_older_schema_parquet_export_without_collected_traffic_source_loads(tmp_path: Path, exports: Path) -> None:
    pq.write_table(pa.Table.from_pylist(OLDER_SCHEMA_ROWS), exports / "events_20240105.parquet")
    warehouse = tmp_path / "wh.duckdb"
    report = run_source("ga4", None, DAY, data_dir=tmp_path, warehouse=warehouse, now=NOW)
    assert report.entities["ga4_events"].loaded == 1
    assert _events(warehouse) == [(1704448800000005, "555.666", None, "google")]


def test_rows_ga4_never_writes_are_quarantined_under_their_rule(tmp_path: Path, exports: Path) -> None:
    # GIVEN events without a name, without a timestamp and dated in the future, among valid ones
    good = [CONSENTED, COOKIELESS_PING, UNPLACED] * 20
    (exports / "events_20240105.ndjson").write_text("\n".join([*good, NO_EVENT_NAME, NO_TIMESTAMP, FUTURE]) + "\n")
    warehouse = tmp_path / "wh.duckdb"
    # WHEN the day is extracted
    report = run_source("ga4", None, DAY, data_dir=tmp_path, warehouse=warehouse, now=NOW)
    # THEN exactly those three are quarantined, each under the rule it breaks
    assert report.entities["ga4_events"].quarantined == 3
    assert _quarantined(warehouse) == [
        "not_future:event_timestamp", "not_null:event_name", "not_null:event_timestamp",
    ]
