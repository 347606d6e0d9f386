"""Independent pandas recomputation of the referral programme: which referrer each order is credited to, the
commission the seed affiliate_commission_rules prices it at, affiliate_performance per partner and day, and the
affiliate channel's spend in kpi_channel_daily.

Written from the models' yml descriptions (int_referral_codes, int_referral_sessions, int_order_referrals,
affiliate_performance), on top of dbt_pandas_reference's raw-table recomputations of sessions and attribution.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import dbt_pandas_reference as reference
import pandas as pd

ReadTable = Callable[[str], pd.DataFrame]
# dbt_project.yml: var referral_code_key's default (NARROWCAST_REFERRAL_KEY unset), var referral_code_prefix.
REFERRAL_KEY = "narrowcast-demo-referral-key"
PREFIX = "REF-"
PRECEDENCE = {"discount_code": 1, "referral_link": 2, "affiliate_utm": 3}


def referral_code(customer_id: str) -> str:
    return PREFIX + hashlib.sha256(f"{REFERRAL_KEY}:{customer_id}".encode()).hexdigest()[:10].upper()


def _codes(read: ReadTable) -> dict[str, str]:
    """referral code -> customer, for every customer."""
    return {referral_code(c): c for c in set(reference.identity_links(read)["customer_id"])}


def _landing_pages(read: ReadTable) -> dict[str, str]:
    """session_key -> the page_location of the session's first event that has one (GA4 sessions as
    dbt_pandas_reference.sessions cuts them)."""
    events = read("raw.ga4_events")
    params = read("raw.ga4_event_params")
    sid = params[params["key"] == "ga_session_id"].set_index("event_key")["int_value"]
    page = params[params["key"] == "page_location"].set_index("event_key")["string_value"]
    events["session_id"] = events["event_key"].map(sid)
    events["page"] = events["event_key"].map(page)
    events["at"] = pd.to_datetime(events["event_timestamp"], unit="us")
    events = events.sort_values(["user_pseudo_id", "at", "event_key"])
    missing = events["session_id"].isna()
    fallback = events[missing].copy()
    gap = fallback.groupby("user_pseudo_id")["at"].diff()
    fallback["seq"] = (gap.isna() | (gap > pd.Timedelta(minutes=30))).astype(int).groupby(
        fallback["user_pseudo_id"]).cumsum()
    starts = fallback.groupby(["user_pseudo_id", "seq"])["at"].transform("min")
    events.loc[missing, "session_id"] = (starts - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    events["session_key"] = events["user_pseudo_id"] + "-" + events["session_id"].astype("int64").astype(str)
    with_page = events.dropna(subset=["page"])
    return with_page.groupby("session_key")["page"].first().to_dict()


def referral_sessions(read: ReadTable) -> pd.DataFrame:
    """int_referral_sessions: a landing page whose ref parameter is a known code (not the visitor's own), else an
    affiliate-channel session (partner = lower-cased utm_source)."""
    sessions = reference.sessions(read)
    identity = reference.browser_customers(read)
    codes = _codes(read)
    landing = _landing_pages(read)
    affiliates = set(pd.read_csv(reference.SEEDS / "channels.csv").query("is_affiliate")["channel"])
    rows = []
    for s in sessions.itertuples():
        query = parse_qs(urlsplit(landing.get(s.session_key, "")).query)
        code = (query.get("ref") or [""])[0].strip().upper()
        referrer = codes.get(code)
        if referrer is not None and identity.get(s.user_pseudo_id) != referrer:
            rows.append((s.session_key, s.user_pseudo_id, s.started_at, "referral_link", "customer_referral",
                         f"customer:{referrer}", referrer))
        elif s.channel in affiliates:
            rows.append((s.session_key, s.user_pseudo_id, s.started_at, "affiliate_utm", "affiliate_partner",
                         str(s.src).lower(), None))
    return pd.DataFrame(rows, columns=["session_key", "user_pseudo_id", "started_at", "evidence", "partner_type",
                                       "partner_id", "referrer_customer_id"])


def _credited_sessions(read: ReadTable, lookback_days: int = 30) -> dict[str, str]:
    """order_key -> the session last non-direct click credits (dbt_pandas_reference.attributed_orders' rule)."""
    orders = reference.valid_orders(read)
    sess = reference.sessions(read)
    identity = reference.browser_customers(read)
    converting = {"shop:" + r.order_id: f"{r.user_pseudo_id}-{int(r.session_id)}"
                  for r in reference.purchase_events(read).itertuples() if not pd.isna(r.session_id)}
    sess["customer_id"] = sess["user_pseudo_id"].map(identity)
    by_key = sess.set_index("session_key")
    out = {}
    for order in orders[orders["source"].isin(["shop", "file"])].itertuples():
        at = pd.Timestamp(order.ordered_at)
        candidates = sess[(sess["customer_id"] == order.customer_id) & (sess["started_at"] <= at)
                          & (sess["started_at"] >= at - timedelta(days=lookback_days))].set_index("session_key")
        if order.order_key in converting and converting[order.order_key] in by_key.index:
            candidates = pd.concat([candidates, by_key.loc[[converting[order.order_key]]]])
        candidates = candidates[~candidates.index.duplicated()]
        if candidates.empty:
            continue
        non_direct = candidates[candidates["channel"] != "direct"]
        pool = non_direct if not non_direct.empty else candidates
        out[order.order_key] = pool.sort_values("started_at").index[-1]
    return out


def _commission(rules: pd.DataFrame, partner_type: str, partner_id: str, revenue: float, first: bool) -> float:
    own = rules[(rules["partner_type"] == partner_type) & (rules["partner_id"] == partner_id)]
    typed = rules[(rules["partner_type"] == partner_type) & rules["partner_id"].isna()]
    rule = own.iloc[0] if not own.empty else typed.iloc[0] if not typed.empty else None
    if rule is None or (bool(rule["first_order_only"]) and not first):
        return 0.0
    if revenue is None or math.isnan(revenue):
        return math.nan
    amount = revenue * float(rule["rate_pct"]) / 100 + float(rule["fixed_per_order"])
    cap = rule["cap_per_order"]
    return round(min(amount, float(cap)) if not pd.isna(cap) else amount, 2)


def order_referrals(read: ReadTable, lookback_days: int = 30) -> pd.DataFrame:
    """int_order_referrals: one row per credited own-shop order with its evidence, partner and commission."""
    orders = reference.attributed_orders(read)
    orders = orders[orders["source"].isin(["shop", "file"])]
    codes = _codes(read)
    shop = read("raw.shop_orders")
    typed_codes = {"shop:" + str(i): c for i, c in zip(shop["id"], shop["discount_codes"], strict=True)
                   if isinstance(c, str)}
    referral = referral_sessions(read)
    links = referral[referral["evidence"] == "referral_link"]
    by_key = referral.set_index("session_key")
    identity = reference.browser_customers(read)
    credited = _credited_sessions(read, lookback_days)
    rules = pd.read_csv(reference.SEEDS / "affiliate_commission_rules.csv")
    rows = []
    for order in orders.itertuples():
        buyer = None if pd.isna(order.customer_id) else str(order.customer_id)
        at = pd.Timestamp(order.ordered_at)
        found = []  # (precedence, -started_at, code, partner_type, partner_id, referrer)
        for typed in typed_codes.get(order.order_key, "").split(","):
            if (referrer := codes.get(typed.strip().upper())) is not None:
                found.append((1, 0.0, typed.strip().upper(), "customer_referral", f"customer:{referrer}", referrer))
        own_sessions = [u for u, c in identity.items() if buyer is not None and c == buyer]
        window = links[links["user_pseudo_id"].isin(own_sessions) & (links["started_at"] <= at)
                       & (links["started_at"] >= at - timedelta(days=lookback_days))]
        if credited.get(order.order_key) in set(links["session_key"]):
            window = pd.concat([window, links[links["session_key"] == credited[order.order_key]]])
        for s in window.itertuples():
            found.append((2, -s.started_at.timestamp(), "", s.partner_type, s.partner_id, s.referrer_customer_id))
        session = credited.get(order.order_key)
        if session in by_key.index and by_key.loc[session, "evidence"] == "affiliate_utm":
            found.append((3, 0.0, "", "affiliate_partner", by_key.loc[session, "partner_id"], None))
        found = [f for f in found if f[5] is None or buyer is None or f[5] != buyer]
        if not found:
            continue
        _, _, _, partner_type, partner_id, referrer = min(found, key=lambda f: f[:3])
        first = bool(order.is_first_order)
        revenue = float(order.net_revenue_reporting) if not pd.isna(order.net_revenue_reporting) else math.nan
        rows.append((order.order_key, order.order_date, buyer, first, partner_type, partner_id, referrer, revenue,
                     _commission(rules, partner_type, partner_id, revenue, first)))
    return pd.DataFrame(rows, columns=["order_key", "order_date", "customer_id", "is_first_order", "partner_type",
                                       "partner_id", "referrer_customer_id", "revenue", "commission"])


def performance(read: ReadTable) -> pd.DataFrame:
    """affiliate_performance per (date_day, partner_type, partner_id): sessions, orders, new_customers, revenue,
    commission (revenue and commission without an FX rate left out)."""
    sessions = referral_sessions(read)
    sessions["date_day"] = pd.to_datetime(sessions["started_at"]).dt.date
    visits = sessions.groupby(["date_day", "partner_type", "partner_id"]).size().rename("sessions").to_frame()
    orders = order_referrals(read).rename(columns={"order_date": "date_day"})
    credited = orders.groupby(["date_day", "partner_type", "partner_id"]).agg(
        orders=("order_key", "count"), new_customers=("is_first_order", "sum"),
        revenue=("revenue", lambda v: v.dropna().sum()), commission=("commission", lambda v: v.dropna().sum()))
    return pd.concat([visits, credited], axis=1).fillna(0).reset_index()


def daily_spend_with_commission(read: ReadTable) -> pd.DataFrame:
    """kpi_channel_daily's spend per (date_day, channel): the ad platforms' (dbt_pandas_reference.daily_spend) plus
    the commission owed on each day's referred orders, as the affiliate channel's (seed channels is_affiliate)."""
    affiliate = sorted(pd.read_csv(reference.SEEDS / "channels.csv").query("is_affiliate")["channel"])[0]
    commission = order_referrals(read).groupby("order_date", as_index=False)["commission"].sum()
    commission = commission[commission["commission"] != 0]
    extra = pd.DataFrame({"date_day": commission["order_date"], "channel": affiliate,
                          "spend": commission["commission"]})
    out = pd.concat([reference.daily_spend(read), extra])
    return out.groupby(["date_day", "channel"], as_index=False)["spend"].sum()
