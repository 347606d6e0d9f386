"""Catalogue files (``catalogue_*.csv``) in the inbox: one row per variant SKU, any common dialect, GTINs kept as text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from inbox_runs import query, run_inbox

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed

WINDOW = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
HEADER = ["sku", "title", "brand", "gtin", "condition", "category", "image_urls", "price", "currency", "parent_sku",
          "size"]


@pytest.mark.parametrize(("separator", "price"), [
    pytest.param(",", "29.99", id="comma separated with a decimal point"),
    pytest.param(";", "29,99", id="semicolon separated with a decimal comma, as a German export writes it"),
])
def test_a_catalogue_file_loads_one_row_per_variant_with_the_gtin_as_written(
        tmp_path: Path, separator: str, price: str) -> None:
    # GIVEN two variants of one shirt, one GTIN with a leading zero
    lines = [HEADER,
             ["LS-M", "Linen shirt M", "Narrowcast Wear", "04006381333931", "new", "Shirts",
              "https://img.example/1.jpg|https://img.example/2.jpg", price, "EUR", "LS", "M"],
             ["LS-L", "Linen shirt L", "Narrowcast Wear", "04006381333948", "new", "Shirts", "", price, "EUR", "LS", "L"]]
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "catalogue_2026-03.csv").write_text("\n".join(separator.join(line) for line in lines) + "\n")
    # WHEN the inbox runs
    run_inbox(tmp_path, WINDOW)
    # THEN each variant is a row, text kept exactly, the price parsed in the file's dialect
    assert query(tmp_path, "select sku, gtin, price, parent_sku, size, image_urls from raw.file_catalogue order by sku") == [
        ("LS-L", "04006381333948", Decimal("29.99"), "LS", "L", None),
        ("LS-M", "04006381333931", Decimal("29.99"), "LS", "M", "https://img.example/1.jpg|https://img.example/2.jpg"),
    ]


def test_a_catalogue_file_without_titles_is_rejected_naming_the_column(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "catalogue_bad.csv").write_text("sku,brand\nLS-M,Narrowcast Wear\n")
    with pytest.raises(ExtractFailed, match="title"):
        run_inbox(tmp_path, WINDOW)
