"""The quality gate: exact quarantine per rule (first rule wins), counts add up, the threshold fails loudly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from narrowcast.contracts.windows import Window
from narrowcast.landing.zone import LandingZone
from narrowcast.loading.staging import stage_batch
from narrowcast.quality.gate import QualityGateFailed, SchemaDriftError, check_batch, enforce_threshold
from narrowcast.sources.registry import entity
from narrowcast.warehouse import in_memory

NOW = datetime(2024, 6, 1, 12, 0)
WINDOW = Window(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))
PAGE = "GET /admin/api/2026-10/orders.json page 1"


def _order(order_id: object, **overrides: object) -> dict[str, object]:
    row = {
        "id": order_id, "order_number": 1000, "customer_id": 7, "email": f"buyer{order_id}@example.com",
        "created_at": "2024-05-01T10:00:00Z", "currency": "EUR", "subtotal_price": Decimal("20.00"),
        "total_discounts": Decimal("0.00"), "total_price": Decimal("24.00"), "test": False,
    }
    return row | overrides


DIRTY_ORDERS = [
    _order(1),
    _order("abc"),  # type:id (also null once typed: the first rule wins)
    _order(None),  # not_null:id
    _order(4), _order(4),  # unique:id, the second copy
    _order(5, total_price=Decimal("-5.00"), currency="EURO"),  # non_negative:total_price before iso_currency
    _order(6, currency="EURO"),  # iso_currency:currency
    _order(7, created_at="2024-06-02T10:00:00+00:00"),  # not_future:created_at (a day ahead of NOW)
    _order(8, subtotal_price=Decimal("30.00")),  # line_totals:subtotal_price (lines sum to 20.00)
    _order(9, subtotal_price=Decimal("18.00"), total_discounts=Decimal("2.00")),  # after discounts: fine
    _order(10),
]
LINES = [
    {"id": 100 + i, "order_id": i, "sku": "MUG", "quantity": 2, "price": Decimal("10.00"), "total_discount": Decimal("0")}
    for i in (1, 4, 5, 6, 7, 8, 9, 10)
]
EXPECTED = {
    "type:id": 1,
    "not_null:id": 1,
    "unique:id": 1,
    "non_negative:total_price": 1,
    "iso_currency:currency": 1,
    "not_future:created_at": 1,
    "line_totals:subtotal_price": 1,
}


@pytest.fixture
def staged(tmp_path: Path):
    zone = LandingZone(tmp_path / "landing")
    con = in_memory()
    orders = zone.new_batch("shopify", "shop_orders", WINDOW)
    orders.write_records(DIRTY_ORDERS, PAGE)
    lines = zone.new_batch("shopify", "shop_order_lines", WINDOW)
    lines.write_records(LINES + [LINES[1]], PAGE)  # order 4's line comes twice, with its duplicated order
    yield con, stage_batch(con, orders, entity("shop_orders")), stage_batch(con, lines, entity("shop_order_lines"))
    con.close()


@pytest.mark.parametrize(
    ("gx_full_max_rows", "sample_rows"),
    [
        pytest.param(1_000, 5_000, id="GX validates the whole batch"),
        pytest.param(0, 5_000, id="GX validates pre-screened candidates and every other row"),
        pytest.param(0, 3, id="GX validates pre-screened candidates and a sample of the others"),
    ],
)
def test_each_dirty_row_is_quarantined_once_under_its_first_failing_rule(
    staged, gx_full_max_rows: int, sample_rows: int
) -> None:
    con, orders, lines = staged
    result = check_batch(con, orders, lines=lines, now=NOW, gx_full_max_rows=gx_full_max_rows, sample_rows=sample_rows)
    assert result.rule_counts == EXPECTED
    assert result.received == len(DIRTY_ORDERS)
    assert result.quarantined == sum(EXPECTED.values())
    by_row = dict(zip(result.failures.column("_row").to_pylist(), result.failures.column("rule").to_pylist(), strict=True))
    assert by_row[5] == "non_negative:total_price"
    assert sorted(r for r, rule in by_row.items() if rule == "unique:id") == [4]


def test_a_batch_over_the_threshold_fails_naming_page_rule_count_and_keys_without_emails(staged) -> None:
    con, orders, lines = staged
    result = check_batch(con, orders, lines=lines, now=NOW)
    with pytest.raises(QualityGateFailed) as caught:
        enforce_threshold(con, orders, result, threshold=0.05)
    message = str(caught.value)
    assert "7 of 11 rows" in message
    assert f"rule unique:id: 1 row(s) in {PAGE} (sample keys: id=4)" in message
    assert "rule iso_currency:currency: 1 row(s)" in message
    assert "@" not in message


def test_a_batch_at_the_threshold_passes_the_gate(staged) -> None:
    con, orders, lines = staged
    result = check_batch(con, orders, lines=lines, now=NOW)
    assert result.share == pytest.approx(7 / 11)
    # Only a share above the threshold fails: exactly at it, the batch loads (enforce_threshold returns).
    assert enforce_threshold(con, orders, result, threshold=result.share) is None


def test_unknown_ga4_event_names_and_future_event_timestamps_are_quarantined(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path / "landing")
    batch = zone.new_batch("ga4", "ga4_events", WINDOW)
    now_us = int((NOW - datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    base = {"event_date": "20240501", "event_timestamp": now_us - 10**9, "user_pseudo_id": "u1"}
    batch.write_records(
        [
            base | {"event_key": "a", "event_name": "page_view"},
            base | {"event_key": "b", "event_name": "pageview"},
            base | {"event_key": "c", "event_name": "purchase", "event_timestamp": now_us + 2 * 3600 * 10**6},
        ],
        "events_20240501.ndjson",
    )
    con = in_memory()
    result = check_batch(con, stage_batch(con, batch, entity("ga4_events")), now=NOW)
    assert result.rule_counts == {"known_event_name:event_name": 1, "not_future:event_timestamp": 1}


def test_a_batch_without_a_required_column_is_schema_drift(tmp_path: Path) -> None:
    batch = LandingZone(tmp_path / "landing").new_batch("shopify", "shop_orders", WINDOW)
    batch.write_records([{"id": 1, "currency": "EUR"}], PAGE)
    con = in_memory()
    with pytest.raises(SchemaDriftError, match=r"schema:missing_column: shop_orders .* created_at, total_price"):
        check_batch(con, stage_batch(con, batch, entity("shop_orders")), now=NOW)


def _suites_asked(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The rule names of each suite the gate hands GX, in order."""
    from narrowcast.quality import expectations

    asked: list[list[str]] = []
    real = expectations._suite

    def spy(gx, rules, limits):
        asked.append([rule.name for rule in rules])
        return real(gx, rules, limits)

    monkeypatch.setattr(expectations, "_suite", spy)
    return asked


def test_type_rules_are_judged_in_one_expectation_and_each_failing_column_is_still_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = LandingZone(tmp_path / "landing").new_batch("shopify", "shop_orders", WINDOW)
    batch.write_records(
        [_order(1), _order("A-2"), _order(3, created_at="gestern"), _order(4, order_number="1.001,5"),
         _order(5, created_at="2024-05-01 10:00:00", order_number=" ")],  # blank is null, not a bad value
        PAGE,
    )
    con = in_memory()
    staged = stage_batch(con, batch, entity("shop_orders"))
    asked = _suites_asked(monkeypatch)
    result = check_batch(con, staged, now=NOW)
    assert result.rule_counts == {"type:id": 1, "type:created_at": 1, "type:order_number": 1}
    by_row = dict(zip(result.failures.column("_row").to_pylist(), result.failures.column("rule").to_pylist(), strict=True))
    assert by_row == {1: "type:id", 2: "type:created_at", 3: "type:order_number"}
    verdict, complete = asked
    assert [name for name in verdict if name.startswith("type:")] == ["type:*"]
    # The disjunction failed, so every type rule runs again for its own rows.
    assert {name for name in complete if name.startswith("type:")} == {f"type:{c}" for c in staged.present}


def test_a_clean_batch_asks_gx_one_verdict_for_all_its_type_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = LandingZone(tmp_path / "landing").new_batch("shopify", "shop_orders", WINDOW)
    batch.write_records([_order(1), _order(2)], PAGE)
    con = in_memory()
    asked = _suites_asked(monkeypatch)
    result = check_batch(con, stage_batch(con, batch, entity("shop_orders")), now=NOW)
    assert result.quarantined == 0
    assert len(asked) == 1  # nothing failed, so no second, complete validation
    assert [name for name in asked[0] if name.startswith("type:")] == ["type:*"]
    assert "not_null:id" in asked[0] and "iso_currency:currency" in asked[0]


def test_gx_builds_each_expectations_configuration_once_per_validation_and_finds_the_same_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within a validation an expectation's configuration is built once and answered again (GX rebuilds it on
    every read: ~40% of its time on a small batch); outside, GX's own property answers. The rows found failing
    every kind of rule are the same as with GX's property alone."""
    import contextlib

    import pandas as pd
    from great_expectations.expectations import expectation as expectation_module
    from great_expectations.expectations.core import ExpectColumnValuesToNotBeNull
    from great_expectations.expectations.expectation import Expectation

    from narrowcast.quality import expectations
    from narrowcast.quality.rules import Rule

    expectations.prepare()  # installs the memo with GX's context
    expectation = ExpectColumnValuesToNotBeNull(column="id")
    assert expectation.configuration is not expectation.configuration  # GX's own: a new one per read
    with expectations._configurations_built_once():
        assert expectation.configuration is expectation.configuration
        assert expectation.configuration.to_json_dict() == ExpectColumnValuesToNotBeNull(
            column="id").configuration.to_json_dict()
    assert expectation.configuration is not expectation.configuration
    assert isinstance(Expectation.__dict__["configuration"], property)

    frame = pd.DataFrame(
        {"id": [1, 1, None, 4], "code": ["EUR", "XXY", "USD", None], "amount": [1.5, -2.0, 0.0, 3.0],
         "at": pd.to_datetime(["2024-01-01", "2030-01-01", "2024-01-02", "2024-01-03"]),
         "__type_code": [False, False, True, False]},
        index=pd.Index([10, 11, 12, 13], name="_row"))
    rules = [Rule("type", ("__type_code",), "code"), Rule("not_null", ("id",), "id"),
             Rule("unique", ("id",), "id"), Rule("non_negative", ("amount",), "amount"),
             Rule("iso_currency", ("code",), "code"), Rule("not_future", ("at",), "at"),
             Rule("any_not_null", ("id", "code"), "id|code")]
    limits = {"at": datetime(2025, 1, 1)}
    built: list[int] = []
    configuration_class = expectation_module.ExpectationConfiguration

    def counted(*args, **kwargs):
        built.append(1)
        return configuration_class(*args, **kwargs)

    monkeypatch.setattr(expectation_module, "ExpectationConfiguration", counted)  # what the property builds
    memoised = expectations.failing_rows(frame, rules, limits)
    builds_memoised = len(built)
    monkeypatch.setattr(expectations, "_configurations_built_once", contextlib.nullcontext)
    assert expectations.failing_rows(frame, rules, limits) == memoised
    # the gate's validations use the memo: far fewer builds than GX's own property makes
    assert builds_memoised * 3 < len(built) - builds_memoised, (builds_memoised, len(built) - builds_memoised)
    assert memoised == {"type:code": [12], "not_null:id": [12], "unique:id": [10, 11], "non_negative:amount": [11],
                        "iso_currency:code": [11], "not_future:at": [11], "any_not_null:id|code": []}
