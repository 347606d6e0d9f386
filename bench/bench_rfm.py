"""customer_rfm: the dbt build vs one hand-written DuckDB query vs a pandas groupby, on synthetic raw orders.

Usage: ``.venv/bin/python bench/bench_rfm.py --customers 1000000 --orders 10000000``

Writes a throwaway warehouse with every raw table of the contract (shop orders and refunds filled, the rest
empty), then times two comparisons, each ending in the same RFM rows (checked row by row):

Model level — the ``customer_rfm`` build, from the relation it reads (``int_orders``, one row per order of
every channel, already built):
  1. dbt:      ``dbt run --select customer_rfm``: the model's execution time (run_results) and process wall;
  2. DuckDB:   one hand-written query over ``int_orders`` with the same rules;
  3. pandas:   read ``int_orders`` into pandas, groupby + rank(method='min').
Chain level — from the raw tables:
  4. dbt:      ``dbt run --select +customer_rfm`` (staging views, int_* tables, the mart);
  5. DuckDB:   one hand-written query over ``raw.shop_orders`` + ``raw.shop_refunds``;
  6. pandas:   the same from the raw tables.
Prints the times and the ratios the project targets: dbt / hand-written <= 1.3, pandas / dbt >= 10.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dbt"))

from dbt_raw_schema import RAW_TABLES, create_table_sql  # noqa: E402

AS_OF = "2026-03-31"
SEGMENTS = ROOT / "dbt_project" / "seeds" / "rfm_segment_map.csv"


def generate_raw(path: Path, customers: int, orders: int, events_per_order: int = 0) -> None:
    """Synthetic raw tables: `orders` shop orders over two years for `customers` customers, 1% cancelled,
    0.5% test, 2% fully refunded, 5% partly refunded; optional GA4 page_view events (one session per order)."""
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        for table in RAW_TABLES:
            con.execute(create_table_sql(table))
        con.execute("select setseed(0.42)")
        con.execute(f"""
            insert into raw.shop_customers (id, email, phone, accepts_marketing, email_marketing_consent_state,
                country_code, created_at, updated_at, _loaded_at)
            select i, 'c' || i || '@example.com', '0151 ' || (1000000 + i), i % 3 <> 0,
                case when i % 3 = 0 then 'not_subscribed' else 'subscribed' end, 'DE',
                timestamp '2024-01-01', timestamp '2024-01-01', now()
            from range(1, {customers} + 1) as t(i)
        """)
        con.execute(f"""
            insert into raw.shop_orders (id, order_number, customer_id, created_at, updated_at, cancelled_at,
                financial_status, fulfillment_status, currency, subtotal_price, total_discounts, total_tax,
                total_shipping, total_price, test, _loaded_at)
            select i, cast(i as varchar), 1 + cast(floor(random() * {customers}) as bigint) as customer_id,
                timestamp '2024-04-01' + to_seconds(cast(floor(random() * 730 * 86400) as bigint)) as created_at,
                timestamp '2026-03-31', case when i % 100 = 0 then timestamp '2026-01-01' end,
                case when i % 50 = 1 then 'refunded' when i % 20 = 2 then 'partially_refunded' else 'paid' end,
                'fulfilled', 'EUR', cast(5 + random() * 195 as decimal(18, 2)), 0, 0, 4.90, 0, i % 200 = 3, now()
            from range(1, {orders} + 1) as t(i)
        """)
        con.execute("""
            insert into raw.shop_refunds (id, order_id, created_at, line_item_id, quantity, subtotal, _loaded_at)
            select id, id, created_at, id, 1,
                case when financial_status = 'refunded' then subtotal_price else round(subtotal_price / 3, 2) end,
                now()
            from raw.shop_orders where financial_status in ('refunded', 'partially_refunded')
        """)
        if events_per_order:
            insert_events(con, events_per_order)


def insert_events(con: duckdb.DuckDBPyConnection, events_per_order: int, after_order_id: int = 0) -> None:
    """GA4 events for the shop orders with id > ``after_order_id``: a purchase and page views before it, one
    session per order (its ga_session_id param)."""
    con.execute(f"""
        insert into raw.ga4_events (event_key, event_date, event_timestamp, event_name, user_pseudo_id,
            user_id, collected_source, collected_medium, _loaded_at)
        select o.id || '-' || e, cast(o.created_at as date),
            epoch_us(o.created_at) - (e * 60000000), case when e = 0 then 'purchase' else 'page_view' end,
            'u' || o.customer_id, cast(o.customer_id as varchar),
            (['google', 'facebook', '(direct)', 'newsletter'])[1 + o.id % 4],
            (['cpc', 'cpc', '(none)', 'email'])[1 + o.id % 4], now()
        from raw.shop_orders as o, range(0, {int(events_per_order)}) as r(e)
        where o.id > {int(after_order_id)}
    """)
    con.execute(f"""
        insert into raw.ga4_event_params (event_key, event_date, key, int_value, _loaded_at)
        select event_key, event_date, 'ga_session_id', min(event_timestamp) over (
            partition by split_part(event_key, '-', 1)) // 1000000, now()
        from raw.ga4_events
        where cast(split_part(event_key, '-', 1) as bigint) > {int(after_order_id)}
    """)


VALID_FROM_RAW = """
with refunds as (
    select order_id, sum(subtotal) as refunded from raw.shop_refunds group by order_id
),
valid as (
    select cast(o.customer_id as varchar) as customer_id, o.created_at,
        o.subtotal_price - coalesce(r.refunded, 0) as net
    from raw.shop_orders o left join refunds r on o.id = r.order_id
    where o.cancelled_at is null and not o.test and o.financial_status not in ('voided', 'refunded')
      and not (o.subtotal_price > 0 and coalesce(r.refunded, 0) >= o.subtotal_price)
      and o.customer_id is not null and cast(o.created_at as date) <= date '{as_of}'
),
"""
# The same rules over int_orders, the relation the customer_rfm model reads (net revenue, validity and the
# customer of every channel's orders already resolved there).
VALID_FROM_INT_ORDERS = """
with valid as (
    select customer_id, ordered_at as created_at, net_revenue as net from main.int_orders
    where is_valid and customer_id is not null and order_date <= date '{as_of}'
),
"""
PER_CUSTOMER = """
per as (
    select customer_id, min(created_at) as first_order_at, max(created_at) as last_order_at,
        date_diff('day', cast(max(created_at) as date), date '{as_of}') as recency_days,
        count(*) as frequency, sum(net) as monetary
    from valid group by customer_id
)"""
RFM_RULES = PER_CUSTOMER + """,
ranked as (
    select *,
        (rank() over (order by recency_days desc) - 1) / greatest(count(*) over () - 1, 1) as r_pr,
        (rank() over (order by frequency) - 1) / greatest(count(*) over () - 1, 1) as f_pr,
        (rank() over (order by monetary) - 1) / greatest(count(*) over () - 1, 1) as m_pr
    from per
),
scored as (
    select *,
        case when r_pr >= 0.8 then 5 when r_pr >= 0.6 then 4 when r_pr >= 0.4 then 3 when r_pr >= 0.2 then 2 else 1 end as r,
        case when f_pr >= 0.8 then 5 when f_pr >= 0.6 then 4 when f_pr >= 0.4 then 3 when f_pr >= 0.2 then 2 else 1 end as f,
        case when m_pr >= 0.8 then 5 when m_pr >= 0.6 then 4 when m_pr >= 0.4 then 3 when m_pr >= 0.2 then 2 else 1 end as m
    from ranked
),
grid as (  -- the segment of each of the 25 (R, F) cells: the matching rule of lowest priority number
    select r.i as r, f.i as f, arg_min(g.segment, g.priority) as segment
    from range(1, 6) r(i), range(1, 6) f(i), read_csv_auto('{segments}') g
    where r.i between g.r_min and g.r_max and f.i between g.f_min and g.f_max
    group by all
)
select s.customer_id, s.first_order_at, s.last_order_at, s.recency_days, s.frequency, s.monetary,
    s.monetary / s.frequency as avg_order_value, s.r, s.f, s.m, s.r || s.f || s.m as rfm_score,
    coalesce(grid.segment, 'Unclassified') as rfm_segment
from scored s left join grid using (r, f)
"""


HAND_WRITTEN = VALID_FROM_RAW + RFM_RULES
HAND_WRITTEN_ON_INT_ORDERS = VALID_FROM_INT_ORDERS + RFM_RULES


def time_hand_written(path: Path, sql: str = HAND_WRITTEN, table: str = "rfm_hand_written") -> tuple[float, int]:
    with duckdb.connect(str(path)) as con:
        started = time.perf_counter()
        con.execute(f"create or replace table main.{table} as {sql.format(as_of=AS_OF, segments=SEGMENTS)}")
        elapsed = time.perf_counter() - started
        rows = con.execute(f"select count(*) from main.{table}").fetchone()[0]
    return elapsed, rows


def time_group_by_alone(path: Path) -> float:
    """DuckDB's group-by of the valid orders into one row per customer, nothing else (best of two): the part
    of any SQL RFM that cannot be skipped. pandas' time over it bounds the pandas / dbt ratio any model reaches."""
    group_by = (VALID_FROM_INT_ORDERS + PER_CUSTOMER + "\nselect * from per").format(as_of=AS_OF)
    with duckdb.connect(str(path)) as con:
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            con.execute(f"create or replace temp table rfm_group_by_alone as {group_by}")
            runs.append(time.perf_counter() - started)
    return min(runs)


def count_disagreements(path: Path, table: str = "rfm_hand_written") -> int:
    """Customers whose dbt row differs from the hand-written query's (measures, scores or segment)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"""
            select count(*) from main.customer_rfm d full join main.{table} h using (customer_id)
            where d.customer_id is null or h.customer_id is null or d.frequency <> h.frequency
                or d.monetary <> h.monetary or d.recency_days <> h.recency_days
                or d.rfm_score <> h.rfm_score or d.rfm_segment <> h.rfm_segment
        """).fetchone()[0]


def time_pandas(path: Path) -> tuple[float, int]:
    """pandas from the raw tables (chain level)."""
    started = time.perf_counter()
    with duckdb.connect(str(path), read_only=True) as con:
        orders = con.execute("select id, customer_id, created_at, cancelled_at, financial_status, subtotal_price, "
                             "test from raw.shop_orders").df()
        refunds = con.execute("select order_id, subtotal from raw.shop_refunds").df()
    refunded = refunds.groupby("order_id")["subtotal"].sum().astype(float)
    orders["refunded"] = orders["id"].map(refunded).fillna(0.0)
    orders["net"] = orders["subtotal_price"].astype(float) - orders["refunded"]
    as_of = pd.Timestamp(AS_OF)
    valid = orders[orders["cancelled_at"].isna() & ~orders["test"] & ~orders["financial_status"].isin(["voided", "refunded"])
                   & ~((orders["subtotal_price"].astype(float) > 0) & (orders["refunded"] >= orders["subtotal_price"].astype(float)))
                   & (orders["created_at"].dt.normalize() <= as_of)]
    return _pandas_rfm(valid, as_of, started)


def time_pandas_on_int_orders(path: Path) -> tuple[float, int]:
    """pandas from int_orders (model level): the same input as the customer_rfm model."""
    started = time.perf_counter()
    with duckdb.connect(str(path), read_only=True) as con:
        valid = con.execute(f"""select customer_id, ordered_at as created_at, cast(net_revenue as double) as net
                                from main.int_orders
                                where is_valid and customer_id is not null and order_date <= date '{AS_OF}'""").df()
    return _pandas_rfm(valid, pd.Timestamp(AS_OF), started)


def _pandas_rfm(valid: pd.DataFrame, as_of: pd.Timestamp, started: float) -> tuple[float, int]:
    per = valid.groupby("customer_id").agg(first=("created_at", "min"), last=("created_at", "max"),
                                           frequency=("net", "size"), monetary=("net", "sum"))
    per["recency_days"] = (as_of - per["last"].dt.normalize()).dt.days
    n = max(len(per) - 1, 1)
    scores = {}
    for column, values in {"r": -per["recency_days"], "f": per["frequency"], "m": per["monetary"].round(2)}.items():
        pr = (values.rank(method="min") - 1) / n
        scores[column] = np.select([pr >= 0.8, pr >= 0.6, pr >= 0.4, pr >= 0.2], [5, 4, 3, 2], 1)
    per = per.assign(**scores)
    grid = pd.read_csv(SEGMENTS).sort_values("priority", ascending=False)
    per["rfm_segment"] = "Unclassified"
    for rule in grid.itertuples():  # lowest priority first, so the first match (highest priority) is written last
        hit = per["r"].between(rule.r_min, rule.r_max) & per["f"].between(rule.f_min, rule.f_max)
        per.loc[hit, "rfm_segment"] = rule.segment
    return time.perf_counter() - started, len(per)


def time_dbt(path: Path, target: Path, select: str = "+customer_rfm") -> tuple[float, float, float, int]:
    """(wall seconds of `dbt run --select <select>`, sum of its models' execution time, customer_rfm's own)."""
    env = {"NARROWCAST_WAREHOUSE": str(path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1",
           "PATH": str(Path(sys.executable).parent)}
    dbt = Path(sys.executable).with_name("dbt")
    common = ["--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
              "--target-path", str(target), "--log-path", str(target / "logs"), "--vars", json.dumps({"as_of_date": AS_OF})]
    if select.startswith("+"):  # the first (chain) run also seeds and parses
        subprocess.run([str(dbt), "seed", *common], env=env, check=True, capture_output=True)
        subprocess.run([str(dbt), "parse", *common], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([str(dbt), "run", "--select", select, *common], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = sum(r["execution_time"] for r in results)
    own = next(r["execution_time"] for r in results if r["unique_id"].endswith(".customer_rfm"))
    for r in sorted(results, key=lambda r: -r["execution_time"])[:5 if select.startswith("+") else 0]:
        print(f"  dbt node {r['execution_time']:7.2f} s  {r['unique_id']}")
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select count(*) from main.customer_rfm").fetchone()[0]
    return wall, models, own, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="small scale (what `make bench` runs)")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.orders = 20_000, 200_000
    with tempfile.TemporaryDirectory(prefix="bench-rfm-") as tmp:
        path = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        generate_raw(path, args.customers, args.orders)
        print(f"generated {args.customers:,} customers / {args.orders:,} orders in {time.perf_counter() - started:.1f}s")
        wall, models, own, dbt_rows = time_dbt(path, Path(tmp) / "target")
        hand, hand_rows = time_hand_written(path)
        disagreements = count_disagreements(path)
        pandas_s, pandas_rows = time_pandas(path)
        # model level: customer_rfm alone, its input int_orders already built (best of two runs each)
        model_runs = [time_dbt(path, Path(tmp) / "target", "customer_rfm") for _ in range(2)]
        model_wall, model_own = min(r[0] for r in model_runs), min(r[2] for r in model_runs)
        hand_model = min(time_hand_written(path, HAND_WRITTEN_ON_INT_ORDERS, "rfm_hand_on_int_orders")[0]
                         for _ in range(2))
        disagreements += count_disagreements(path, "rfm_hand_on_int_orders")
        pandas_model, pandas_model_rows = time_pandas_on_int_orders(path)
        group_by_alone = time_group_by_alone(path)
    if not dbt_rows == hand_rows == pandas_rows == pandas_model_rows:
        raise SystemExit(f"row counts differ: dbt {dbt_rows}, hand-written {hand_rows}, pandas {pandas_rows}, "
                         f"pandas on int_orders {pandas_model_rows}")
    if disagreements:
        raise SystemExit(f"{disagreements} customers differ between dbt and a hand-written query")
    print(f"rows (customers scored)           : {dbt_rows:,} (dbt rows identical to both hand-written queries')")
    print("model level: customer_rfm from int_orders (10M orders of every channel, built)")
    print(f"  dbt run customer_rfm, model SQL  : {model_own:8.2f} s  (process wall {model_wall:.2f} s)")
    print(f"  hand-written DuckDB query        : {hand_model:8.2f} s")
    print(f"  pandas read + groupby + rank     : {pandas_model:8.2f} s")
    print(f"  ratio dbt model / hand-written   : {model_own / hand_model:8.2f}   (target <= 1.3)")
    print(f"  ratio pandas / dbt model         : {pandas_model / model_own:8.2f}   (target >= 10)")
    print(f"  DuckDB group-by alone            : {group_by_alone:8.2f} s  (valid orders -> one row per customer; "
          f"pandas / it = {pandas_model / group_by_alone:.2f}, the most any SQL model can reach here)")
    print("chain level: from raw.shop_orders + raw.shop_refunds")
    print(f"  dbt run +customer_rfm, model SQL : {models:8.2f} s  (customer_rfm itself {own:.2f} s; wall {wall:.2f} s, "
          "process start, parse, 22 models)")
    print(f"  hand-written DuckDB query        : {hand:8.2f} s")
    print(f"  pandas read + groupby + rank     : {pandas_s:8.2f} s")
    print(f"  ratio dbt chain / hand-written   : {models / hand:8.2f}")
    print(f"  ratio pandas / dbt chain         : {pandas_s / models:8.2f}")
    print(f"date {date.today()}")


if __name__ == "__main__":
    main()
