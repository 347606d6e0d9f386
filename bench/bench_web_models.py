"""The GA4 web models (stg_ga4__events, int_web_events, int_web_item_events, int_sessions) of two checkouts on the
same warehouse: node times of each, and every row of every column compared (EXCEPT both ways).

Usage: ``.venv/bin/python bench/bench_web_models.py --baseline-project <old checkout>/dbt_project``
(e.g. ``git worktree add /tmp/base main`` or ``git archive main dbt_project | tar -x -C /tmp/base``).

Raw data comes from bench_rfm.generate_raw (one ga_session_id param per event, all sessions tagged), which
``--enrich`` (default on) varies so that every branch of the models is exercised: events without ga_session_id
(inactivity sessions), ga_session_id sent as text or as junk text, duplicate param keys, page, referrer, title,
search, engagement and utm params next to params the models ignore, gclid-only clicks, devices and geo,
events sharing a timestamp, blank user and transaction ids, consent-mode pings without user_pseudo_id, and items.
Each checkout builds its models with ``dbt run --full-refresh`` on its own copy of the warehouse; the script
prints the 1-minute load average, each node's time, and the rows found on one side only (0 means identical),
and exits non-zero when a model differs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from narrowcast_airflow.defaults import dbt_env

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rfm import ROOT, generate_raw  # noqa: E402

MODELS = ("int_web_events", "int_web_item_events", "int_sessions")

# Deterministic variations keyed on a hash of event_key (h); the generator's params are ga_session_id only.
ENRICH = """
create or replace temp table h as
    select event_key, event_date, cast(hash(event_key) % 1000 as bigint) as h, event_name from raw.ga4_events;
-- 8% of events lose ga_session_id (sessionised by inactivity); 5% send it as text, 1% as junk text.
delete from raw.ga4_event_params as p using h
    where p.event_key = h.event_key and p.key = 'ga_session_id' and h.h < 80;
update raw.ga4_event_params as p set string_value = cast(p.int_value as varchar), int_value = null from h
    where p.event_key = h.event_key and p.key = 'ga_session_id' and h.h between 80 and 129;
insert into raw.ga4_event_params (event_key, event_date, key, string_value, int_value, double_value, _loaded_at)
    select event_key, event_date, k.key,
        case
            when k.key = 'page_location' and h % 7 <> 0 then 'https://shop.example/p/' || (h % 97)
            when k.key = 'page_referrer' and h % 3 = 0 then 'https://ref.example/' || (h % 13)
            when k.key = 'page_title' then 'Title ' || (h % 31)
            when k.key = 'search_term' and h % 11 = 0 then 'term ' || (h % 5)
            when k.key = 'source' and h % 9 = 0 then 'Newsletter'
            when k.key = 'medium' and h % 9 = 0 then 'Email'
            when k.key = 'campaign' and h % 9 = 0 then 'spring_' || (h % 4)
            when k.key = 'ga_session_number' and h % 5 = 0 then cast(h % 40 as varchar)
            when k.key = 'ga_session_id' and h between 130 and 139 then 'not-a-number'
            when k.key = 'debug_mode' then 'true'
        end,
        case
            when k.key = 'engagement_time_msec' then h * 13
            when k.key = 'ga_session_number' and h % 5 <> 0 then h % 40
            when k.key = 'session_engaged' then 1
        end,
        case when k.key = 'value' then h / 7.0 end,
        now()
    from h, (values ('page_location'), ('page_referrer'), ('page_title'), ('search_term'), ('engagement_time_msec'),
                    ('source'), ('medium'), ('campaign'), ('ga_session_number'), ('ga_session_id'), ('debug_mode'),
                    ('session_engaged'), ('value')) as k(key)
    where (k.key <> 'ga_session_id' or h between 130 and 139) and (k.key not in ('source', 'medium', 'campaign')
        or h % 2 = 0);
-- A second page_location for 1% of events: the models keep the greatest value of a repeated key.
insert into raw.ga4_event_params (event_key, event_date, key, string_value, _loaded_at)
    select event_key, event_date, 'page_location', 'https://shop.example/zz/' || h, now() from h where h % 100 = 42;
update raw.ga4_events as e set
    collected_source = case when h.h % 4 = 1 then null else e.collected_source end,
    collected_medium = case when h.h % 4 = 1 then null else e.collected_medium end,
    collected_campaign_name = case when h.h % 6 = 0 then 'Camp' || (h.h % 3) end,
    collected_gclid = case when h.h % 8 = 1 then 'gclid' || h.h end,
    first_user_source = case when h.h % 5 = 0 then 'Google' end,
    first_user_medium = case when h.h % 5 = 0 then 'Organic' end,
    geo_country = case when h.h % 10 <> 9 then (['DE', 'FR', 'NL'])[1 + h.h % 3] end,
    geo_region = case when h.h % 10 < 7 then 'R' || (h.h % 9) end,
    geo_city = case when h.h % 10 < 5 then 'C' || (h.h % 17) end,
    device_category = case when h.h % 10 <> 3 then (['Desktop', 'mobile', 'TABLET'])[1 + h.h % 3] end,
    user_id = case when h.h % 25 = 0 then '  ' when h.h % 25 = 1 then null else e.user_id end,
    ecommerce_transaction_id = case when e.event_name = 'purchase' then
        (case when h.h % 10 = 0 then ' ' else 'T' || e.event_key end) end,
    ecommerce_purchase_revenue = case when e.event_name = 'purchase' then h.h / 3.0 end,
    -- Events sharing a timestamp within a session: the order falls back to event_key.
    event_timestamp = case when h.h % 9 = 0 then e.event_timestamp - e.event_timestamp % 600000000
        else e.event_timestamp end,
    user_pseudo_id = case when h.h = 999 then null else e.user_pseudo_id end
    from h where e.event_key = h.event_key;
insert into raw.ga4_event_items (event_key, event_date, item_index, item_id, item_name, item_category, price,
        quantity, _loaded_at)
    select event_key, event_date, i, case when h % 13 <> 0 then 'SKU-' || (h % 50 + i) end, 'Item', 'Cat',
        round(h / 10.0 + i, 2), 1 + i % 2, now()
    from h, range(1, 3) as r(i) where h % 3 = 0;
"""


def run_dbt(project: Path, warehouse: Path, target: Path, *args: str) -> list[dict[str, object]]:
    env = {"NARROWCAST_WAREHOUSE": str(warehouse), "PATH": str(Path(sys.executable).parent), **dbt_env()}
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", str(project),
         "--profiles-dir", str(project), "--target-path", str(target), "--log-path", str(target / "logs")],
        env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"dbt {args[0]} failed in {project}:\n{completed.stdout[-3000:]}")
    return json.loads((target / "run_results.json").read_text())["results"]


def build(project: Path, warehouse: Path, target: Path) -> dict[str, float]:
    run_dbt(project, warehouse, target, "seed", "--select", "channel_mapping", "channels")
    print(f"  load average before: {os.getloadavg()[0]:.2f}", flush=True)
    results = run_dbt(project, warehouse, target, "run", "--full-refresh", "--select",
                      "stg_ga4__events", "stg_ga4__event_items", *MODELS)
    print(f"  load average after: {os.getloadavg()[0]:.2f}", flush=True)
    return {str(r["unique_id"]).split(".")[-1]: float(r["execution_time"]) for r in results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-project", type=Path, required=True, help="the old checkout's dbt_project")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--events-per-order", type=int, default=3)
    parser.add_argument("--warehouse", type=Path, help="existing warehouse to copy instead of generating one")
    parser.add_argument("--no-enrich", action="store_true", help="keep the generator's GA4 data as it is")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        source = Path(tmp) / "source.duckdb"
        if args.warehouse:
            shutil.copyfile(args.warehouse, source)
        else:
            generate_raw(source, args.customers, args.orders, args.events_per_order)
        if not args.no_enrich:
            with duckdb.connect(str(source)) as con:
                con.execute(ENRICH)
        checkouts = {"baseline": args.baseline_project.resolve(), "current": ROOT / "dbt_project"}
        times: dict[str, dict[str, float]] = {}
        for name, project in checkouts.items():
            shutil.copyfile(source, Path(tmp) / f"{name}.duckdb")
            print(f"{name}: {project}", flush=True)
            times[name] = build(project, Path(tmp) / f"{name}.duckdb", Path(tmp) / f"target-{name}")
        for node in times["baseline"]:
            print(f"  {node:24s} baseline {times['baseline'][node]:7.2f} s   current "
                  f"{times['current'].get(node, float('nan')):7.2f} s")
        differing = 0
        with duckdb.connect() as con:
            for name in checkouts:
                con.execute(f"attach '{Path(tmp) / f'{name}.duckdb'}' as {name} (read_only)")
            for model in MODELS:
                rows = con.execute(f"select count(*) from baseline.main.{model}").fetchone()[0]
                only = [con.execute(f"select count(*) from (select * from {a}.main.{model} "
                                    f"except all select * from {b}.main.{model})").fetchone()[0]
                        for a, b in (("baseline", "current"), ("current", "baseline"))]
                differing += sum(only)
                print(f"  {model:24s} {rows:,} rows; only in baseline {only[0]}, only in current {only[1]}")
        if differing:
            raise SystemExit("the models differ")


if __name__ == "__main__":
    main()
