"""Independent pandas recomputation of the marts' core numbers from the raw tables, for row-by-row checks.

Written from docs/data-contracts.md and DESIGN.md, not from the SQL, so a shared misreading is unlikely.
"""

from __future__ import annotations

import hashlib
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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _text_ids(series: pd.Series) -> pd.Series:
    """Shopify's numeric ids as the text keys customers are known by ('207119551', never '207119551.0')."""
    return series.astype("Int64").astype("string")


def _relay_patterns() -> list[re.Pattern[str]]:
    return [_like(p) for p in pd.read_csv(SEEDS / "relay_email_domains.csv")["domain_pattern"]]


def _usable(email: object, relay: list[re.Pattern[str]]) -> str | None:
    """A normalised e-mail that names a person: it has an '@' and no marketplace issued it as a relay/alias."""
    if not isinstance(email, str) or not re.fullmatch(r".+@.+", email):
        return None
    domain = email.split("@", 1)[1]
    return None if any(p.match(domain) for p in relay) else email


def buyer_records(read: ReadTable) -> pd.DataFrame:
    """One row per order naming its buyer, and per shop customer: source, kind, key, e-mail, seen_at, order_key.

    The key is the source's own: Shopify's id, the order file's customer_id exactly (else the SHA-256 of its
    e-mail), the SHA-256 of eBay's username or of Amazon's BuyerEmail (docs/identity.md).
    """
    customers = read("raw.shop_customers")
    shop = read("raw.shop_orders")
    files = read("raw.file_orders").groupby("order_id").agg(
        customer_ref=("customer_id", "max"), email=("email", "max"), ordered_at=("ordered_at", "min")).reset_index()
    ebay = read("raw.ebay_orders")
    amazon = read("raw.amazon_orders")
    file_ref = files["customer_ref"].astype("string").str.strip().replace("", pd.NA)
    file_email = _email(files["email"])
    frames = [
        pd.DataFrame({"source": "shop", "kind": "shop_customer_id", "key": _text_ids(customers["id"]),
                      "email": _email(customers["email"]), "seen_at": customers["created_at"], "profile": True,
                      "order_key": None}),
        pd.DataFrame({"source": "shop", "kind": "shop_customer_id", "key": _text_ids(shop["customer_id"]),
                      "email": _email(shop["email"]), "seen_at": shop["created_at"], "profile": False,
                      "order_key": "shop:" + shop["id"].astype(str)}),
        pd.DataFrame({"source": "file",
                      "kind": np.where(file_ref.notna(), "merchant_customer_id", "buyer_email_sha256"),
                      "key": file_ref.fillna(file_email.map(lambda e: _sha256(e) if isinstance(e, str) else pd.NA)),
                      "email": file_email, "seen_at": files["ordered_at"], "profile": False,
                      "order_key": "file:" + files["order_id"]}),
        pd.DataFrame({"source": "ebay", "kind": "buyer_username_sha256",
                      "key": ebay["buyer_username"].map(lambda u: _sha256(u.strip()) if isinstance(u, str) else pd.NA),
                      "email": _email(ebay["buyer_email"]), "seen_at": ebay["creation_date"], "profile": False,
                      "order_key": "ebay:" + ebay["order_id"]}),
        pd.DataFrame({"source": "amazon", "kind": "buyer_email_sha256",
                      "key": _email(amazon["buyer_email"]).map(lambda e: _sha256(e) if isinstance(e, str) else pd.NA),
                      "email": _email(amazon["buyer_email"]), "seen_at": amazon["purchase_date"], "profile": False,
                      "order_key": "amazon:" + amazon["amazon_order_id"]}),
    ]
    out = pd.concat(frames, ignore_index=True)
    return out[out["key"].notna()].reset_index(drop=True)


def identity_links(read: ReadTable) -> pd.DataFrame:
    """customer_identity_links' buyer records recomputed: (source, kind, key) -> customer_id, linked_by.

    Rules (docs/identity.md): Shopify customers are themselves; an order-file key equal, text for text, to a
    Shopify id is that customer; else a record's usable e-mail joins it to the customer of the first record
    holding that e-mail (Shopify customers, then own-shop channels, then marketplaces; earliest seen; lowest
    key); else the record is its own customer, marketplace keys namespaced '<marketplace>:<key>'.
    """
    relay = _relay_patterns()
    own_shop = set(pd.read_csv(SEEDS / "marketplaces.csv").query("is_own_shop")["marketplace"])
    records = buyer_records(read)
    records["usable"] = records["email"].map(lambda e: _usable(e, relay))
    shop_ids = set(records.loc[records["kind"] == "shop_customer_id", "key"])
    rows = []
    for (source, kind, key), group in records.groupby(["source", "kind", "key"], sort=False):
        with_email = group.dropna(subset=["usable"]).sort_values(
            ["profile", "seen_at", "usable"], ascending=[False, False, True])
        email = with_email["usable"].iloc[0] if len(with_email) else None
        own = key if kind in ("shop_customer_id", "merchant_customer_id") else f"{source}:{key}"
        shop_match = key if kind == "shop_customer_id" else (
            key if kind == "merchant_customer_id" and source in own_shop and key in shop_ids else None)
        rank = 0 if kind == "shop_customer_id" else 1 if source in own_shop else 2
        rows.append({"source": source, "kind": kind, "key": key, "email": email, "own": own,
                     "shop_match": shop_match, "rank": rank, "first_seen": group["seen_at"].min()})
    links = pd.DataFrame(rows)
    links["pre"] = links["shop_match"].fillna(links["own"])
    owners = (links.dropna(subset=["email"]).sort_values(["rank", "first_seen", "pre"])
              .drop_duplicates("email").set_index("email")["pre"])
    links["owner"] = links["email"].map(owners)
    links["customer_id"] = links["shop_match"].fillna(links["owner"]).fillna(links["own"])
    links["linked_by"] = np.select(
        [links["kind"] == "shop_customer_id", links["shop_match"].notna(),
         links["owner"].notna() & (links["owner"] != links["own"])],
        ["own_key", "shop_id", "email_address"], "own_key")
    return links[["source", "kind", "key", "customer_id", "linked_by", "email"]]


def order_customers(read: ReadTable) -> dict[str, str]:
    """order_key -> customer_id for every order that names its buyer."""
    links = identity_links(read).set_index(["source", "kind", "key"])["customer_id"]
    orders = buyer_records(read).dropna(subset=["order_key"])
    keys = list(zip(orders["source"], orders["kind"], orders["key"], strict=True))
    return dict(zip(orders["order_key"], [links[k] for k in keys], strict=True))


def valid_orders(read: ReadTable, reporting: str = "EUR") -> pd.DataFrame:
    """One row per valid order of every channel: order_key, customer_id, ordered_at, currency, net_revenue (in the
    order's currency), net_revenue_reporting, source."""
    shop = read("raw.shop_orders")
    refunds = read("raw.shop_refunds").groupby("order_id")["subtotal"].sum()
    shop["refunds"] = shop["id"].map(refunds).fillna(0).astype(float)
    shop["net"] = shop["subtotal_price"].astype(float) - shop["refunds"]
    shop_valid = (shop["cancelled_at"].isna() & ~shop["test"].fillna(False)
                  & ~shop["financial_status"].isin(["voided", "refunded"])
                  & ~((shop["subtotal_price"].astype(float) > 0) & (shop["refunds"] >= shop["subtotal_price"].astype(float))))
    shop_out = pd.DataFrame({
        "order_key": "shop:" + shop["id"].astype(str),
        "ordered_at": shop["created_at"], "currency": shop["currency"], "net_revenue": shop["net"], "source": "shop",
    })[shop_valid.to_numpy()]

    files = read("raw.file_orders").groupby("order_id").agg(
        ordered_at=("ordered_at", "min"), currency=("currency", "max"), total=("total_price", "max"),
        refunded=("refunded_amount", "max"),
        status=("financial_status", "max"), cancelled=("cancelled_at", "max")).reset_index()
    files["total"] = files["total"].astype(float)
    files["refunded"] = files["refunded"].astype(float).fillna(0)
    file_valid = (files["cancelled"].isna() & ~files["status"].isin(["refunded", "voided"])
                  & ~((files["total"] > 0) & (files["refunded"] >= files["total"])))
    file_out = pd.DataFrame({
        "order_key": "file:" + files["order_id"],
        "ordered_at": files["ordered_at"], "currency": files["currency"],
        "net_revenue": files["total"] - files["refunded"], "source": "file",
    })[file_valid.to_numpy()]

    ebay = read("raw.ebay_orders")
    ebay_lines = read("raw.ebay_order_lines").groupby("order_id")["line_item_cost"].sum().astype(float)
    ebay_valid = (ebay["cancel_state"] != "CANCELED") & (ebay["order_payment_status"] != "FULLY_REFUNDED")
    ebay_out = pd.DataFrame({
        "order_key": "ebay:" + ebay["order_id"],
        "ordered_at": ebay["creation_date"], "currency": ebay["currency"],
        "net_revenue": ebay["order_id"].map(ebay_lines), "source": "ebay",
    })[ebay_valid.to_numpy()]

    amazon = read("raw.amazon_orders")
    items = read("raw.amazon_order_items").groupby("amazon_order_id")["item_price"].sum().astype(float)
    amazon_out = pd.DataFrame({
        "order_key": "amazon:" + amazon["amazon_order_id"],
        "ordered_at": amazon["purchase_date"], "currency": amazon["currency"],
        "net_revenue": amazon["amazon_order_id"].map(items), "source": "amazon",
    })[(amazon["order_status"] != "Canceled").to_numpy()]

    out = pd.concat([shop_out, file_out, ebay_out, amazon_out], ignore_index=True)
    out["customer_id"] = out["order_key"].map(order_customers(read)).astype("string")
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


def browser_customers(read: ReadTable) -> dict[str, str]:
    """user_pseudo_id -> customer_id: the logged-in user_id first (the customer key, text for text), else the
    customer of a shop order the browser's purchase event names."""
    events = read("raw.ga4_events")
    customers = set(identity_links(read)["customer_id"])
    shop = read("raw.shop_orders")
    ids = events.dropna(subset=["user_id"])
    ids = ids[ids["user_id"].str.strip().isin(customers)]
    identity = dict(zip(ids["user_pseudo_id"], ids["user_id"].str.strip(), strict=True))
    order_customer = dict(zip(shop["id"].astype(str), _text_ids(shop["customer_id"]), strict=True))
    for row in purchase_events(read).itertuples():
        customer = order_customer.get(row.order_id)
        if row.user_pseudo_id not in identity and customer is not None and not pd.isna(customer):
            identity[row.user_pseudo_id] = customer
    return identity


def purchase_events(read: ReadTable) -> pd.DataFrame:
    """GA4 purchase events naming a shop order: user_pseudo_id, order_id ('#1004' -> '1004'), session_id."""
    events = read("raw.ga4_events")
    purchases = events[(events["event_name"] == "purchase") & events["ecommerce_transaction_id"].notna()].copy()
    purchases["order_id"] = purchases["ecommerce_transaction_id"].str.replace("#", "", regex=False)
    params = read("raw.ga4_event_params")
    sid = params[params["key"] == "ga_session_id"].set_index("event_key")["int_value"]
    purchases["session_id"] = purchases["event_key"].map(sid)
    return purchases


def attributed_orders(read: ReadTable, lookback_days: int = 30) -> pd.DataFrame:
    """Every valid order (valid_orders' columns) with the channel last non-direct click credits it to, and
    is_first_order: the customer's earliest valid order (ties: the lower order_key)."""
    orders = valid_orders(read)
    sess = sessions(read)
    identity = browser_customers(read)
    converting = {"shop:" + r.order_id: f"{r.user_pseudo_id}-{int(r.session_id)}"
                  for r in purchase_events(read).itertuples() if not pd.isna(r.session_id)}
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
    first = (orders.dropna(subset=["customer_id"]).sort_values(["ordered_at", "order_key"])
             .drop_duplicates("customer_id")["order_key"])
    orders["is_first_order"] = orders["order_key"].isin(set(first))
    return orders


def revenue_by_channel(read: ReadTable, lookback_days: int = 30) -> pd.DataFrame:
    """Valid orders' net revenue per (date_day, channel) under last non-direct click attribution."""
    orders = attributed_orders(read, lookback_days)
    out = orders.groupby(["order_date", "channel"], as_index=False)["net_revenue_reporting"].sum()
    return out.rename(columns={"order_date": "date_day", "net_revenue_reporting": "revenue"})
