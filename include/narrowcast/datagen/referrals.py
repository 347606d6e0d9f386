"""The referral programme in the synthetic shop: a few advocates share their referral links, friends type their
codes at checkout, and an affiliate partner drops its contact list in the inbox.

Codes are computed as the dbt model ``int_referral_codes`` documents them (REF- + the first 10 upper-case hex
digits of SHA-256(key ':' customer id)), with the key from ``NARROWCAST_REFERRAL_KEY`` or dbt's demo default, so the
warehouse recognises the codes the generator hands out.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.customers import CUSTOMER_ID_BASE, Customers
from narrowcast.datagen.inbox import csv_time
from narrowcast.datagen.table_writer import pick
from narrowcast.datagen.traffic import REFERRAL, TrafficSource

DEMO_KEY = "narrowcast-demo-referral-key"  # dbt_project.yml var referral_code_key's default
ADVOCATES = 3
# Share of shop orders (of customers, without another code) placed with an advocate's code.
CODE_SHARE = 0.02
PARTNER_ID = "awin"  # the affiliate partner of the demo's affiliate traffic (traffic.py)
BASES = ("consent", "legitimate_interest", "contract")
USES = ("email|ads", "email", "")


def referral_code(customer_id: int | str, key: str | None = None) -> str:
    key = key if key is not None else os.environ.get("NARROWCAST_REFERRAL_KEY", DEMO_KEY)
    return "REF-" + hashlib.sha256(f"{key}:{customer_id}".encode()).hexdigest()[:10].upper()


def advocates(customers: Customers) -> np.ndarray:
    """Indices of the demo's advocates: the first subscribed, non-test customers (no randomness)."""
    return np.flatnonzero(customers.accepts_marketing & ~customers.is_test)[:ADVOCATES]


def referral_sources(customers: Customers) -> list[TrafficSource]:
    """One traffic source per advocate: friends following the advocate's shared link (landing ?ref=<code>) from
    social media, a referral visit by GA4's channel grouping. Appended after traffic_sources() so existing source
    indices keep their meaning."""
    return [TrafficSource(REFERRAL, "l.instagram.com", "referral", "(referral)", -1,
                          f"?ref={referral_code(int(customers.customer_id[i]))}", "https://l.instagram.com/")
            for i in advocates(customers)]


def with_referral_codes(rng: np.random.Generator, orders: pa.Table, customers: Customers) -> pa.Table:
    """Orders with an advocate's referral code typed at checkout: CODE_SHARE of the customers' orders that carry no
    other code, never an advocate's own order."""
    chosen = advocates(customers)
    if len(chosen) == 0 or orders.num_rows == 0:
        return orders
    ids = CUSTOMER_ID_BASE + chosen
    buyer = orders.column("customer_id").to_numpy(zero_copy_only=False)
    has_code = pc.is_valid(orders.column("discount_code")).to_numpy(zero_copy_only=False)
    buyer_known = ~pc.is_null(orders.column("customer_id")).to_numpy(zero_copy_only=False)
    eligible = buyer_known & ~has_code & ~np.isin(np.where(buyer_known, buyer, -1), ids)
    take = eligible & (rng.random(orders.num_rows) < CODE_SHARE)
    codes = [referral_code(int(i)) for i in ids]
    which = np.where(take, rng.integers(0, len(codes), orders.num_rows), -1)
    merged = pc.coalesce(orders.column("discount_code"), pick(codes, which))
    return orders.set_column(orders.schema.get_field_index("discount_code"), "discount_code", merged)


def partner_list(rng: np.random.Generator, customers: Customers, end_s: int) -> pa.Table:
    """The affiliate partner's contact list (partner_list_*.csv): some of the shop's customers and people the shop
    does not know, each with the lawful basis the partner collected them under and the uses it allows."""
    k = max(20, customers.size // 50)
    known = rng.choice(np.flatnonzero(~customers.is_test), k // 2, replace=False)
    emails = customers.email_clean.take(pa.array(np.sort(known))).to_pylist()
    emails += [f"reader{n:05d}@partner-mail.example" for n in range(k - len(emails))]
    basis = rng.choice(len(BASES), k, p=[0.6, 0.3, 0.1])
    uses = np.where(basis == 0, rng.choice(len(USES), k, p=[0.7, 0.3, 0.0]), rng.choice(len(USES), k, p=[0.2, 0.6, 0.2]))
    return pa.table({
        "partner_id": pa.array([PARTNER_ID] * k, pa.string()),
        "email": pa.array(emails, pa.string()),
        "consent_basis": pick(list(BASES), basis),
        "allowed_uses": pick(list(USES), uses),
        "collected_at": csv_time(end_s - rng.integers(86400, 60 * 86400, k)),
    })
