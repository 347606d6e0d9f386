"""Shop customers: names, messy e-mails and phones, places, marketing consent and buying propensity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrowcast.datagen.geography import COUNTRIES, places
from narrowcast.datagen.table_writer import pick, timestamps

CUSTOMER_ID_BASE = 6_900_000_000
FIRST_NAMES = ("Anna", "Lukas", "Marie", "Jonas", "Sophie", "Paul", "Emma", "Louis", "Lea", "Hugo", "Julia",
               "Daan", "Sanne", "Lotte", "Elias", "Laura", "Mateo", "Lucia", "Giulia", "Marco", "Oliver", "Amelia",
               "Zofia", "Jakub", "Freja", "Noah", "Clara", "Felix", "Ines", "Tom", "Chloe", "Leon")
LAST_NAMES = ("Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois", "de Jong",
              "Jansen", "Visser", "Gruber", "Huber", "Peeters", "Janssens", "Garcia", "Fernandez", "Rossi", "Russo",
              "Bianchi", "Smith", "Jones", "Taylor", "Nowak", "Kowalski", "Jensen", "Nielsen", "Wagner", "Becker",
              "Moreau", "Laurent", "Bakker")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "post.example.net")
# How many web orders a buyer places in the window: a long tail so RFM frequency spreads over all scores, with
# about a quarter of buyers ordering again (repeat purchase rate 20-30%, see narrowcast.datagen.benchmarks).
ORDER_COUNT_VALUES = np.array([1, 2, 3, 4, 5, 6, 8])
ORDER_COUNT_WEIGHTS = np.array([0.76, 0.12, 0.055, 0.03, 0.015, 0.01, 0.01])
BUYER_SHARE = 0.40  # customers who place a web order in the window


@dataclass
class Customers:
    """Customer arrays aligned by customer index."""

    customer_id: np.ndarray
    email: pa.Array  # raw, messy
    email_clean: pa.Array  # trimmed and lower-cased: what marketplaces and privacy requests carry
    place: np.ndarray  # index into geography.places()
    country: np.ndarray  # index into COUNTRIES
    created_at: np.ndarray  # epoch seconds
    accepts_marketing: np.ndarray
    is_test: np.ndarray
    web_orders: np.ndarray  # planned number of web orders in the window
    marketplace_only: np.ndarray
    table: pa.Table

    @property
    def size(self) -> int:
        return len(self.customer_id)


def build_customers(rng: np.random.Generator, n: int, start_s: int, end_s: int) -> Customers:
    idx = np.arange(n, dtype=np.int64)
    all_places = places()
    weights = np.array([p.weight for p in all_places])
    place = rng.choice(len(all_places), n, p=weights / weights.sum())
    country = np.array([p.country for p in all_places])[place]
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    first_a = pick(list(FIRST_NAMES), first)
    last_a = pick(list(LAST_NAMES), last)
    slug_last = pc.replace_substring(pc.utf8_lower(last_a), " ", "")
    email_clean = pc.binary_join_element_wise(
        pc.utf8_lower(first_a), ".", slug_last, pa.array((idx + 1).astype(str)), "@",
        pick(list(EMAIL_DOMAINS), rng.integers(0, len(EMAIL_DOMAINS), n)), "")
    email = _messy_emails(rng, email_clean)
    # 70% were customers before the window; the rest sign up during it.
    before = rng.random(n) < 0.7
    created = np.where(before, start_s - rng.integers(86400, 3 * 365 * 86400, n),
                       start_s + rng.integers(0, max(end_s - start_s - 86400, 1), n))
    accepts = rng.random(n) < 0.62
    # Consent comes up to 20 days after sign-up, and before the world's end ("now" for every API): an updated_at
    # past the end would hide the customer from a read up to the end. A sign-up less than 20 days before the end
    # draws its delay within the time left (no pile-up of consents on the last day).
    consent_window = np.maximum(np.minimum(20 * 86400, end_s - 3600 - created), 1)
    consent_at = created + rng.integers(0, 20 * 86400, n) % consent_window
    consent_known = accepts | (rng.random(n) < 0.3)
    is_test = np.zeros(n, dtype=bool)
    is_test[: min(2, n)] = True  # the merchant's own test accounts
    buyer = rng.random(n) < BUYER_SHARE
    web_orders = np.where(buyer, rng.choice(ORDER_COUNT_VALUES, n, p=ORDER_COUNT_WEIGHTS), 0)
    web_orders[is_test] = 0
    marketplace_only = (web_orders == 0) & ~is_test & (rng.random(n) < 0.18)
    phone = _messy_phones(rng, country)
    customer_id = CUSTOMER_ID_BASE + idx
    region = pa.array([p.region for p in all_places]).take(pa.array(place))
    city = pa.array([p.city for p in all_places]).take(pa.array(place))
    updated = np.maximum(created, np.where(consent_known, consent_at, created)) + rng.integers(0, 3600, n)
    table = pa.table({
        "customer_id": pa.array(customer_id),
        "email": email,
        "phone": phone,
        "first_name": first_a,
        "last_name": last_a,
        "country_code": pick([c.code for c in COUNTRIES], country),
        "region": region,
        "city": city,
        "accepts_marketing": pa.array(accepts),
        "marketing_consent_updated_at": timestamps(consent_at, consent_known),
        "created_at": timestamps(created),
        "updated_at": timestamps(updated),
        "is_test": pa.array(is_test),
    })
    return Customers(customer_id, email, email_clean, place, country, created, accepts, is_test, web_orders,
                     marketplace_only, table)


def _messy_emails(rng: np.random.Generator, clean: pa.Array) -> pa.Array:
    """Some e-mails capitalised or fully upper-cased, some with stray spaces, as typed into checkout forms."""
    n = len(clean)
    roll = rng.random(n)
    title = pc.utf8_capitalize(clean)
    upper = pc.utf8_upper(clean)
    spaced = pc.binary_join_element_wise(" ", clean, " ", "")
    trailing = pc.binary_join_element_wise(clean, "  ", "")
    out = pc.if_else(pa.array(roll < 0.08), title, clean)
    out = pc.if_else(pa.array((roll >= 0.08) & (roll < 0.11)), upper, out)
    out = pc.if_else(pa.array((roll >= 0.11) & (roll < 0.15)), spaced, out)
    return pc.if_else(pa.array((roll >= 0.15) & (roll < 0.18)), trailing, out)


def _messy_phones(rng: np.random.Generator, country: np.ndarray) -> pa.Array:
    """Mobile numbers in the formats people type: E.164, spaced international, national, 00-prefixed, dashed."""
    n = len(country)
    prefixes = [c.mobile_prefixes for c in COUNTRIES]
    pref_choice = rng.integers(0, 4, n)
    pref_vocab = [p for c in prefixes for p in (c * 4)[:4]]
    prefix = pick(pref_vocab, country * 4 + pref_choice)
    digits = pa.array(np.char.zfill(rng.integers(0, 10**7, n).astype(str), 7))
    nsn = pc.binary_join_element_wise(prefix, digits, "")
    dial = pick([c.dial_code for c in COUNTRIES], country)
    trunk = pick([c.trunk for c in COUNTRIES], country)
    head = pc.utf8_slice_codeunits(nsn, 0, 3)
    tail = pc.utf8_slice_codeunits(nsn, 3, 20)
    formats = [
        pc.binary_join_element_wise("+", dial, nsn, ""),
        pc.binary_join_element_wise("+", dial, " ", head, " ", tail, ""),
        pc.binary_join_element_wise(trunk, nsn, ""),
        pc.binary_join_element_wise("00", dial, " ", nsn, ""),
        pc.binary_join_element_wise("(", trunk, head, ") ", pc.utf8_slice_codeunits(tail, 0, 3), "-",
                                    pc.utf8_slice_codeunits(tail, 3, 20), ""),
    ]
    which = rng.choice(len(formats), n, p=[0.3, 0.2, 0.3, 0.1, 0.1])
    out = formats[0]
    for k in range(1, len(formats)):
        out = pc.if_else(pa.array(which == k), formats[k], out)
    has_phone = rng.random(n) < 0.78
    return pc.if_else(pa.array(has_phone), out, pa.nulls(n, pa.string()))
