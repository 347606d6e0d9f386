"""Command line for the generator: ``python -m narrowcast.datagen.cli --customers 5000 --days 92``.

Bad arguments or an unwritable data directory print one ``error: ...`` line that names the fix and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from narrowcast import settings
from narrowcast.datagen.generator import generate
from narrowcast.datagen.report import GenerationError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage problem as one ``error:`` line (no usage dump) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--start {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-08-01") from None


def _int(flag: str):
    def parse(text: str) -> int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a whole number") from None
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="narrowcast-datagen", description="Generate the synthetic shop world (deterministic per seed).")
    parser.add_argument("--customers", type=_int("--customers"), default=5000, help="number of shop customers")
    parser.add_argument("--days", type=_int("--days"), default=92, help="length of the window in days")
    parser.add_argument("--start", type=_iso_date, default=date(2026, 8, 1), help="first day, YYYY-MM-DD")
    parser.add_argument("--seed", type=_int("--seed"), default=42, help="random seed")
    parser.add_argument("--dirty", action="store_true", help="inject defects and write world/defects.json")
    parser.add_argument("--ga4-gzip", action="store_true",
                        help="write the GA4 export as gzip-compressed NDJSON (events_YYYYMMDD.ndjson.gz)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="output folder (default: NARROWCAST_DATA_DIR or ./data)")
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    data_dir = args.data_dir if args.data_dir is not None else settings.paths().data_dir
    progress = None if args.quiet else (lambda msg: print(f"datagen: {msg}", flush=True))
    try:
        report = generate(data_dir, customers=args.customers, days=args.days, start=args.start, seed=args.seed,
                          dirty=args.dirty, ga4_gzip=args.ga4_gzip, progress=progress)
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.quiet:
        print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
