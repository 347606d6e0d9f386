"""Daily campaign statistics as Meta Insights and Google Ads report them, derived from the site's paid sessions.

Clicks are drawn at or above the paid sessions each campaign brought that day (not every click lands a tracked
session), so ``sessions ≤ clicks`` holds per campaign-day. Platform-reported purchases are noisy and over-claim,
as real ad platforms do. The last ``RESTATED_DAYS`` days are flagged ``restated``: the platforms revised them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from narrowcast.datagen.sessions import Sessions
from narrowcast.datagen.table_writer import money, timestamps
from narrowcast.datagen.traffic import (
    GOOGLE_CUSTOMER_ID,
    META_ACCOUNT_ID,
    Campaign,
    TrafficSource,
    active_matrix,
)
from narrowcast.datagen.web_orders import WebOrders

RESTATED_DAYS = 3


def paid_session_counts(s: Sessions, sources: list[TrafficSource], n_campaigns: int, start_s: int,
                        days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(campaign × day) arrays: paid sessions, purchase sessions, purchase revenue cents; day = session start."""
    camp = np.array([t.campaign_index for t in sources])[s.source]
    day = (s.start - start_s) // 86400
    ok = (camp >= 0) & (day >= 0) & (day < days)
    key = camp[ok] * days + day[ok]
    size = n_campaigns * days
    sessions = np.bincount(key, minlength=size).reshape(n_campaigns, days)
    bought = ok & (s.order >= 0)
    bkey = camp[bought] * days + day[bought]
    purchases = np.bincount(bkey, minlength=size).reshape(n_campaigns, days)
    return sessions, purchases, bkey


def build_ad_stats(rng: np.random.Generator, s: Sessions, orders: WebOrders, all_campaigns: list[Campaign],
                   sources: list[TrafficSource], start_s: int, days: int) -> tuple[pa.Table, pa.Table]:
    n_c = len(all_campaigns)
    sessions, purchases, bkey = paid_session_counts(s, sources, n_c, start_s, days)
    camp = np.array([t.campaign_index for t in sources])[s.source]
    day = (s.start - start_s) // 86400
    bought = (camp >= 0) & (day >= 0) & (day < days) & (s.order >= 0)
    value = np.bincount(bkey, weights=orders.total_cents[s.order[bought]], minlength=n_c * days).reshape(n_c, days)
    active = active_matrix(all_campaigns, days).T  # campaigns × days
    landing_rate = rng.uniform(0.72, 0.93, (n_c, days))
    clicks = np.ceil(sessions / landing_rate).astype(np.int64) + rng.poisson(0.3, (n_c, days))
    clicks = np.where(active, np.maximum(clicks, 1), 0)
    ctr = rng.uniform(0.008, 0.025, (n_c, days))
    impressions = np.where(active, np.ceil(clicks / ctr).astype(np.int64), 0)
    cpc_lo = np.array([c.cpc_cents[0] for c in all_campaigns])[:, None]
    cpc_hi = np.array([c.cpc_cents[1] for c in all_campaigns])[:, None]
    spend = np.round(clicks * rng.uniform(cpc_lo, cpc_hi, (n_c, days))).astype(np.int64)
    over_claim = rng.uniform(0.9, 1.35, (n_c, days))
    platform_purchases = np.floor(purchases * over_claim + rng.random((n_c, days))).astype(np.int64)
    platform_value = np.round(value * over_claim).astype(np.int64)

    c_idx, d_idx = np.nonzero(active & (spend > 0))
    date_s = start_s + d_idx * 86400
    restated = d_idx >= days - RESTATED_DAYS
    # Reports are final the morning after; restated days were revised again two days later.
    updated = date_s + 86400 + 6 * 3600 + np.where(restated, 2 * 86400, 0)
    is_meta = np.array([all_campaigns[c].platform == "meta" for c in c_idx], dtype=bool)
    ids = np.array([c.campaign_id for c in all_campaigns], dtype=np.int64)
    names = pa.array([c.name for c in all_campaigns])
    dates = pa.array((date_s // 86400).astype(np.int32), pa.date32())

    def rows(mask: np.ndarray) -> dict[str, pa.Array]:
        ci, di = c_idx[mask], d_idx[mask]
        return {"campaign_id": pa.array(ids[ci]), "campaign_name": names.take(pa.array(ci)),
                "date": dates.filter(pa.array(mask)), "impressions": pa.array(impressions[ci, di]),
                "clicks": pa.array(clicks[ci, di])}

    m = rows(is_meta)
    meta = pa.table({
        "account_id": pa.array(np.full(int(is_meta.sum()), META_ACCOUNT_ID, dtype=np.int64)),
        **m,
        "spend": money(spend[c_idx[is_meta], d_idx[is_meta]]),
        "purchases": pa.array(platform_purchases[c_idx[is_meta], d_idx[is_meta]]),
        "purchase_value": money(platform_value[c_idx[is_meta], d_idx[is_meta]]),
        "updated_at": timestamps(updated[is_meta]),
        "restated": pa.array(restated[is_meta]),
    })
    g = ~is_meta
    google = rows(g)
    google_table = pa.table({
        "customer_id": pa.array(np.full(int(g.sum()), GOOGLE_CUSTOMER_ID, dtype=np.int64)),
        "campaign_id": google["campaign_id"], "campaign_name": google["campaign_name"],
        "date": google["date"], "impressions": google["impressions"], "clicks": google["clicks"],
        "cost_micros": pa.array(spend[c_idx[g], d_idx[g]] * 10_000),
        "conversions": pa.array(platform_purchases[c_idx[g], d_idx[g]].astype(np.float64)),
        "conversions_value": pa.array(np.round(platform_value[c_idx[g], d_idx[g]] / 100.0, 2)),
    })
    return meta, google_table
