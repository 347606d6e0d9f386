"""Independent pandas recomputation of the marts' core numbers from the raw tables, for row-by-row checks.

Written from docs/data-contracts.md and DESIGN.md, not from the SQL, so a shared misreading is unlikely.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
ReadTable = Callable[[str], pd.DataFrame]


def _email(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().str.lower().replace("", pd.NA)


MAX_RATE_AGE_DAYS = 7  # dbt var fx_max_rate_age_days


def rates_per_eur(read: ReadTable) -> pd.DataFrame:
    """Published rates (rate_date, currency, rate_per_eur): the ECB's, a merchant file's replacing the same day's."""
    ecb = read("raw.fx_rates")[["rate_date", "currency", "rate_per_eur"]]
    files = read("raw.file_fx_rates").rename(columns={"date": "rate_date"})[["rate_date", "currency", "rate_per_eur"]]
    both = pd.concat([files.assign(priority=0), ecb.assign(priority=1)])
    both["rate_date"] = pd.to_datetime(both["rate_date"]).dt.date
    both["currency"] = both["currency"].str.upper()
    both = both.sort_values("priority").drop_duplicates(["rate_date", "currency"])
    return both.assign(rate_per_eur=both["rate_per_eur"].astype(float)).drop(columns="priority")


def to_reporting(read: ReadTable, amounts: pd.Series, currencies: pd.Series, days: pd.Series,
                 reporting: str = "EUR") -> pd.Series:
    """Amounts converted into ``reporting`` at their day's rate via EUR, rounded to cents as the marts store them.

    A day without a rate uses the latest earlier one, at most MAX_RATE_AGE_DAYS old; EUR is 1; an amount already in
    ``reporting`` needs no rate; without a rate the result is NaN (held out of sums).
    """
    rates = rates_per_eur(read)
    by_currency = {c: frame.set_index("rate_date")["rate_per_eur"].sort_index() for c, frame in rates.groupby("currency")}

    def rate(currency: str, day: date) -> float:
        if currency == "EUR":
            return 1.0
        series = by_currency.get(currency)
        if series is None:
            return np.nan
        earlier = series[series.index <= day]
        if earlier.empty or (day - earlier.index[-1]).days > MAX_RATE_AGE_DAYS:
            return np.nan
        return float(earlier.iloc[-1])

    out = []
    for amount, currency, day in zip(amounts.astype(float), currencies.str.upper(), pd.to_datetime(days).dt.date,
                                     strict=True):
        factor = 1.0 if currency == reporting else rate(reporting, day) / rate(currency, day)
        out.append(round(amount * factor, 2))
    return pd.Series(out, index=amounts.index, dtype=float)


def valid_orders(read: ReadTable, reporting: str = "EUR") -> pd.DataFrame:
    """One row per valid order of every channel: order_key, customer_id, ordered_at, currency, net_revenue (in the
    order's currency), net_revenue_reporting, source."""
    customers = read("raw.shop_customers")
    by_email = (customers.assign(e=_email(customers["email"])).dropna(subset=["e"])
                .groupby("e")["id"].min())

    shop = read("raw.shop_orders")
    refunds = read("raw.shop_refunds").groupby("order_id")["subtotal"].sum()
    shop["refunds"] = shop["id"].map(refunds).fillna(0).astype(float)
    shop["net"] = shop["subtotal_price"].astype(float) - shop["refunds"]
    shop_valid = (shop["cancelled_at"].isna() & ~shop["test"].fillna(False)
                  & ~shop["financial_status"].isin(["voided", "refunded"])
                  & ~((shop["subtotal_price"].astype(float) > 0) & (shop["refunds"] >= shop["subtotal_price"].astype(float))))
    shop_out = pd.DataFrame({
        "order_key": "shop:" + shop["id"].astype(str), "customer_id": shop["customer_id"].astype("Int64"),
        "ordered_at": shop["created_at"], "currency": shop["currency"], "net_revenue": shop["net"], "source": "shop",
    })[shop_valid.to_numpy()]

    files = read("raw.file_orders").groupby("order_id").agg(
        customer_ref=("customer_id", "max"), email=("email", "max"), ordered_at=("ordered_at", "min"),
        currency=("currency", "max"), total=("total_price", "max"), refunded=("refunded_amount", "max"),
        status=("financial_status", "max"), cancelled=("cancelled_at", "max")).reset_index()
    files["total"] = files["total"].astype(float)
    files["refunded"] = files["refunded"].astype(float).fillna(0)
    numeric = pd.to_numeric(files["customer_ref"].str.strip(), errors="coerce")
    files["customer_id"] = numeric.fillna(_email(files["email"]).map(by_email)).astype("Int64")
    file_valid = (files["cancelled"].isna() & ~files["status"].isin(["refunded", "voided"])
                  & ~((files["total"] > 0) & (files["refunded"] >= files["total"])))
    file_out = pd.DataFrame({
        "order_key": "file:" + files["order_id"], "customer_id": files["customer_id"],
        "ordered_at": files["ordered_at"], "currency": files["currency"], "net_revenue": files["total"] - files["refunded"],
        "source": "file",
    })[file_valid.to_numpy()]

    ebay = read("raw.ebay_orders")
    ebay_lines = read("raw.ebay_order_lines").groupby("order_id")["line_item_cost"].sum().astype(float)
    ebay_valid = (ebay["cancel_state"] != "CANCELED") & (ebay["order_payment_status"] != "FULLY_REFUNDED")
    ebay_out = pd.DataFrame({
        "order_key": "ebay:" + ebay["order_id"], "customer_id": _email(ebay["buyer_email"]).map(by_email).astype("Int64"),
        "ordered_at": ebay["creation_date"], "currency": ebay["currency"], "net_revenue": ebay["order_id"].map(ebay_lines),
        "source": "ebay",
    })[ebay_valid.to_numpy()]

    amazon = read("raw.amazon_orders")
    items = read("raw.amazon_order_items").groupby("amazon_order_id")["item_price"].sum().astype(float)
    amazon_out = pd.DataFrame({
        "order_key": "amazon:" + amazon["amazon_order_id"],
        "customer_id": _email(amazon["buyer_email"]).map(by_email).astype("Int64"),
        "ordered_at": amazon["purchase_date"], "currency": amazon["currency"],
        "net_revenue": amazon["amazon_order_id"].map(items), "source": "amazon",
    })[(amazon["order_status"] != "Canceled").to_numpy()]

    out = pd.concat([shop_out, file_out, ebay_out, amazon_out], ignore_index=True)
    out["order_date"] = pd.to_datetime(out["ordered_at"]).dt.date
    out["net_revenue_reporting"] = to_reporting(read, out["net_revenue"], out["currency"], out["order_date"], reporting)
    return out


def _score(percent_rank: pd.Series) -> pd.Series:
    return pd.Series(np.select([percent_rank >= 0.8, percent_rank >= 0.6, percent_rank >= 0.4, percent_rank >= 0.2],
                               [5, 4, 3, 2], 1), index=percent_rank.index)


def _percent_rank(values: pd.Series) -> pd.Series:
    n = len(values)
    return (values.rank(method="min") - 1) / (n - 1) if n > 1 else pd.Series(0.0, index=values.index)


def rfm(read: ReadTable, as_of: date) -> pd.DataFrame:
    """customer_rfm recomputed with pandas: rank(method='min') is 'ties share the lowest rank'."""
    orders = valid_orders(read)
    orders = orders[orders["customer_id"].notna() & (orders["order_date"] <= as_of)]
    per = orders.groupby("customer_id").agg(last=("order_date", "max"), frequency=("order_key", "count"),
                                            monetary=("net_revenue_reporting", "sum")).reset_index()
    per["recency_days"] = per["last"].map(lambda d: (as_of - d).days)
    per["r_score"] = _score(_percent_rank(-per["recency_days"]))
    per["f_score"] = _score(_percent_rank(per["frequency"]))
    per["m_score"] = _score(_percent_rank(per["monetary"].round(2)))
    per["rfm_score"] = per["r_score"].astype(str) + per["f_score"].astype(str) + per["m_score"].astype(str)
    grid = pd.read_csv(SEEDS / "rfm_segment_map.csv").sort_values("priority")

    def segment(row: pd.Series) -> str:
        for rule in grid.itertuples():
            if rule.r_min <= row.r_score <= rule.r_max and rule.f_min <= row.f_score <= rule.f_max:
                return str(rule.segment)
        return "Unclassified"

    per["rfm_segment"] = per.apply(segment, axis=1)
    return per.drop(columns=["last"])


def daily_spend(read: ReadTable) -> pd.DataFrame:
    """Ad spend per (date_day, channel) in the reporting currency (EUR): Meta (in its account_currency) ->
    paid_social, Google Ads (cost_micros / 1e6, in the seed ad_platforms' default_currency) -> paid_search."""
    meta = read("raw.meta_ad_insights")
    google = read("raw.google_ads_campaign_stats")
    platforms = pd.read_csv(SEEDS / "ad_platforms.csv").set_index("platform")["default_currency"]
    google_currency = pd.Series(platforms["google_ads"], index=google.index)
    frames = [
        pd.DataFrame({"date_day": meta["date_start"], "channel": "paid_social",
                      "spend": to_reporting(read, meta["spend"], meta["account_currency"], meta["date_start"])}),
        pd.DataFrame({"date_day": google["segments_date"], "channel": "paid_search",
                      "spend": to_reporting(read, (google["cost_micros"] / 1_000_000).round(2), google_currency,
                                            google["segments_date"])}),
    ]
    out = pd.concat(frames).groupby(["date_day", "channel"], as_index=False)["spend"].sum()
    out["date_day"] = pd.to_datetime(out["date_day"]).dt.date
    return out


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("%")) + "$", re.S)


def sessions(read: ReadTable, timeout_minutes: int = 30) -> pd.DataFrame:
    """GA4 sessions with their channel: ga_session_id, else a 30-minute inactivity split."""
    events = read("raw.ga4_events")
    params = read("raw.ga4_event_params")
    sid = params[params["key"] == "ga_session_id"].set_index("event_key")["int_value"]
    events["session_id"] = events["event_key"].map(sid)
    events["at"] = pd.to_datetime(events["event_timestamp"], unit="us")
    events = events.sort_values(["user_pseudo_id", "at", "event_key"])
    missing = events["session_id"].isna()
    fallback = events[missing].copy()
    gap = fallback.groupby("user_pseudo_id")["at"].diff()
    fallback["seq"] = (gap.isna() | (gap > pd.Timedelta(minutes=timeout_minutes))).astype(int)
    fallback["seq"] = fallback.groupby("user_pseudo_id")["seq"].cumsum()
    starts = fallback.groupby(["user_pseudo_id", "seq"])["at"].transform("min")
    events.loc[missing, "session_id"] = (starts - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    events["session_key"] = events["user_pseudo_id"] + "-" + events["session_id"].astype("int64").astype(str)
    events["src"] = events["collected_source"].str.lower()
    events["med"] = events["collected_medium"].str.lower()
    gclid = events["src"].isna() & events["collected_gclid"].notna()
    events.loc[gclid, "src"], events.loc[gclid, "med"] = "google", "cpc"
    first_traffic = events[events["src"].notna()].groupby("session_key")[["src", "med", "collected_campaign_name"]].first()
    out = events.groupby("session_key").agg(user_pseudo_id=("user_pseudo_id", "first"), started_at=("at", "min"))
    out = out.join(first_traffic)
    rules = pd.read_csv(SEEDS / "channel_mapping.csv", keep_default_na=False).sort_values("priority")
    compiled = [(_like(r.source_pattern), _like(r.medium_pattern), r.channel) for r in rules.itertuples()]

    def channel(row: pd.Series) -> str:
        src = row.src if isinstance(row.src, str) else "(direct)"
        med = row.med if isinstance(row.med, str) else "(none)"
        return next((ch for s, m, ch in compiled if s.match(src) and m.match(med)), "direct")

    out["channel"] = out.apply(channel, axis=1)
    return out.reset_index()


def revenue_by_channel(read: ReadTable, lookback_days: int = 30) -> pd.DataFrame:
    """Valid orders' net revenue per (date_day, channel) under last non-direct click attribution."""
    orders = valid_orders(read)
    sess = sessions(read)
    events = read("raw.ga4_events")
    customers = set(read("raw.shop_customers")["id"])
    shop = read("raw.shop_orders")
    # Identity: logged-in user_id first, then purchase transaction ids.
    ids = events.dropna(subset=["user_id"])
    ids = ids[pd.to_numeric(ids["user_id"], errors="coerce").isin(customers)]
    identity = dict(zip(ids["user_pseudo_id"], pd.to_numeric(ids["user_id"]).astype(int), strict=True))
    purchases = events[(events["event_name"] == "purchase") & events["ecommerce_transaction_id"].notna()].copy()
    purchases["order_id"] = purchases["ecommerce_transaction_id"].str.replace("#", "", regex=False)
    params = read("raw.ga4_event_params")
    sid = params[params["key"] == "ga_session_id"].set_index("event_key")["int_value"]
    purchases["session_id"] = purchases["event_key"].map(sid)
    order_customer = dict(zip(shop["id"].astype(str), shop["customer_id"], strict=True))
    for row in purchases.itertuples():
        customer = order_customer.get(row.order_id)
        if row.user_pseudo_id not in identity and customer is not None and not pd.isna(customer):
            identity[row.user_pseudo_id] = int(customer)
    converting = {"shop:" + r.order_id: f"{r.user_pseudo_id}-{int(r.session_id)}"
                  for r in purchases.itertuples() if not pd.isna(r.session_id)}
    sess["customer_id"] = sess["user_pseudo_id"].map(identity)
    by_key = sess.set_index("session_key")
    channels = []
    for order in orders.itertuples():
        if order.source in ("ebay", "amazon"):
            channels.append("marketplace")
            continue
        ordered_at = pd.Timestamp(order.ordered_at)
        window = sess[(sess["customer_id"] == order.customer_id) & (sess["started_at"] <= ordered_at)
                      & (sess["started_at"] >= ordered_at - timedelta(days=lookback_days))]
        candidates = window.set_index("session_key")
        if order.order_key in converting and converting[order.order_key] in by_key.index:
            candidates = pd.concat([candidates, by_key.loc[[converting[order.order_key]]]])
        candidates = candidates[~candidates.index.duplicated()]
        if candidates.empty:
            channels.append("direct")
            continue
        non_direct = candidates[candidates["channel"] != "direct"]
        pool = non_direct if not non_direct.empty else candidates
        channels.append(pool.sort_values("started_at").iloc[-1]["channel"])
    orders["channel"] = channels
    out = orders.groupby(["order_date", "channel"], as_index=False)["net_revenue_reporting"].sum()
    return out.rename(columns={"order_date": "date_day", "net_revenue_reporting": "revenue"})
