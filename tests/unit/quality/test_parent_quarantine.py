"""A child row whose parent row is quarantined is quarantined with it, naming the parent; nothing else is held."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone
from narrowcast.loading.staging import stage_batch
from narrowcast.quality.gate import check_batch, hold_back_children
from narrowcast.sources.registry import entity
from narrowcast.warehouse import in_memory

NOW = datetime(2024, 6, 1, 12, 0)
WINDOW = Window(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))


def _order(order_id: int, total: str = "20.00") -> dict[str, object]:
    return {"id": order_id, "created_at": "2024-05-01T10:00:00Z", "currency": "EUR",
            "subtotal_price": Decimal("20.00"), "total_price": Decimal(total)}


def _line(line_id: int, order_id: int, price: str = "10.00") -> dict[str, object]:
    return {"id": line_id, "order_id": order_id, "quantity": 2, "price": Decimal(price)}


@pytest.fixture
def con():
    warehouse = in_memory()
    yield warehouse
    warehouse.close()


def _staged(con, tmp_path: Path, name: str, records: list[dict[str, object]]):
    batch = LandingZone(tmp_path / "landing").new_batch("shopify", name, WINDOW)
    batch.write_records(records, f"GET {name} page 1")
    return stage_batch(con, batch, entity(name))


def test_the_lines_of_a_quarantined_order_are_quarantined_naming_the_parent(con, tmp_path: Path) -> None:
    # GIVEN order 2 fails a rule of its own, order 1 passes; order 3 comes twice (the copy is quarantined)
    orders = _staged(con, tmp_path, "shop_orders", [_order(1), _order(2, total="-1.00"), _order(3), _order(3)])
    lines = _staged(con, tmp_path, "shop_order_lines",
                    [_line(11, 1), _line(21, 2), _line(22, 2, price="-1.00"), _line(31, 3), _line(41, 4)])
    parent = check_batch(con, orders, now=NOW)
    # WHEN the lines are checked and held back against the orders' failures
    result = hold_back_children(con, lines, check_batch(con, lines, now=NOW), orders, parent.failures)
    # THEN order 2's lines are quarantined: one under its own rule, the other under the parent's
    assert dict(zip(result.failures["_row"].to_pylist(), result.failures["rule"].to_pylist(), strict=True)) == {
        1: "parent_quarantined:order_id", 2: "non_negative:price",
    }
    assert result.rule_counts == {"non_negative:price": 1, "parent_quarantined:order_id": 1}
    assert result.failures["column_name"].to_pylist() == ["order_id", "price"]
    # AND the line of order 3 (one copy loads), of order 1 and of order 4 (not in this run) are not held back
    assert result.quarantined == 2


def test_a_child_table_without_quarantined_parents_is_unchanged(con, tmp_path: Path) -> None:
    orders = _staged(con, tmp_path, "shop_orders", [_order(1)])
    lines = _staged(con, tmp_path, "shop_order_lines", [_line(11, 1)])
    own = check_batch(con, lines, now=NOW)
    assert hold_back_children(con, lines, own, orders, check_batch(con, orders, now=NOW).failures) is own
