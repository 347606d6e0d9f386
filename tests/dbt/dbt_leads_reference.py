"""Independent pandas recomputation of leads vs remarketing: each campaign's type from the raw campaign settings
and the seed campaign_type_rules, leads from raw GA4 events, shop customers and Klaviyo sign-ups, and
kpi_campaign_type_daily's volumes and ratios per (date_day, platform, campaign_type).

Written from the models' yml descriptions. Orders come from int_order_attribution (the attribution model, checked
against pandas in test_dbt_kpis_match_pandas); everything this feature adds on top is recomputed here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import dbt_pandas_reference as reference
import numpy as np
import pandas as pd

ReadTable = Callable[[str], pd.DataFrame]
LEAD_EVENTS = ("sign_up", "generate_lead")
LOOKBACK_DAYS = 30  # dbt var attribution_lookback_days
VOLUMES = ["spend", "leads", "sign_ups", "generated_leads", "newsletter_signups", "orders", "new_customer_orders",
           "returning_customer_orders", "new_customer_revenue", "returning_customer_revenue", "revenue"]
RATIOS = ["cpl", "new_customer_roas", "returning_customer_roas", "cost_per_upsell"]


def seed(name: str) -> pd.DataFrame:
    return pd.read_csv(reference.SEEDS / f"{name}.csv", keep_default_na=False)


def _platform_of_spend_model() -> dict[str, str]:
    platforms = seed("ad_platforms")
    return dict(zip(platforms["spend_model"], platforms["platform"], strict=True))


def campaign_attributes(read: ReadTable) -> pd.DataFrame:
    """(platform, campaign_id, field, value) of every campaign, and its name (settings first, else the latest
    spend report's) as the campaign_name attribute."""
    platform = _platform_of_spend_model()
    meta, google = platform["stg_meta_ads__campaign_insights"], platform["stg_google_ads__campaign_stats"]
    rows: list[tuple[str, str, str, object]] = []
    names: dict[tuple[str, str], str] = {}
    spend = [(meta, read("raw.meta_ad_insights").rename(columns={"date_start": "day"})),
             (google, read("raw.google_ads_campaign_stats").rename(columns={"segments_date": "day"}))]
    for name, frame in spend:
        for row in frame.sort_values("day").itertuples():
            names[(name, str(row.campaign_id))] = row.campaign_name
    campaigns = read("raw.meta_campaigns")
    for row in campaigns.itertuples():
        names[(meta, str(row.campaign_id))] = row.campaign_name
        rows.append((meta, str(row.campaign_id), "objective", str(row.objective).upper()))
    ad_sets = read("raw.meta_ad_sets")
    for campaign_id, group in ad_sets.groupby("campaign_id"):
        targets = group["custom_audience_ids"].notna().any()
        rows.append((meta, str(campaign_id), "targets_custom_audience", "true" if targets else "false"))
        for audience_names in group["custom_audience_names"].dropna():
            rows.append((meta, str(campaign_id), "custom_audience_names", audience_names))
    criteria = read("raw.google_ads_campaign_criteria")
    for row in read("raw.google_ads_campaigns").itertuples():
        cid = str(row.campaign_id)
        names[(google, cid)] = row.campaign_name
        for field in ("advertising_channel_type", "advertising_channel_sub_type", "bidding_strategy_type"):
            rows.append((google, cid, field, getattr(row, field)))
        mine = criteria[criteria["campaign_id"].astype(str) == cid]
        targets = (~mine["negative"].fillna(False).astype(bool) & (mine["status"] != "REMOVED")).any()
        rows.append((google, cid, "targets_user_list", "true" if targets else "false"))
    for (name, cid), campaign_name in names.items():
        rows.append((name, cid, "campaign_name", campaign_name))
    return pd.DataFrame(rows, columns=["platform", "campaign_id", "field", "value"])


def campaign_types(read: ReadTable, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """platform, campaign_id, campaign_name, campaign_type: the first rule by priority whose field, platform
    ('*' = any) and LIKE pattern (case-insensitive) match one of the campaign's attributes; else the fallback."""
    rules = (seed("campaign_type_rules") if rules is None else rules).sort_values("priority")
    types = seed("campaign_types")
    fallback = types.loc[types["is_unclassified"].astype(str).str.lower() == "true", "campaign_type"].item()
    attributes = campaign_attributes(read)
    out = []
    for (platform, campaign_id), attrs in attributes.groupby(["platform", "campaign_id"]):
        chosen = fallback
        for rule in rules.itertuples():
            if rule.platform not in ("*", platform):
                continue
            pattern = reference._like(str(rule.value_pattern).lower())
            values = attrs.loc[attrs["field"] == rule.field, "value"].dropna()
            if any(pattern.match(str(v).lower()) for v in values):
                chosen = rule.campaign_type
                break
        name = attrs.loc[attrs["field"] == "campaign_name", "value"].iloc[0]
        out.append((platform, campaign_id, name, chosen))
    return pd.DataFrame(out, columns=["platform", "campaign_id", "campaign_name", "campaign_type"])


def _session_platform(sessions: pd.DataFrame) -> pd.Series:
    """The ad platform claiming each session (seeds ad_platforms + ad_platform_sources), else 'web'."""
    platforms = seed("ad_platforms").set_index("platform")["channel"]
    sources = seed("ad_platform_sources").sort_values("priority")

    def claim(row: pd.Series) -> str:
        src = row.src if isinstance(row.src, str) else "(direct)"
        for rule in sources.itertuples():
            if platforms[rule.platform] == row.channel and reference._like(rule.source_pattern).match(src):
                return rule.platform
        return "web"

    return sessions.apply(claim, axis=1)


def leads(read: ReadTable, types: pd.DataFrame) -> pd.DataFrame:
    """One row per lead: lead_type, lead_date, platform, campaign_id (GA4 lead events in their session;
    newsletter sign-ups (newsletter_signups) in their customer's browsers' latest session of the 30 days before)."""
    sessions = reference.sessions(read)
    sessions["platform"] = _session_platform(sessions)
    events = read("raw.ga4_events")
    params = read("raw.ga4_event_params")
    sid = params[params["key"] == "ga_session_id"].set_index("event_key")["int_value"]
    found = events[events["event_name"].isin(LEAD_EVENTS)].copy()
    found["at"] = pd.to_datetime(found["event_timestamp"], unit="us")
    found["session_key"] = [
        f"{user}-{int(sid[key])}" if key in sid.index and not pd.isna(sid[key]) else None
        for user, key in zip(found["user_pseudo_id"], found["event_key"], strict=True)]
    rows = [(r.event_name, r.at, r.session_key) for r in found.itertuples()]
    browsers = pd.Series(reference.browser_customers(read))
    for customer, at in newsletter_signups(read):
        mine = sessions[sessions["user_pseudo_id"].isin(browsers[browsers == customer].index)
                        & (sessions["started_at"] <= at) & (sessions["started_at"] >= at - timedelta(days=LOOKBACK_DAYS))]
        key = mine.sort_values("started_at")["session_key"].iloc[-1] if len(mine) else None
        rows.append(("newsletter_signup", at, key))
    out = pd.DataFrame(rows, columns=["lead_type", "lead_at", "session_key"])
    by_key = sessions.set_index("session_key")
    out["platform"] = out["session_key"].map(by_key["platform"]).fillna("web")
    out["utm_campaign"] = out["session_key"].map(by_key["collected_campaign_name"])
    out["campaign_id"] = _campaign_ids(out["platform"], out["utm_campaign"], types)
    out["lead_date"] = out["lead_at"].dt.date
    return out


def newsletter_signups(read: ReadTable) -> list[tuple[str | None, pd.Timestamp]]:
    """(customer_id, subscribed_at) of each newsletter sign-up: subscribed shop customers at their consent time and
    each person's first Klaviyo sign-up (person = trimmed, lower-cased e-mail, else profile); a person with both
    counts once, the earlier (the shop's on a tie). A Klaviyo sign-up's customer: the shop customer with its
    e-mail (the lowest id as text), else none."""
    customers = read("raw.shop_customers")
    customers = customers.assign(email_key=customers["email"].str.strip().str.lower(), id_text=customers["id"].astype(str))
    subscribed = customers[(customers["email_marketing_consent_state"] == "subscribed")
                           & customers["email_marketing_consent_updated_at"].notna()]
    klaviyo = read("raw.klaviyo_subscription_events")
    klaviyo = klaviyo.assign(email_key=klaviyo["email"].str.strip().str.lower(),
                             at=pd.to_datetime(klaviyo["subscribed_at"]))
    klaviyo["person"] = klaviyo["email_key"].fillna("profile:" + klaviyo["profile_id"].astype(str))
    firsts = klaviyo.sort_values(["at", "event_id"]).drop_duplicates("person")
    first_klaviyo = firsts.dropna(subset=["email_key"]).set_index("email_key")["at"]
    shop_at = subscribed.assign(at=pd.to_datetime(subscribed["email_marketing_consent_updated_at"]))
    first_shop = shop_at.dropna(subset=["email_key"]).groupby("email_key")["at"].min()
    out: list[tuple[str | None, pd.Timestamp]] = []
    for row in shop_at.itertuples():
        if not (row.email_key in first_klaviyo.index and first_klaviyo[row.email_key] < row.at):
            out.append((row.id_text, row.at))
    holders = customers.dropna(subset=["email_key"]).groupby("email_key")["id_text"].min()
    for row in firsts.itertuples():
        if isinstance(row.email_key, str) and row.email_key in first_shop.index and first_shop[row.email_key] <= row.at:
            continue
        out.append((holders.get(row.email_key) if isinstance(row.email_key, str) else None, row.at))
    return out


def _campaign_ids(platforms: pd.Series, utm_campaigns: pd.Series, types: pd.DataFrame) -> list[str | None]:
    by_name = {(r.platform, str(r.campaign_name).lower()): r.campaign_id for r in types.itertuples()}
    return [by_name.get((p, str(c).lower())) if isinstance(c, str) else None
            for p, c in zip(platforms, utm_campaigns, strict=True)]


def kpi_campaign_type_daily(read: ReadTable, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """Volumes and ratios per (date_day, platform, campaign_type) of the paid platforms."""
    types = campaign_types(read, rules)
    type_of = {(r.platform, r.campaign_id): r.campaign_type for r in types.itertuples()}
    seed_types = seed("campaign_types")
    fallback = seed_types.loc[seed_types["is_unclassified"].astype(str).str.lower() == "true", "campaign_type"].item()
    remarketing = set(seed_types.loc[seed_types["is_remarketing"].astype(str).str.lower() == "true", "campaign_type"])
    paid = set(seed("ad_platforms")["platform"])
    platform = _platform_of_spend_model()
    meta_spend = read("raw.meta_ad_insights")
    google_spend = read("raw.google_ads_campaign_stats")
    google_currency = pd.Series(seed("ad_platforms").set_index("platform").loc["google_ads", "default_currency"],
                                index=google_spend.index)
    spend = pd.concat([
        pd.DataFrame({"date_day": meta_spend["date_start"], "platform": platform["stg_meta_ads__campaign_insights"],
                      "campaign_id": meta_spend["campaign_id"].astype(str),
                      "spend": reference.to_reporting(read, meta_spend["spend"], meta_spend["account_currency"],
                                                      meta_spend["date_start"])}),
        pd.DataFrame({"date_day": google_spend["segments_date"],
                      "platform": platform["stg_google_ads__campaign_stats"],
                      "campaign_id": google_spend["campaign_id"].astype(str),
                      "spend": reference.to_reporting(read, (google_spend["cost_micros"] / 1_000_000).round(2),
                                                      google_currency, google_spend["segments_date"])}),
    ])
    spend["date_day"] = pd.to_datetime(spend["date_day"]).dt.date
    found = leads(read, types)
    found = found[found["platform"].isin(paid)]
    orders = read("int_order_attribution")
    orders = orders[orders["platform"].isin(paid)].copy()
    orders["campaign_id"] = _campaign_ids(orders["platform"], orders["traffic_campaign"], types)
    orders["date_day"] = pd.to_datetime(orders["order_date"]).dt.date

    def typed(frame: pd.DataFrame) -> pd.Series:
        return pd.Series([type_of.get((p, c), fallback) if isinstance(c, str) else fallback
                          for p, c in zip(frame["platform"], frame["campaign_id"], strict=True)], index=frame.index)

    spend["campaign_type"] = typed(spend)
    found["campaign_type"] = typed(found)
    found["date_day"] = found["lead_date"]
    orders["campaign_type"] = typed(orders)
    orders["new"] = orders["is_first_order"].astype(bool)
    orders["returning"] = orders["customer_id"].notna() & ~orders["new"]
    revenue = orders["net_revenue_reporting"].astype(float)
    orders["new_revenue"] = revenue.where(orders["new"], 0.0)
    orders["returning_revenue"] = revenue.where(orders["returning"], 0.0)
    orders["revenue"] = revenue
    key = ["date_day", "platform", "campaign_type"]
    frames = [
        spend.groupby(key)["spend"].sum().to_frame(),
        found.assign(sign_ups=found["lead_type"] == "sign_up", generated_leads=found["lead_type"] == "generate_lead",
                     newsletter_signups=found["lead_type"] == "newsletter_signup")
        .groupby(key)[["sign_ups", "generated_leads", "newsletter_signups"]].sum(),
        orders.groupby(key).agg(orders=("campaign_type", "size"), new_customer_orders=("new", "sum"),
                                returning_customer_orders=("returning", "sum"),
                                new_customer_revenue=("new_revenue", "sum"),
                                returning_customer_revenue=("returning_revenue", "sum"),
                                revenue=("revenue", "sum")),
    ]
    out = pd.concat(frames, axis=1).fillna(0).astype(float).reset_index()
    out["leads"] = out["sign_ups"] + out["generated_leads"] + out["newsletter_signups"]
    out["cpl"] = reference_divide(out["spend"], out["leads"])
    out["new_customer_roas"] = reference_divide(out["new_customer_revenue"], out["spend"])
    out["returning_customer_roas"] = reference_divide(out["returning_customer_revenue"], out["spend"])
    upsell = reference_divide(out["spend"], out["returning_customer_orders"])
    out["cost_per_upsell"] = upsell.where(out["campaign_type"].isin(remarketing), np.nan)
    return out


def reference_divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0."""
    den = denominator.astype(float)
    return pd.Series(np.where(den == 0, np.nan, numerator.astype(float) / den.where(den != 0)), index=den.index)
