"""The web side of the world holds together: orders ↔ GA4 purchases, sessions, funnel, traffic and ad clicks."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq
from datagen_helpers import param

from narrowcast.datagen import GenerationReport
from narrowcast.datagen.ga4_export import KNOWN_EVENT_NAMES
from narrowcast.datagen.lead_events import LEAD_EVENT_NAMES

FUNNEL = ("view_item", "add_to_cart", "begin_checkout", "purchase")


def _world(report: GenerationReport, name: str) -> list[dict]:
    return pq.read_table(report.data_dir / "world" / f"{name}.parquet").to_pylist()


def test_every_non_test_web_order_has_exactly_one_purchase_event_with_its_id_and_revenue(
        clean_world: GenerationReport, clean_events: list[dict]) -> None:
    orders = _world(clean_world, "orders")
    purchases = [e for e in clean_events if e["event_name"] == "purchase"]
    by_id = Counter(e["ecommerce"]["transaction_id"] for e in purchases)
    revenue = {e["ecommerce"]["transaction_id"]: e["ecommerce"]["purchase_revenue"] for e in purchases}
    real = [o for o in orders if not o["test"]]
    assert len(real) > 100
    assert all(by_id[str(o["order_id"])] == 1 for o in real)
    assert all(Decimal(str(revenue[str(o["order_id"])])) == o["total_price"] for o in real)
    assert all(str(o["order_id"]) not in by_id for o in orders if o["test"])
    assert sum(by_id.values()) == len(real)


def test_every_event_carries_its_session_id_and_number_and_a_known_name(clean_events: list[dict]) -> None:
    assert {e["event_name"] for e in clean_events} == set(KNOWN_EVENT_NAMES) | set(LEAD_EVENT_NAMES)
    assert all(isinstance(param(e, "ga_session_id"), int) for e in clean_events)
    assert all(param(e, "ga_session_number") >= 1 for e in clean_events)
    assert max(param(e, "ga_session_number") for e in clean_events) > 1  # returning visitors exist


def test_funnel_events_carry_items(clean_events: list[dict]) -> None:
    funnel = [e for e in clean_events if e["event_name"] in FUNNEL]
    assert {e["event_name"] for e in funnel} == set(FUNNEL)
    assert all(e["items"] and all(i["item_id"].startswith("NC-") for i in e["items"]) for e in funnel)


def test_abandoned_carts_exist_and_some_belong_to_known_consenting_customers(
        clean_world: GenerationReport, clean_events: list[dict]) -> None:
    steps: dict[tuple[str, int], set[str]] = defaultdict(set)
    user: dict[tuple[str, int], str] = {}
    for e in clean_events:
        key = (e["user_pseudo_id"], param(e, "ga_session_id"))
        steps[key].add(e["event_name"])
        if e.get("user_id"):
            user[key] = e["user_id"]
    abandoned = [k for k, s in steps.items() if s & {"add_to_cart", "begin_checkout"} and "purchase" not in s]
    consenting = {str(c["customer_id"]) for c in _world(clean_world, "customers") if c["accepts_marketing"]}
    known = [k for k in abandoned if user.get(k) in consenting]
    assert len(abandoned) > 50
    assert len(known) >= 5


def test_traffic_covers_every_channel_with_platform_campaign_names(
        clean_world: GenerationReport, clean_events: list[dict]) -> None:
    meta = {r["campaign_name"] for r in _world(clean_world, "meta_insights")}
    google = {r["campaign_name"] for r in _world(clean_world, "google_ads_stats")}
    sources = [e.get("collected_traffic_source") for e in clean_events]
    seen = Counter((s or {}).get("manual_medium", "(direct)") for s in sources)
    for medium in ("paid_social", "cpc", "organic", "email", "(direct)", "referral", "affiliate"):
        assert seen[medium] > 0, medium
    social = [s for s in sources if s and s["manual_source"] in ("facebook", "instagram")]
    search = [s for s in sources if s and s["manual_source"] == "google" and s["manual_medium"] == "cpc"]
    assert social and all(s["manual_medium"] in ("paid_social", "cpc") for s in social)
    assert {s["manual_campaign_name"] for s in social} <= meta
    assert search and all(s["gclid"] for s in search)
    assert {s["manual_campaign_name"] for s in search} <= google
    assert all(e["traffic_source"]["source"] for e in clean_events)  # first-user source always set


def test_paid_sessions_never_exceed_the_clicks_the_platform_reports_per_campaign_day(
        clean_world: GenerationReport) -> None:
    world = clean_world.data_dir / "world"
    over = duckdb.sql(f"""
        with paid as (
            select campaign, started_at::date as day, count(*) as sessions
            from read_parquet('{world}/ga4_sessions.parquet')
            where channel in ('paid_social', 'paid_search') group by all
        ),
        clicks as (
            select campaign_name, date, clicks from read_parquet('{world}/meta_insights.parquet')
            union all
            select campaign_name, date, clicks from read_parquet('{world}/google_ads_stats.parquet')
        )
        select paid.*, clicks.clicks from paid
        left join clicks on clicks.campaign_name = paid.campaign and clicks.date = paid.day
        where clicks.clicks is null or paid.sessions > clicks.clicks
    """).fetchall()
    assert over == []


def test_ad_platform_rows_exist_only_for_campaign_days_with_spend(clean_world: GenerationReport) -> None:
    meta = _world(clean_world, "meta_insights")
    google = _world(clean_world, "google_ads_stats")
    assert meta and google
    assert all(r["spend"] > 0 and r["clicks"] > 0 for r in meta)
    assert all(r["cost_micros"] > 0 for r in google)
    assert len({(r["campaign_id"], r["date"]) for r in meta}) == len(meta)
    assert len({(r["campaign_id"], r["date"]) for r in google}) == len(google)


def test_no_customer_visits_before_their_account_exists_and_late_sign_ups_visit_too(
        clean_world: GenerationReport) -> None:
    """GIVEN sessions placed at the orders' pace and then given to a customer, THEN each went to a customer whose
    account already existed, and customers who signed up during the window have visits of their own."""
    world = clean_world.data_dir / "world"
    early, in_window_visitors = duckdb.sql(f"""
        select count(*) filter (where s.started_at < c.created_at),
               count(distinct c.customer_id) filter (where c.created_at >= date '2026-08-01' and s.logged_in is not null)
        from read_parquet('{world}/ga4_sessions.parquet') s
        join read_parquet('{world}/customers.parquet') c using (customer_id)
    """).fetchone()
    assert early == 0
    assert in_window_visitors > 0
