"""Independent pandas recomputation of the marketing KPIs: the volumes behind kpi_channel_daily per day and
channel, its documented ratios, and the kpi_funnel steps and rates per month and channel.

Written from the marts' yml descriptions (ratios null where the denominator is 0; the funnel's ad step only for
channels an ad platform reports clicks for), on top of dbt_pandas_reference's raw-table recomputations.
"""

from __future__ import annotations

from collections.abc import Callable

import dbt_affiliate_reference as affiliate
import dbt_pandas_reference as reference
import numpy as np
import pandas as pd

ReadTable = Callable[[str], pd.DataFrame]

# kpi_channel_daily's ratios as documented in its yml: name -> (numerator, denominator); ROI's numerator is
# gross margin minus spend.
RATIOS: dict[str, tuple[str, str]] = {
    "roas": ("revenue", "spend"),
    "roi": ("margin_after_spend", "spend"),
    "cpc": ("spend", "clicks"),
    "ctr": ("clicks", "impressions"),
    "conversion_rate": ("orders", "sessions"),
    "cpa": ("spend", "orders"),
    "cac": ("spend", "new_customers"),
    "aov": ("revenue", "orders"),
}


def divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN (null) where the denominator is 0 or missing."""
    num = numerator.astype(float)
    den = denominator.astype(float)
    return pd.Series(np.where(den.fillna(0) == 0, np.nan, num / den.where(den != 0)), index=num.index)


def ratios(components: pd.DataFrame) -> pd.DataFrame:
    """Every documented ratio of rows holding spend, impressions, clicks, sessions, orders, new_customers,
    revenue and gross_margin."""
    frame = components.assign(margin_after_spend=components["gross_margin"].astype(float)
                              - components["spend"].astype(float))
    return pd.DataFrame({name: divide(frame[num], frame[den]) for name, (num, den) in RATIOS.items()})


def _ad_channels() -> dict[str, str]:
    return pd.read_csv(reference.SEEDS / "ad_platforms.csv").set_index("platform")["channel"].to_dict()


def daily_volumes(read: ReadTable) -> pd.DataFrame:
    """Per (date_day, channel): spend (ad platforms, and the affiliate channel's commission), impressions, clicks
    (ad platforms), sessions (GA4), orders, new_customers and revenue (valid orders under last non-direct click);
    a missing volume is 0."""
    channel_of = _ad_channels()
    meta = read("raw.meta_ad_insights")
    google = read("raw.google_ads_campaign_stats")
    ads = pd.concat([
        pd.DataFrame({"date_day": meta["date_start"], "channel": channel_of["meta"],
                      "impressions": meta["impressions"], "clicks": meta["clicks"]}),
        pd.DataFrame({"date_day": google["segments_date"], "channel": channel_of["google_ads"],
                      "impressions": google["impressions"], "clicks": google["clicks"]}),
    ])
    ads["date_day"] = pd.to_datetime(ads["date_day"]).dt.date
    ads = ads.groupby(["date_day", "channel"])[["impressions", "clicks"]].sum()
    spend = affiliate.daily_spend_with_commission(read).set_index(["date_day", "channel"])[["spend"]]
    sessions = reference.sessions(read)
    sessions["date_day"] = pd.to_datetime(sessions["started_at"]).dt.date
    visits = sessions.groupby(["date_day", "channel"]).size().rename("sessions").to_frame()
    orders = reference.attributed_orders(read)
    orders["date_day"] = orders["order_date"]
    credited = orders.groupby(["date_day", "channel"]).agg(
        orders=("order_key", "count"), new_customers=("is_first_order", "sum"),
        revenue=("net_revenue_reporting", "sum"))
    out = pd.concat([spend, ads, visits, credited], axis=1).fillna(0)
    return out.reset_index().rename(columns={"level_0": "date_day", "level_1": "channel"})


def funnel(read: ReadTable) -> pd.DataFrame:
    """kpi_funnel per (month, channel): ad_interactions (ad clicks; NaN for channels no ad platform reports),
    site_visits (sessions), first_purchases (customers' first valid orders credited to the channel) and the
    step rates visit_rate, purchase_rate, overall_rate (NaN where the denominator is 0 or missing)."""
    daily = daily_volumes(read)
    daily["month"] = pd.to_datetime(daily["date_day"]).dt.to_period("M").dt.to_timestamp().dt.date
    out = daily.groupby(["month", "channel"], as_index=False).agg(
        clicks=("clicks", "sum"), site_visits=("sessions", "sum"), first_purchases=("new_customers", "sum"))
    paid = out["channel"].isin(set(_ad_channels().values()))
    out["ad_interactions"] = out["clicks"].where(paid)
    out["visit_rate"] = divide(out["site_visits"], out["ad_interactions"])
    out["purchase_rate"] = divide(out["first_purchases"], out["site_visits"])
    out["overall_rate"] = divide(out["first_purchases"], out["ad_interactions"])
    return out.drop(columns="clicks")
