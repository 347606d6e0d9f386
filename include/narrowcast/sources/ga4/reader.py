"""Read GA4 BigQuery-export files (``events_YYYYMMDD.ndjson``, ``.ndjson.gz`` or ``.parquet``) and land them flattened.

A ``.ndjson.gz`` file is the same NDJSON gzip-compressed, as a BigQuery extract job writes JSON with
``compression: GZIP`` (JobConfigurationExtract: GZIP applies to CSV and NEWLINE_DELIMITED_JSON); line numbers and
byte positions in a rejection refer to the decompressed text.

Export files are tracked like the inbox's, by name + checksum in ``meta.files``, not by calendar window: every
run lands each file of the folder whose version has not loaded yet, whatever its day, so a late or re-exported
day loads whenever it arrives and replaces only its own ``event_date``. A day without a file is never emptied:
when its export is due and absent, the run raises an alert (``missing_export``) and keeps what it loaded.

Each file lands three batches: ``ga4_events`` (one row per event), ``ga4_event_params`` (one row per param,
value kept in its typed slot; GA4's ``float_value`` goes to ``double_value``, the contract's only floating
slot) and ``ga4_event_items`` (one row per item, ``item_index`` from 1).

``event_key`` is the MD5 of the export line (for Parquet: of the row serialised as JSON), suffixed with
``#<n>`` for the n-th identical line of the file (n ≥ 2), so it is stable across reruns and unique per file.

DuckDB does the reading, hashing and flattening and streams Parquet into the landing zone; no event passes
through Python objects. Each file is checked whole before it is landed: a truncated or unparsable file is
rejected naming the file and the line/byte position, nothing of it loads, its day keeps what an earlier run
loaded, it is retried next run, the other files load, and the run then fails. All leaves are extracted as
text: the quality gate's typing (``type:<col>``) decides what loads, the same way as for every other source.
"""

from __future__ import annotations

import json
import re
import tempfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from isal import igzip

from narrowcast.contracts.extraction import BatchSink, ExtractContext, InputFile
from narrowcast.contracts.pages import Page
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.windows import Window
from narrowcast.loading.loader import window_dates
from narrowcast.loading.staging import sql_string
from narrowcast.sources.files.errors import InputFileError
from narrowcast.sources.files.inbox import sha256_of
from narrowcast.sources.ga4.tables import SOURCE

log = redacting_logger(__name__)

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

# The three flattenings read the parsed export (``{src}``: one row per line, in line order, with ``line_no``,
# the line's MD5 ``h``, ``event_key`` and the struct ``e``) and keep its order, so ``_row`` follows the file.
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
           {ref} as _source_ref
    from {src}
"""
_PARAMS_SQL = """
    select event_key, event_date, p.key as key, p.value.string_value as string_value,
           p.value.int_value as int_value, coalesce(p.value.double_value, p.value.float_value) as double_value,
           _source_ref
    from (select event_key, e.event_date as event_date, unnest(e.event_params) as p, {ref} as _source_ref
          from {src})
"""
_ITEMS_SQL = """
    select event_key, event_date, item_index, it.item_id as item_id, it.item_name as item_name,
           it.item_category as item_category, it.price as price, it.quantity as quantity, _source_ref
    from (select event_key, e.event_date as event_date, unnest(e.items) as it,
                 generate_subscripts(e.items, 1) as item_index, {ref} as _source_ref
          from {src})
"""
_JSON_SPACE = r" \t\r\n"  # the whitespace JSON allows around a value (RFC 8259 §2), as a regex class body
# A day of events is parsed once into a Parquet file in the spill directory (streamed: memory stays flat
# whatever the file's size) before anything lands; DuckDB may spill the duplicate search there too.
LANDING_MEMORY_LIMIT = "2GB"


EXPORT_NAME = re.compile(r"^events_(\d{8})\.(ndjson|ndjson\.gz|parquet)$")
# GA4 writes a day's export table during the following day: from then on a missing file is worth an alert.
EXPORT_DUE_AFTER = timedelta(days=1)


def export_files(exports_dir: Path) -> dict[date, list[Path]]:
    """Every daily export file of the folder, by its day (a day in several formats has several)."""
    days: dict[date, list[Path]] = {}
    for path in sorted(exports_dir.glob("events_*")):
        match = EXPORT_NAME.match(path.name)
        if match and path.is_file():
            days.setdefault(datetime.strptime(match[1], "%Y%m%d").date(), []).append(path)
    return days


def missing_exports(window: Window, present: Collection[date]) -> list[date]:
    """The days of ``window`` whose export is due by the window's end but has no file."""
    return [
        day for day in window_dates(window)
        if day not in present and datetime.combine(day + timedelta(days=1), datetime.min.time()) + EXPORT_DUE_AFTER
        <= window.end
    ]


def extract(context: ExtractContext) -> Iterator[Page]:
    """The GA4 source's extractor: land every export file whose version has not loaded yet, each in its batches.

    A file that cannot be read is rejected (logged failed, retried next run); a due day without a file raises
    an alert and keeps its loaded events.
    """
    exports_dir = Path(context.input_dir) if context.input_dir else Path()
    files = export_files(exports_dir) if exports_dir.is_dir() else {}
    missing = missing_exports(context.window, files)
    if missing:
        days = ", ".join(d.isoformat() for d in missing)
        context.alert(
            "missing_export",
            f"no GA4 export file for {days} in {exports_dir.name}/; the events already loaded for "
            "these days are kept",
            {"days": [d.isoformat() for d in missing]},
        )
    for day, paths in sorted(files.items()):
        if len(paths) > 1:
            stem = f"events_{day:%Y%m%d}"
            formats = " and ".join(p.name[len(stem):] for p in paths)
            context.reject(stem, str(InputFileError(stem, "schema:ambiguous_export",
                                                    f"both {formats} exist; keep one")))
            continue
        path = paths[0]
        if all(context.loaded_unchanged(path, table.name) for table in SOURCE.entities):
            continue
        checksum, size = sha256_of(path), path.stat().st_size
        inputs = {table.name: InputFile(path, table.name, checksum, size) for table in SOURCE.entities}
        if all(context.already_loaded(file) for file in inputs.values()):
            continue
        batches = {name: context.file_batch(file) for name, file in inputs.items()}
        try:
            land_export(path, batches)
        except InputFileError as exc:
            log.error("%s", exc)
            context.reject(path.name, str(exc), file=inputs["ga4_events"])
    return iter(())  # nothing left to page: every row is already in the batches


def land_export(path: Path, batches: Mapping[str, BatchSink]) -> None:
    """Check one export file whole and land it into the three ga4 batches; raise :class:`InputFileError`
    (landing nothing) when it is truncated or unparsable."""
    with tempfile.TemporaryDirectory(prefix="narrowcast-ga4-") as spill:
        con = duckdb.connect()
        try:
            con.execute(f"set temp_directory = {sql_string(spill)}")  # a big day spills to disk instead of failing
            con.execute(f"set memory_limit = '{LANDING_MEMORY_LIMIT}'")
            parsed = Path(spill) / f"{path.name}.parsed.parquet"
            _parse_file(con, path, parsed)
            _land_file(con, path, parsed, batches)
        finally:
            con.close()


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


def _check_gzip(path: Path) -> None:
    """Raise unless ``path`` is a whole gzip stream: DuckDB reads a stream cut short without complaint, and a cut
    at a line boundary would load a day with its last events silently missing. ISA-L inflates ~3x faster than
    zlib, so the check costs a fraction of the parse."""
    try:
        with igzip.open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(path.name, "parse:truncated", f"is not a complete gzip stream ({exc}); nothing of "
                             "the file was loaded") from None


def _parse_file(con: duckdb.DuckDBPyConnection, path: Path, parsed: Path) -> None:
    """Parse every line of ``path`` once into ``parsed`` (Parquet), or reject the whole file naming its first bad line.

    One streamed pass reads, hashes and parses each line: ``json_transform`` fails on malformed JSON (caught
    per line by ``try``, which leaves NULL) and a line not opening with ``{`` is no object; only a rejected
    file pays for finding the byte position of its first bad line.
    """
    if path.suffix == ".parquet":
        try:
            pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFileError(
                path.name, "parse:truncated", f"not a readable Parquet file at byte {path.stat().st_size}: {exc}"
            ) from None
        lines = _parquet_lines_sql(path)
    else:
        if path.suffix == ".gz":
            _check_gzip(path)
        lines = _lines_sql(path)
    structure = json.dumps(EVENT_STRUCTURE).replace("'", "''")
    # Blank lines (JSON whitespace only) are skipped; any other line must open with '{' after its whitespace.
    # Regular expressions, not trim(): trimming copies every line (≈700 bytes each), a third of the parse's time.
    try:
        con.execute(
            f"""copy (
                select line_no, md5(line) as h, e, e is null as bad
                from (select line_no, line,
                             case when regexp_matches(line, '^[{_JSON_SPACE}]*\\{{')
                                  then try(json_transform(line, '{structure}')) end as e
                      from ({lines}) where regexp_matches(line, '[^{_JSON_SPACE}]'))
            ) to {sql_string(parsed)} (format parquet, compression snappy)"""
        )
    except duckdb.Error as exc:
        parsed.unlink(missing_ok=True)
        raise InputFileError(path.name, "parse:truncated", f"cannot be read: {exc}") from None
    bad = con.execute(f"select min(line_no) from read_parquet({sql_string(parsed)}) where bad").fetchone()[0]
    if bad is None:
        return
    parsed.unlink()
    line_no = bad
    offset = con.execute(
        f"select coalesce(sum(strlen(line) + 1), 0) from ({lines}) where line_no < ?", [line_no]
    ).fetchone()[0]
    raise InputFileError(
        path.name,
        "parse:truncated",
        f"line {line_no} (byte {offset}) is not a complete JSON object; nothing of the file was loaded",
    )


def _land_file(con: duckdb.DuckDBPyConnection, path: Path, parsed: Path, batches: Mapping[str, BatchSink]) -> None:
    """Flatten the parsed export into the three batches, straight from ``parsed`` in line order."""
    lines = f"read_parquet({sql_string(parsed)})"
    # Identical lines are rare: find them with one hash aggregate, and number only their copies.
    con.execute(
        f"""create or replace temp table ga4_duplicates as
            select line_no, row_number() over (partition by h order by line_no) as n
            from {lines} where h in (select h from {lines} group by h having count(*) > 1)"""
    )
    try:
        if con.execute("select count(*) from ga4_duplicates where n > 1").fetchone()[0] == 0:
            src = f"(select line_no, e, h as event_key from {lines})"
        else:
            src = (
                f"(select p.line_no, p.e, p.h || case when d.n > 1 then '#' || d.n else '' end as event_key "
                f"from {lines} p left join ga4_duplicates d on d.line_no = p.line_no order by p.line_no)"
            )
        ref = f"{sql_string(path.name + ':')} || line_no"
        for entity, sql in (("ga4_events", _EVENTS_SQL), ("ga4_event_params", _PARAMS_SQL),
                            ("ga4_event_items", _ITEMS_SQL)):
            if entity in batches:
                batches[entity].write_query(con, sql.format(src=src, ref=ref), path.name)
    finally:
        con.execute("drop table if exists ga4_duplicates")
