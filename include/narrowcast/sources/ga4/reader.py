"""Read GA4 BigQuery-export files (``events_YYYYMMDD.ndjson`` or ``.parquet``) and land them flattened.

One export file per ``event_date``; a run reads the files of every date of its (lookback-widened) window and
lands three batches: ``ga4_events`` (one row per event), ``ga4_event_params`` (one row per param, value kept in
its typed slot; GA4's ``float_value`` goes to ``double_value``, the contract's only floating slot) and
``ga4_event_items`` (one row per item, ``item_index`` from 1).

``event_key`` is the MD5 of the export line (for Parquet: of the row serialised as JSON), suffixed with
``#<n>`` for the n-th identical line of the file (n ≥ 2), so it is stable across reruns and unique per file.

DuckDB does the reading, hashing and flattening and streams Parquet into the landing zone; no event passes
through Python objects. Each file is checked whole before it is landed: a truncated or unparsable file is
rejected naming the file and the line/byte position, nothing of it loads, its day keeps what an earlier run
loaded, the other days load, and the run then fails. All leaves are extracted as
text: the quality gate's typing (``type:<col>``) decides what loads, the same way as for every other source.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from narrowcast.landing.zone import Batch
from narrowcast.loading.loader import window_dates
from narrowcast.loading.staging import sql_string
from narrowcast.sources.base import Window
from narrowcast.sources.files.errors import InputFileError

log = logging.getLogger(__name__)

_TEXT = "VARCHAR"
EVENT_STRUCTURE = {
    "event_date": _TEXT,
    "event_timestamp": _TEXT,
    "event_name": _TEXT,
    "user_pseudo_id": _TEXT,
    "user_id": _TEXT,
    "event_params": [
        {
            "key": _TEXT,
            "value": {"string_value": _TEXT, "int_value": _TEXT, "float_value": _TEXT, "double_value": _TEXT},
        }
    ],
    "collected_traffic_source": {
        "manual_source": _TEXT,
        "manual_medium": _TEXT,
        "manual_campaign_name": _TEXT,
        "gclid": _TEXT,
    },
    "traffic_source": {"name": _TEXT, "medium": _TEXT, "source": _TEXT},
    "geo": {"country": _TEXT, "region": _TEXT, "city": _TEXT},
    "device": {"category": _TEXT},
    "ecommerce": {"transaction_id": _TEXT, "purchase_revenue": _TEXT},
    "items": [{"item_id": _TEXT, "item_name": _TEXT, "item_category": _TEXT, "price": _TEXT, "quantity": _TEXT}],
}

_EVENTS_SQL = """
    select event_key, e.event_date, e.event_timestamp, e.event_name, e.user_pseudo_id, e.user_id,
           e.collected_traffic_source.manual_source as collected_source,
           e.collected_traffic_source.manual_medium as collected_medium,
           e.collected_traffic_source.manual_campaign_name as collected_campaign_name,
           e.collected_traffic_source.gclid as collected_gclid,
           e.traffic_source.source as first_user_source,
           e.traffic_source.medium as first_user_medium,
           e.geo.country as geo_country, e.geo.region as geo_region, e.geo.city as geo_city,
           e.device.category as device_category,
           e.ecommerce.transaction_id as ecommerce_transaction_id,
           e.ecommerce.purchase_revenue as ecommerce_purchase_revenue,
           _source_ref
    from ga4_parsed order by line_no
"""
_PARAMS_SQL = """
    select event_key, event_date, p.key as key, p.value.string_value as string_value,
           p.value.int_value as int_value, coalesce(p.value.double_value, p.value.float_value) as double_value,
           _source_ref
    from (select line_no, event_key, e.event_date as event_date, unnest(e.event_params) as p, _source_ref
          from ga4_parsed)
    order by line_no
"""
_ITEMS_SQL = """
    select event_key, event_date, item_index, it.item_id as item_id, it.item_name as item_name,
           it.item_category as item_category, it.price as price, it.quantity as quantity, _source_ref
    from (select line_no, event_key, e.event_date as event_date, unnest(e.items) as it,
                 generate_subscripts(e.items, 1) as item_index, _source_ref
          from ga4_parsed)
    order by line_no, item_index
"""


def export_files(exports_dir: Path, window: Window) -> list[Path]:
    """The export file of each date of ``window`` that exists; a date with both formats is ambiguous."""
    found = []
    for day in window_dates(window):
        stem = f"events_{day:%Y%m%d}"
        candidates = [p for p in (exports_dir / f"{stem}.ndjson", exports_dir / f"{stem}.parquet") if p.exists()]
        if len(candidates) > 1:
            raise InputFileError(stem, "schema:ambiguous_export", "both .ndjson and .parquet exist; keep one")
        if not candidates:
            log.warning("no GA4 export for %s in %s yet", day.isoformat(), exports_dir)
        found += candidates
    return found


@dataclass
class Ga4Landing:
    """What a run read: files landed, and files rejected whole (name → reason) with their event dates."""

    landed: list[Path] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    rejected_dates: list[date] = field(default_factory=list)


def land_exports(exports_dir: Path, window: Window, batches: dict[str, Batch]) -> Ga4Landing:
    """Check each export file of ``window`` and land the good ones into the three ga4 batches.

    A file that fails its check lands nothing and is reported in ``rejected``; its date goes to
    ``rejected_dates`` so the loader keeps that day's previously loaded events instead of emptying it.
    """
    outcome = Ga4Landing()
    files = export_files(Path(exports_dir), window)
    with tempfile.TemporaryDirectory(prefix="narrowcast-ga4-") as spill:
        con = duckdb.connect()
        try:
            con.execute(f"set temp_directory = {sql_string(spill)}")  # a big day spills to disk instead of failing
            for path in files:
                try:
                    _check_file(con, path)
                except InputFileError as exc:
                    log.error("%s", exc)
                    outcome.rejected[path.name] = str(exc)
                    outcome.rejected_dates.append(datetime.strptime(path.stem.removeprefix("events_"), "%Y%m%d").date())
                    continue
                _land_file(con, path, batches)
                outcome.landed.append(path)
        finally:
            con.close()
    return outcome


def _lines_sql(path: Path) -> str:
    """One row per physical line: ``line_no`` (1-based) and ``line`` (the raw text, without the newline)."""
    # JSON escapes every control character, so \x01 never occurs in valid NDJSON: each line is one field.
    return (
        f"select ordinality as line_no, line from read_csv({sql_string(path)}, columns = {{'line': 'VARCHAR'}}, "
        "delim = chr(1), quote = '', escape = '', header = false, auto_detect = false, "
        "strict_mode = false) with ordinality"
    )


def _parquet_lines_sql(path: Path) -> str:
    names = pq.ParquetFile(path).schema_arrow.names
    fields = ", ".join(f"'{n}': t.\"{n}\"" for n in names)
    return (
        f"select t.file_row_number + 1 as line_no, to_json({{{fields}}})::varchar as line "
        f"from read_parquet({sql_string(path)}, file_row_number = true) t"
    )


def _check_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    if path.suffix == ".parquet":
        try:
            pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFileError(
                path.name, "parse:truncated", f"not a readable Parquet file at byte {path.stat().st_size}: {exc}"
            ) from None
        return
    try:
        bad = con.execute(
            f"""select line_no from ({_lines_sql(path)})
                where trim(line) <> ''
                  and not (case when json_valid(line) then json_type(line) = 'OBJECT' else false end)
                order by line_no limit 1"""
        ).fetchone()
    except duckdb.Error as exc:
        raise InputFileError(path.name, "parse:truncated", f"cannot be read: {exc}") from None
    if bad is None:
        return
    line_no = bad[0]
    offset = con.execute(
        f"select coalesce(sum(strlen(line) + 1), 0) from ({_lines_sql(path)}) where line_no < ?", [line_no]
    ).fetchone()[0]
    raise InputFileError(
        path.name,
        "parse:truncated",
        f"line {line_no} (byte {offset}) is not a complete JSON object; nothing of the file was loaded",
    )


def _land_file(con: duckdb.DuckDBPyConnection, path: Path, batches: dict[str, Batch]) -> None:
    lines = _parquet_lines_sql(path) if path.suffix == ".parquet" else _lines_sql(path)
    structure = json.dumps(EVENT_STRUCTURE).replace("'", "''")
    con.execute(
        f"""create or replace temp table ga4_parsed as
            select line_no, json_transform(line, '{structure}') as e,
                   h || case when n > 1 then '#' || n else '' end as event_key,
                   {sql_string(path.name + ':')} || line_no as _source_ref
            from (select line_no, line, md5(line) as h,
                         row_number() over (partition by md5(line) order by line_no) as n
                  from ({lines}) where trim(line) <> '')"""
    )
    try:
        for entity, sql in (("ga4_events", _EVENTS_SQL), ("ga4_event_params", _PARAMS_SQL),
                            ("ga4_event_items", _ITEMS_SQL)):
            if entity in batches:
                batches[entity].write_query(con, sql, path.name)
    finally:
        con.execute("drop table if exists ga4_parsed")
