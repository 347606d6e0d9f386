"""The GA4 export reader: real export rows flatten into the three ga4_* raw tables; bad files fail whole."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ga4_export_lines import ndjson, page_view_event, purchase_event

from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone
from narrowcast.sources.files.errors import InputFileError
from narrowcast.sources.ga4.reader import land_export

DAY = Window(datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC))
ENTITIES = ("ga4_events", "ga4_event_params", "ga4_event_items")


def _land(tmp_path: Path, exports: Path) -> dict[str, list[dict]]:
    zone = LandingZone(tmp_path / "landing")
    batches = {e: zone.new_batch("ga4", e, DAY) for e in ENTITIES}
    for path in sorted(exports.iterdir()):
        land_export(path, batches)
    con = duckdb.connect()
    out = {}
    for entity, batch in batches.items():
        if not batch.parts:
            out[entity] = []
            continue
        cur = con.execute(f"select * exclude (_loaded_at) from read_parquet('{batch.glob}') order by _row")
        names = [d[0] for d in cur.description]
        out[entity] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return out


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports" / "ga4"
    folder.mkdir(parents=True)
    return folder


def test_a_purchase_in_the_real_export_shape_flattens_into_event_params_and_items(tmp_path: Path, exports: Path) -> None:
    # GIVEN one day's export with a page_view and a purchase
    (exports / "events_20240105.ndjson").write_text(ndjson([page_view_event(), purchase_event()]))
    # WHEN it is landed
    landed = _land(tmp_path, exports)
    # THEN the event columns are the contract's, taken from the nested export fields
    purchase = landed["ga4_events"][1]
    assert {k: purchase[k] for k in (
        "event_date", "event_timestamp", "event_name", "user_pseudo_id", "user_id", "collected_source",
        "collected_medium", "collected_campaign_name", "collected_gclid", "first_user_source", "first_user_medium",
        "geo_country", "geo_region", "geo_city", "device_category", "ecommerce_transaction_id",
        "ecommerce_purchase_revenue", "_source_ref",
    )} == {
        "event_date": "20240105", "event_timestamp": "1704448800123456", "event_name": "purchase",
        "user_pseudo_id": "1234567.7654321", "user_id": "c_42", "collected_source": "google",
        "collected_medium": "cpc", "collected_campaign_name": "winter_sale", "collected_gclid": "Cj0KCQiA",
        "first_user_source": "(direct)", "first_user_medium": "(none)", "geo_country": "Germany",
        "geo_region": "Berlin", "geo_city": "Berlin", "device_category": "desktop",
        "ecommerce_transaction_id": "1001", "ecommerce_purchase_revenue": "59.9",
        "_source_ref": "events_20240105.ndjson:2",
    }
    assert landed["ga4_events"][0]["collected_source"] is None  # null collected_traffic_source
    # AND every param keeps its value in the typed slot it had
    params = {(p["event_key"], p["key"]): p for p in landed["ga4_event_params"]}
    key = purchase["event_key"]
    assert params[(key, "ga_session_id")]["int_value"] == "1704448000"
    assert params[(key, "page_location")]["string_value"] == "https://shop.example/checkout"
    assert params[(key, "value")]["double_value"] == "59.9"
    assert len(landed["ga4_event_params"]) == 5
    # AND the purchase's item is one row, index 1
    assert [(i["event_key"], i["item_index"], i["item_id"], i["item_category"], i["price"], i["quantity"])
            for i in landed["ga4_event_items"]] == [(key, 1, "SKU-1", "Kitchen", "29.95", "2")]


def test_event_keys_are_stable_hashes_and_identical_lines_get_an_occurrence_suffix(tmp_path: Path, exports: Path) -> None:
    (exports / "events_20240105.ndjson").write_text(ndjson([page_view_event(), page_view_event(), purchase_event()]))
    first = [e["event_key"] for e in _land(tmp_path / "a", exports)["ga4_events"]]
    again = [e["event_key"] for e in _land(tmp_path / "b", exports)["ga4_events"]]
    assert first == again
    assert first[1] == first[0] + "#2"
    assert len(set(first)) == 3


def test_a_parquet_export_lands_the_same_columns_as_the_ndjson_one(tmp_path: Path, exports: Path) -> None:
    events = [page_view_event(), purchase_event()]
    (exports / "events_20240105.ndjson").write_text(ndjson(events))
    from_json = _land(tmp_path / "json", exports)
    (exports / "events_20240105.ndjson").unlink()
    pq.write_table(pa.Table.from_pylist(events), exports / "events_20240105.parquet")
    from_parquet = _land(tmp_path / "parquet", exports)

    def comparable(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in ("event_key", "_batch_id", "_source_ref")} for r in rows]

    for entity in ENTITIES:
        assert comparable(from_parquet[entity]) == comparable(from_json[entity]), entity


def test_a_gzip_export_lands_the_same_rows_as_the_uncompressed_one(tmp_path: Path, exports: Path) -> None:
    # GIVEN the same day's lines once as NDJSON and once gzip-compressed (BigQuery extract, compression GZIP)
    text = ndjson([page_view_event(), purchase_event()])
    (exports / "events_20240105.ndjson").write_text(text)
    plain = _land(tmp_path / "plain", exports)
    (exports / "events_20240105.ndjson").unlink()
    (exports / "events_20240105.ndjson.gz").write_bytes(gzip.compress(text.encode()))
    # WHEN the compressed file is landed
    packed = _land(tmp_path / "gz", exports)
    # THEN every row, event key included, is the same; the source reference names the compressed file
    for entity in ENTITIES:
        assert [{k: v for k, v in r.items() if k not in ("_batch_id", "_source_ref")} for r in packed[entity]] == [
            {k: v for k, v in r.items() if k not in ("_batch_id", "_source_ref")} for r in plain[entity]], entity
    assert [e["_source_ref"] for e in packed["ga4_events"]] == [
        "events_20240105.ndjson.gz:1", "events_20240105.ndjson.gz:2"]


@pytest.mark.parametrize(("damage", "expected"), [
    pytest.param(20, "is not a complete gzip stream", id="a gzip stream cut inside its data"),
    pytest.param(8, "is not a complete gzip stream", id="a gzip stream cut at its trailer, every line whole"),
    pytest.param(0, "line 3 (byte", id="a whole gzip stream whose last line is cut"),
])
def test_a_broken_gzip_export_is_rejected_whole(tmp_path: Path, exports: Path, damage: int, expected: str) -> None:
    good = ndjson([page_view_event(), purchase_event()])
    cut = json.dumps(page_view_event(ts=1704448900000000))[:60]
    packed = gzip.compress((good + (good if damage else cut)).encode())
    path = exports / "events_20240105.ndjson.gz"
    path.write_bytes(packed[: len(packed) - damage])
    zone = LandingZone(tmp_path / "landing")
    batches = {e: zone.new_batch("ga4", e, DAY) for e in ENTITIES}
    with pytest.raises(InputFileError) as rejected:
        land_export(path, batches)
    assert str(rejected.value).startswith(f"events_20240105.ndjson.gz: parse:truncated: {expected}")
    assert all(not b.parts for b in batches.values())


def test_a_truncated_export_is_rejected_naming_the_file_line_and_byte_and_lands_nothing(tmp_path: Path, exports: Path) -> None:
    good = ndjson([page_view_event(), purchase_event()])
    cut = json.dumps(page_view_event(ts=1704448900000000))[:60]
    (exports / "events_20240105.ndjson").write_text(good + cut)
    zone = LandingZone(tmp_path / "landing")
    batches = {e: zone.new_batch("ga4", e, DAY) for e in ENTITIES}
    with pytest.raises(InputFileError) as rejected:
        land_export(exports / "events_20240105.ndjson", batches)
    message = str(rejected.value)
    assert message.startswith("events_20240105.ndjson: parse:truncated: line 3")
    assert f"byte {len(good.encode())}" in message
    assert all(not b.parts for b in batches.values())


def test_a_truncated_export_fails_the_run_but_keeps_that_day_s_earlier_rows_and_loads_the_other_days(
    tmp_path: Path, exports: Path
) -> None:
    from narrowcast.extract import ExtractFailed, run_source

    warehouse = tmp_path / "wh.duckdb"
    day5 = exports / "events_20240105.ndjson"
    day5.write_text(ndjson([page_view_event()]))
    run_source("ga4", None, DAY, data_dir=tmp_path, warehouse=warehouse)
    # GIVEN the day is re-delivered truncated, and the day before arrives
    day5.write_text(ndjson([page_view_event(), purchase_event()])[:-30])
    (exports / "events_20240104.ndjson").write_text(ndjson([page_view_event(event_date="20240104")]))
    # WHEN the interval is rerun THEN the run fails naming file, line and byte
    with pytest.raises(ExtractFailed, match=r"events_20240105.ndjson: parse:truncated: line 2 \(byte \d+\)"):
        run_source("ga4", None, DAY, data_dir=tmp_path, warehouse=warehouse)
    # AND nothing of the bad file loaded, Jan 5 keeps its first load, Jan 4 loaded
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select event_date, event_name from raw.ga4_events order by 1").fetchall() == [
        (date(2024, 1, 4), "page_view"), (date(2024, 1, 5), "page_view"),
    ]


def test_blank_lines_are_skipped_and_json_whitespace_may_indent_a_line(tmp_path: Path, exports: Path) -> None:
    lines = [json.dumps(page_view_event()), "", "  \t ", "\t " + json.dumps(purchase_event())]
    (exports / "events_20240105.ndjson").write_text("\r\n".join(lines) + "\r\n")
    landed = _land(tmp_path, exports)
    assert [e["event_name"] for e in landed["ga4_events"]] == ["page_view", "purchase"]
    assert [e["_source_ref"] for e in landed["ga4_events"]] == ["events_20240105.ndjson:1", "events_20240105.ndjson:4"]


@pytest.mark.parametrize("bad_line", ["[1, 2]", "x{}", "\u00a0{}"], ids=["array", "text before", "non-JSON space"])
def test_a_line_that_is_no_json_object_rejects_the_file_naming_it(tmp_path: Path, exports: Path, bad_line: str) -> None:
    first = json.dumps(page_view_event())
    (exports / "events_20240105.ndjson").write_text(f"{first}\n{bad_line}\n")
    zone = LandingZone(tmp_path / "landing")
    batches = {e: zone.new_batch("ga4", e, DAY) for e in ENTITIES}
    with pytest.raises(InputFileError) as rejected:
        land_export(exports / "events_20240105.ndjson", batches)
    message = str(rejected.value)
    assert message.startswith("events_20240105.ndjson: parse:truncated: line 2")
    assert f"byte {len(first) + 1}" in message
    assert all(not b.parts for b in batches.values())
