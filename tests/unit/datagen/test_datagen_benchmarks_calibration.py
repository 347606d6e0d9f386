"""The synthetic shop looks like an ordinary one: its funnel, ROAS and loyalty lie in published benchmark ranges.

GIVEN a small generated world (1,000 customers over the demo's 92 days), WHEN its figures are measured the way the
marts measure them, THEN paid ROAS lies in 2-8x, cart abandonment in 60-80% (Baymard's average is 70%), and the site
conversion rate, repeat-purchase rate and marketplace share of orders in their benchmark ranges
(narrowcast.datagen.benchmarks names the source of each).
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest
import yaml

from narrowcast import settings
from narrowcast.datagen import generate
from narrowcast.datagen import planted_uplift as planted
from narrowcast.datagen.benchmarks import BENCHMARKS, world_figures


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    data_dir = tmp_path_factory.mktemp("benchmarked")
    generate(data_dir, customers=1000, days=92, start=date(2026, 8, 1), seed=42)
    return world_figures(data_dir)


def test_paid_roas_lies_between_2_and_8(figures: dict[str, float]) -> None:
    assert 2.0 <= figures["paid_roas"] <= 8.0, figures


def test_cart_abandonment_lies_between_60_and_80_percent(figures: dict[str, float]) -> None:
    assert 0.60 <= figures["cart_abandonment_rate"] <= 0.80, figures


@pytest.mark.parametrize("figure", [
    pytest.param("site_conversion_rate", id="about 2 in 100 sessions end in an order"),
    pytest.param("repeat_purchase_rate", id="a quarter of buyers order again"),
    pytest.param("marketplace_order_share", id="marketplaces take a quarter to two-fifths of orders"),
])
def test_the_world_lies_in_the_published_range(figures: dict[str, float], figure: str) -> None:
    bench = BENCHMARKS[figure]
    assert bench.low <= figures[figure] <= bench.high, (figure, figures[figure], bench)


def test_planted_uplift_mirrors_the_dbt_vars() -> None:
    dbt_vars = yaml.safe_load((settings.PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]
    assert planted.HOLDOUT_SHARE == dbt_vars["holdout_share"]
    assert planted.HOLDOUT_SALT == dbt_vars["holdout_salt"]
    assert planted.UPLIFT_WINDOW_DAYS == dbt_vars["uplift_window_days"]


def test_the_generator_holds_out_exactly_whom_the_warehouse_holds_out() -> None:
    """GIVEN customer ids, THEN the generator's holdout equals the SQL of macros/hash_bucket.sql on DuckDB."""
    ids = np.array([str(6_900_000_000 + i) for i in range(2000)])
    con = duckdb.connect()
    try:
        sql = ("select mod(cast(('0x' || substr(md5(id || ?), 1, 8)) as bigint), 10000) < ? "
               "from unnest(?) as t(id)")
        expected = [row[0] for row in con.execute(sql, [planted.HOLDOUT_SALT, int(planted.HOLDOUT_SHARE * 10_000),
                                                        ids.tolist()]).fetchall()]
    finally:
        con.close()
    assert planted.is_holdout(ids).tolist() == expected
    assert 150 <= sum(expected) <= 250  # about a tenth, so the comparison is not vacuous
