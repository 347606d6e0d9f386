"""Independent pandas recomputation of customer_segments, one function per segment rule.

Each rule is written from its documented definition (the header of customer_segments and the vars of
dbt_project.yml), on top of the raw-table recomputations of dbt_pandas_reference, so a test can name the rule
that disagrees with the mart. Every function returns rows (customer_id, segment, segment_type, qualified_at).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import dbt_pandas_reference as reference
import pandas as pd
import yaml

ReadTable = Callable[[str], pd.DataFrame]
COLUMNS = ["customer_id", "segment", "segment_type", "qualified_at"]
DBT_VARS = yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml").read_text())["vars"]
CART_EVENTS = ("add_to_cart", "begin_checkout")


def _rows(frame: pd.DataFrame, segment: str | pd.Series, segment_type: str, qualified_at: object) -> pd.DataFrame:
    out = pd.DataFrame({"customer_id": frame["customer_id"].astype(str).to_numpy()})
    out["segment"] = segment.to_numpy() if isinstance(segment, pd.Series) else segment
    out["segment_type"] = segment_type
    out["qualified_at"] = qualified_at.to_numpy() if isinstance(qualified_at, pd.Series) else qualified_at
    out["qualified_at"] = pd.to_datetime(out["qualified_at"])
    return out[COLUMNS]


def _in_last_days(days_ago_limit: int, as_of: date, moments: pd.Series) -> pd.Series:
    """'In the last N days' of as_of_date: the N calendar days ending on as_of_date, as_of_date included."""
    day = pd.to_datetime(moments).dt.date
    return (day > as_of - timedelta(days=days_ago_limit)) & (day <= as_of)


def customer_events(read: ReadTable, as_of: date) -> pd.DataFrame:
    """GA4 events of browsers stitched to a customer, up to as_of_date: customer_id, event_name, event_at."""
    events = read("raw.ga4_events")
    events["customer_id"] = events["user_pseudo_id"].map(reference.browser_customers(read))
    events["event_at"] = pd.to_datetime(events["event_timestamp"], unit="us")
    events = events.dropna(subset=["customer_id"])
    return events[events["event_at"].dt.date <= as_of][["customer_id", "event_name", "event_at"]]


def orders_until(read: ReadTable, as_of: date) -> pd.DataFrame:
    """Valid orders with a customer, placed on or before as_of_date."""
    orders = reference.valid_orders(read)
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    return orders[orders["customer_id"].notna() & (orders["order_date"] <= as_of)]


def _last_order_at(read: ReadTable, as_of: date) -> pd.Series:
    return orders_until(read, as_of).groupby("customer_id")["ordered_at"].max()


def _no_order_since(read: ReadTable, as_of: date, moments: pd.Series) -> pd.Series:
    """True where the customer (index) placed no valid order at or after the moment."""
    last = moments.index.to_series().map(_last_order_at(read, as_of))
    return last.isna() | (last < moments)


def abandoned_cart(read: ReadTable, as_of: date) -> pd.DataFrame:
    """Cart activity (add_to_cart, begin_checkout) in the last abandoned_cart_days days with no valid order at
    or after the latest of it; qualified at that latest cart event."""
    events = customer_events(read, as_of)
    carts = events[events["event_name"].isin(CART_EVENTS)
                   & _in_last_days(int(DBT_VARS["abandoned_cart_days"]), as_of, events["event_at"])]
    last_cart = carts.groupby("customer_id")["event_at"].max()
    abandoned = last_cart[_no_order_since(read, as_of, last_cart)].rename("qualified_at").reset_index()
    return _rows(abandoned, "abandoned_cart", "behaviour", abandoned["qualified_at"])


def browse_abandoner(read: ReadTable, as_of: date) -> pd.DataFrame:
    """A customer with at least one product in int_browse_abandoned_products (the per-product rule lives there and
    is tested with that model); qualified at the latest view of those products."""
    products = read("int_browse_abandoned_products")
    per = products.groupby("customer_id")["last_viewed_at"].max().rename("qualified_at").reset_index()
    return _rows(per, "browse_abandoner", "behaviour", per["qualified_at"])


def high_intent(read: ReadTable, as_of: date) -> pd.DataFrame:
    """At least high_intent_min_product_views product views in the last high_intent_days days; qualified at
    the latest of them."""
    events = customer_events(read, as_of)
    views = events[(events["event_name"] == "view_item")
                   & _in_last_days(int(DBT_VARS["high_intent_days"]), as_of, events["event_at"])]
    per = views.groupby("customer_id")["event_at"].agg(["count", "max"]).reset_index()
    per = per[per["count"] >= int(DBT_VARS["high_intent_min_product_views"])]
    return _rows(per, "high_intent", "behaviour", per["max"])


def _recommendations(read: ReadTable, kind: str) -> pd.DataFrame:
    recommendations = read("customer_recommendations")
    return recommendations[recommendations["kind"] == kind]


def cross_sell(read: ReadTable, as_of: date) -> pd.DataFrame:
    """One row per category the customer has a cross-sell recommendation in."""
    pairs = _recommendations(read, "cross_sell")[["customer_id", "category"]].drop_duplicates()
    return _rows(pairs, "cross_sell:" + pairs["category"], "product", pd.Timestamp(as_of))


def upsell(read: ReadTable, as_of: date) -> pd.DataFrame:
    """Customers with an upsell recommendation."""
    customers = _recommendations(read, "upsell")[["customer_id"]].drop_duplicates()
    return _rows(customers, "upsell", "product", pd.Timestamp(as_of))


def rfm_segment(read: ReadTable, as_of: date) -> pd.DataFrame:
    """Every scored customer, in the segment of their R and F scores."""
    rfm = reference.rfm(read, as_of)
    return _rows(rfm, "rfm:" + rfm["rfm_segment"], "rfm", pd.Timestamp(as_of))


def lapsed(read: ReadTable, as_of: date) -> pd.DataFrame:
    """Last valid order more than lapsed_days days before as_of_date."""
    rfm = reference.rfm(read, as_of)
    return _rows(rfm[rfm["recency_days"] > int(DBT_VARS["lapsed_days"])], "lapsed", "lifecycle", pd.Timestamp(as_of))


def vip(read: ReadTable, as_of: date) -> pd.DataFrame:
    """RFM segment vip_rfm_segment and net revenue in the top vip_top_monetary_share of scored customers
    (percent rank of monetary, ties sharing the lowest rank)."""
    rfm = reference.rfm(read, as_of)
    rank = reference._percent_rank(rfm["monetary"].round(2))
    chosen = rfm[(rfm["rfm_segment"] == DBT_VARS["vip_rfm_segment"])
                 & (rank >= 1 - float(DBT_VARS["vip_top_monetary_share"]))]
    return _rows(chosen, "vip", "lifecycle", pd.Timestamp(as_of))


def new_customer(read: ReadTable, as_of: date) -> pd.DataFrame:
    """First valid order in the last new_customer_days days; qualified at that order."""
    first = orders_until(read, as_of).groupby("customer_id")["ordered_at"].min().rename("first").reset_index()
    first = first[_in_last_days(int(DBT_VARS["new_customer_days"]), as_of, first["first"])]
    return _rows(first, "new_customer", "lifecycle", first["first"])


def geo(read: ReadTable, as_of: date) -> pd.DataFrame:
    """The country of every customer the shop knows one for, whether or not they ordered or consented."""
    customers = read("raw.shop_customers")
    country = customers["country_code"].astype("string").str.strip().str.upper()
    known = customers.assign(customer_id=reference._text_ids(customers["id"]), country=country)
    known = known[known["country"].notna() & (known["country"] != "")]
    return _rows(known, "geo:" + known["country"], "geo", pd.Timestamp(as_of))


def marketplace_only(read: ReadTable, as_of: date) -> pd.DataFrame:
    """Every valid order (up to as_of_date) came from a third-party marketplace (seed marketplaces)."""
    own_shop = set(pd.read_csv(reference.SEEDS / "marketplaces.csv").query("is_own_shop")["marketplace"])
    orders = orders_until(read, as_of)
    own = orders.assign(own=orders["source"].isin(own_shop)).groupby("customer_id")["own"].any()
    chosen = own[~own].reset_index()
    return _rows(chosen, "marketplace_only", "channel", pd.Timestamp(as_of))


def advocate(read: ReadTable, as_of: date) -> pd.DataFrame:
    """The customer's first valid order (earliest; ties: the lower order key) came through an affiliate channel
    (seed channels); qualified at that order."""
    affiliates = set(pd.read_csv(reference.SEEDS / "channels.csv").query("is_affiliate")["channel"])
    orders = reference.attributed_orders(read)
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    orders = orders[orders["customer_id"].notna() & (orders["order_date"] <= as_of)]
    first = orders.sort_values(["ordered_at", "order_key"]).drop_duplicates("customer_id")
    chosen = first[first["channel"].isin(affiliates)]
    return _rows(chosen, "advocate", "channel", chosen["ordered_at"])


def referrer(read: ReadTable, as_of: date) -> pd.DataFrame:
    """Someone else's valid order up to as_of_date is credited to the customer's referral code or link
    (dbt_affiliate_reference's recomputation of int_order_referrals); qualified at the first such order."""
    import dbt_affiliate_reference as affiliate

    referred = affiliate.order_referrals(read).dropna(subset=["referrer_customer_id"])
    referred = referred[referred["order_date"] <= as_of]
    orders = reference.valid_orders(read).set_index("order_key")["ordered_at"]
    referred["ordered_at"] = pd.to_datetime(referred["order_key"].map(orders))
    first = referred.groupby("referrer_customer_id", as_index=False)["ordered_at"].min()
    return _rows(first.rename(columns={"referrer_customer_id": "customer_id"}), "referrer", "advocacy",
                 first["ordered_at"])


def _email_consenting(read: ReadTable) -> set[str]:
    """Shop customers subscribed to e-mail (Shopify's consent state, else the legacy accepts_marketing) and not
    named by an opt_out/delete request (by key or e-mail). The fixture's other buyers state no consent."""
    shop = read("raw.shop_customers")
    state = shop["email_marketing_consent_state"]
    subscribed = state.eq("subscribed").where(state.notna(), shop["accepts_marketing"].fillna(False).astype(bool))
    requests = read("raw.file_privacy_requests")
    requests = requests[requests["request_type"].isin(["opt_out", "delete"])]
    blocked_ids = set(requests["customer_id"].dropna().astype(str))
    blocked_emails = set(requests["email"].dropna().str.strip().str.lower())
    emails = shop["email"].fillna("").str.strip().str.lower()
    keep = subscribed.astype(bool) & ~shop["id"].astype(str).isin(blocked_ids) & ~emails.isin(blocked_emails)
    return set(shop.loc[keep, "id"].astype(str))


def advocate_candidate(read: ReadTable, as_of: date) -> pd.DataFrame:
    """An RFM segment of var advocate_rfm_segments, consent to e-mail, no privacy request, not a referrer yet."""
    rfm = reference.rfm(read, as_of)
    rfm["customer_id"] = rfm["customer_id"].astype(str)
    already = set(referrer(read, as_of)["customer_id"])
    chosen = rfm[rfm["rfm_segment"].isin(DBT_VARS["advocate_rfm_segments"])
                 & rfm["customer_id"].isin(_email_consenting(read)) & ~rfm["customer_id"].isin(already)]
    return _rows(chosen, "advocate_candidate", "advocacy", pd.Timestamp(as_of))


def due_to_reorder(read: ReadTable, as_of: date) -> pd.DataFrame:
    """At least due_to_reorder_min_orders valid orders, a median interval (calendar days between consecutive
    orders) above 0, and more days since the last order than due_to_reorder_factor times that median."""
    orders = orders_until(read, as_of).sort_values(["customer_id", "ordered_at", "order_key"])
    orders["day"] = pd.to_datetime(orders["order_date"])
    orders["interval"] = orders.groupby("customer_id")["day"].diff().dt.days
    per = orders.groupby("customer_id").agg(n=("day", "size"), last=("day", "max"), median=("interval", "median"))
    since = (pd.Timestamp(as_of) - per["last"]).dt.days
    chosen = per[(per["n"] >= int(DBT_VARS["due_to_reorder_min_orders"])) & (per["median"] > 0)
                 & (since > float(DBT_VARS["due_to_reorder_factor"]) * per["median"])].reset_index()
    return _rows(chosen, "due_to_reorder", "lifecycle", pd.Timestamp(as_of))


def frequent_browser(read: ReadTable, as_of: date) -> pd.DataFrame:
    """At least frequent_browser_min_sessions_30d sessions (int_sessions, stitched to the customer) started in the
    last 30 days; qualified at the latest of them."""
    sessions = read("int_sessions")
    sessions["customer_id"] = sessions["user_pseudo_id"].map(reference.browser_customers(read))
    sessions["started_at"] = pd.to_datetime(sessions["started_at"])
    recent = sessions.dropna(subset=["customer_id"])
    recent = recent[_in_last_days(30, as_of, recent["started_at"])]
    per = recent.groupby("customer_id")["started_at"].agg(["count", "max"]).reset_index()
    per = per[per["count"] >= int(DBT_VARS["frequent_browser_min_sessions_30d"])]
    return _rows(per, "frequent_browser", "behaviour", per["max"])


def category_affinity(read: ReadTable, as_of: date) -> pd.DataFrame:
    """The category with the most browsing weight (int_customer_product_signals × the seed product_signal_weights;
    unweighted signals such as purchase do not count; ties: the alphabetically first category), when it holds at
    least category_affinity_min_share of the customer's weight and at least category_affinity_min_weight."""
    weights = pd.read_csv(reference.SEEDS / "product_signal_weights.csv").set_index("signal")["weight"]
    signals = read("int_customer_product_signals")
    signals["weight"] = signals["signal"].map(weights) * signals["signal_count"].astype(float)
    signals["category"] = signals["sku"].map(read("int_products").set_index("sku")["category"])
    signals = signals.dropna(subset=["weight", "category"])
    per = signals.groupby(["customer_id", "category"])["weight"].sum().reset_index()
    per["share"] = per["weight"] / per.groupby("customer_id")["weight"].transform("sum")
    top = per.sort_values(["customer_id", "weight", "category"], ascending=[True, False, True])
    top = top.drop_duplicates("customer_id")
    top = top[(top["share"] >= float(DBT_VARS["category_affinity_min_share"]))
              & (top["weight"] >= float(DBT_VARS["category_affinity_min_weight"]))]
    return _rows(top, "category_affinity:" + top["category"], "product", pd.Timestamp(as_of))


# Segment id (or its prefix before ':') -> the rule that computes it.
RULES: dict[str, Callable[[ReadTable, date], pd.DataFrame]] = {
    "rfm": rfm_segment,
    "abandoned_cart": abandoned_cart,
    "browse_abandoner": browse_abandoner,
    "high_intent": high_intent,
    "cross_sell": cross_sell,
    "upsell": upsell,
    "lapsed": lapsed,
    "vip": vip,
    "new_customer": new_customer,
    "geo": geo,
    "marketplace_only": marketplace_only,
    "advocate": advocate,
    "referrer": referrer,
    "advocate_candidate": advocate_candidate,
    "due_to_reorder": due_to_reorder,
    "frequent_browser": frequent_browser,
    "category_affinity": category_affinity,
}


def rule_of(segment: str) -> str:
    """The rule a segment id belongs to: 'rfm:Champions' -> 'rfm', 'lapsed' -> 'lapsed'."""
    return segment.split(":", 1)[0]
