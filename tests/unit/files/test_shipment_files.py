"""Shipment files (``shipments_*.csv``) in the inbox: one row per shipped order line, in any common dialect."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from inbox_runs import query, run_inbox

from narrowcast.contracts.windows import Window
from narrowcast.extract import ExtractFailed

WINDOW = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
HEADER = ("order_id", "marketplace", "carrier", "tracking_number", "shipped_at", "sku", "quantity")


def _shipments(data_dir: Path) -> list[tuple]:
    return query(data_dir, "select marketplace, order_id, carrier, tracking_number, shipped_at, sku, quantity "
                           "from raw.file_shipments order by all")


@pytest.mark.parametrize(("text", "encoding"), [
    pytest.param("order_id,marketplace,carrier,tracking_number,shipped_at,sku,quantity\n"
                 "12-34567-89012,ebay,DHL,00340434161094042557,2026-10-30T14:05:00Z,SKU-1,2\n"
                 "305-1234567-1234567,amazon,DPD,01234567890123,2026-10-30,SKU-2,1\n", "utf-8",
                 id="comma separated with ISO timestamps"),
    pytest.param("order_id;marketplace;carrier;tracking_number;shipped_at;sku;quantity\n"
                 "12-34567-89012;ebay;DHL;00340434161094042557;30.10.2026 15:05:00+01:00;SKU-1;2\n"
                 "305-1234567-1234567;amazon;DPD;01234567890123;30.10.2026;SKU-2;1\n", "cp1252",
                 id="semicolon separated, day-first dates and a Windows code page"),
    pytest.param("\ufefforder_id\tmarketplace\tcarrier\ttracking_number\tshipped_at\tsku\tquantity\r\n"
                 "12-34567-89012\tebay\tDHL\t00340434161094042557\t30/10/2026 14:05\tSKU-1\t2\r\n"
                 "305-1234567-1234567\tamazon\tDPD\t01234567890123\t30/10/2026\tSKU-2\t1\r\n", "utf-8",
                 id="tab separated with a BOM and CRLF"),
])
def test_a_shipments_file_in_any_common_dialect_loads_the_same_lines(tmp_path: Path, text: str, encoding: str) -> None:
    # GIVEN a shipments file as a warehouse tool exports it
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "shipments_2026-10-30.csv").write_bytes(text.encode(encoding))
    # WHEN the inbox loads it
    run_inbox(tmp_path, WINDOW)
    # THEN every shipped line lands with its tracking number kept as text (leading zeros intact)
    assert _shipments(tmp_path) == [
        ("amazon", "305-1234567-1234567", "DPD", "01234567890123", datetime(2026, 10, 30), "SKU-2", 1),
        ("ebay", "12-34567-89012", "DHL", "00340434161094042557", datetime(2026, 10, 30, 14, 5), "SKU-1", 2),
    ]


def test_a_shipments_file_without_a_tracking_number_column_is_rejected_naming_it(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "shipments_bad.csv").write_text(
        "order_id,marketplace,carrier,shipped_at,sku,quantity\n12-34567-89012,ebay,DHL,2026-10-30,SKU-1,2\n")
    with pytest.raises(ExtractFailed, match="tracking_number"):
        run_inbox(tmp_path, WINDOW)
