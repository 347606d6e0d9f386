"""Newsletter sign-ups recorded in Klaviyo, for the Klaviyo emulator (world table ``klaviyo_signups``).

Three kinds, as a shop that runs Klaviyo next to its store sees them:

- the shop's own consent synced into Klaviyo: most subscribed customers gain a "Subscribed to Email Marketing"
  event a few minutes after their consent time (the same sign-up twice: int_leads counts it once, as the shop's);
- a sign-up form first: some subscribed customers joined the "Newsletter" list through a Klaviyo form a day or two
  before they bought with consent ("Subscribed to List", earlier than the shop's consent: Klaviyo's counts);
- visitors who only ever signed up through a form (e-mails the shop does not know).

Times fall in the generated window; ids are deterministic for the seed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.customers import EMAIL_DOMAINS, Customers
from narrowcast.datagen.table_writer import timestamps

SYNCED_SHARE = 0.6  # of subscribed customers: their consent reaches Klaviyo as an event
FORM_FIRST_SHARE = 0.1  # of subscribed customers: a Klaviyo form sign-up before the shop's consent
VISITORS_PER_CUSTOMER = 0.02  # form sign-ups of people who are not shop customers
LISTS = ("Newsletter", "Footer popup")


def build_klaviyo_signups(rng: np.random.Generator, people: Customers, start_s: int, end_s: int) -> pa.Table:
    """One row per sign-up event: event_id, metric_name, profile_id, email, list_name, subscribed_at."""
    consent_us = pc.fill_null(people.table.column("marketing_consent_updated_at").cast(pa.int64()), -1)
    consent_s = consent_us.to_numpy() // 1_000_000
    subscribed = np.flatnonzero(people.accepts_marketing & ~people.is_test & (consent_s >= start_s))
    roll = rng.random(len(subscribed))
    synced = subscribed[roll < SYNCED_SHARE]
    form_first = subscribed[(roll >= SYNCED_SHARE) & (roll < SYNCED_SHARE + FORM_FIRST_SHARE)]
    synced_at = consent_s[synced] + rng.integers(60, 600, len(synced))
    form_at = consent_s[form_first] - rng.integers(3_600, 2 * 86_400, len(form_first))
    visitors = max(3, int(len(people.customer_id) * VISITORS_PER_CUSTOMER))
    visitor_at = rng.integers(start_s, end_s, visitors)
    visitor_email = pa.array([f"reader{i + 1}@{EMAIL_DOMAINS[i % len(EMAIL_DOMAINS)]}" for i in range(visitors)])

    emails = pa.concat_arrays([people.email_clean.take(pa.array(synced)),
                               people.email_clean.take(pa.array(form_first)), visitor_email])
    at = np.concatenate([synced_at, form_at, visitor_at])
    metric = (["Subscribed to Email Marketing"] * len(synced)
              + ["Subscribed to List"] * (len(form_first) + visitors))
    list_name = [None] * len(synced) + [LISTS[i % len(LISTS)] for i in range(len(form_first) + visitors)]
    profile = pc.binary_join_element_wise("01KLAVIYO", pa.array(np.arange(len(at)).astype(str)), "")
    keep = (at >= start_s) & (at < end_s)
    order = np.flatnonzero(keep)[np.argsort(at[keep], kind="stable")]
    table = pa.table({
        "event_id": pc.binary_join_element_wise("kev", pa.array(np.arange(len(at)).astype(str)), ""),
        "metric_name": pa.array(metric),
        "profile_id": profile,
        "email": emails,
        "list_name": pa.array(list_name, type=pa.string()),
        "subscribed_at": timestamps(at),
    })
    return table.take(pa.array(order))
