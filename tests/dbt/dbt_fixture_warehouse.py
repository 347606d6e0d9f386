"""A small hand-written warehouse (raw schema only) whose every row was chosen to exercise one model rule.

The scenario (as of 2026-03-31): eight shop customers with messy e-mails and phones, orders that are valid,
cancelled, test, voided, fully and partly refunded, unfulfilled or dated after the reference day; a minimal
orders-import file; eBay and Amazon orders (open, cancelled, shipped); GA4 sessions from paid social, paid
search (utm and gclid-only), e-mail, affiliate, referral, organic and direct, one browser without
ga_session_id, product views and carts with their items and a site search; two days of Meta and Google Ads spend; ERP snapshots, listings, a budget plan and an opt-out.
Referrals: a friend's referral code typed at checkout, a referral link landing, a buyer's own code (self-referral),
a code and an affiliate link on one order, and a partner list with each consent basis.
Segment edges: customers 40-53 each sit on one side of a customer_segments rule's boundary (e.g. 50 is due to
reorder and 51, a day later, is not; 52 browsed four times in 30 days, 53 three times in them).
Money in other currencies: eBay UK and Amazon UK orders in GBP (one placed on a Saturday), a Meta account and a
budget row in GBP, an imported order in CHF, for which no rate exists; ECB rates for GBP and USD on every working
day, and one rate of a merchant's fx_rates file that overrides the ECB's.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
from dbt_raw_schema import RAW_TABLES, columns, create_table_sql

AS_OF_DATE = "2026-03-31"
LOADED_AT = datetime(2026, 3, 31, 23, 0, 0)


# The referral programme's key when NARROWCAST_REFERRAL_KEY is unset (dbt_project.yml var referral_code_key).
REFERRAL_KEY = "narrowcast-demo-referral-key"


def referral_code(customer_id: object) -> str:
    """A customer's referral code as int_referral_codes documents it: REF- + 10 upper-case hex digits of the keyed
    SHA-256 of the customer key."""
    return "REF-" + hashlib.sha256(f"{REFERRAL_KEY}:{customer_id}".encode()).hexdigest()[:10].upper()


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _micros(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1_000_000)


def _epoch_seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


CUSTOMERS = [
    # id, email, phone, first, last, accepts_marketing, consent state, country, province, city
    (1, " Test.User@Example.com ", "+49 151 1234567", "Test", "User", True, "subscribed", "DE", "Bavaria", "Munich"),
    (2, "anna@example.de", "0151 2345678", "Anna", "A", True, "subscribed", "DE", "Berlin", "Berlin"),
    (3, "bob@example.fr", "06 12 34 56 78", "Bob", "B", True, "not_subscribed", "FR", "Ile-de-France", "Paris"),
    (4, "carla@example.it", "333 1234567", "Carla", "C", False, "unsubscribed", "IT", "Lazio", "Rome"),
    (5, "dirk@example.nl", None, "Dirk", "D", True, "subscribed", "NL", "Utrecht", "Utrecht"),
    (6, "eve@example.at", "0043 664 1234567", "Eve", "E", True, "subscribed", "AT", "Vienna", "Vienna"),
    (7, "frank@example.es", "612 345 678", "Frank", "F", True, "subscribed", "ES", "Catalonia", "Barcelona"),
    (8, "gina@example.be", None, "Gina", "G", True, "subscribed", "BE", "Flanders", "Ghent"),
    # Customers 40-49 each sit on the edge of a segment rule of customer_segments (see their orders, sessions).
    (40, "hugo@example.de", None, "Hugo", "H", True, "subscribed", "DE", "Hesse", "Kassel"),
    (41, "ines@example.pt", None, "Ines", "I", True, "subscribed", "PT", "Lisboa", "Lisbon"),
    (42, "jan@example.pl", None, "Jan", "J", True, "subscribed", "PL", "Mazovia", "Warsaw"),
    (43, "kim@example.se", None, "Kim", "K", True, "subscribed", "SE", "Stockholm", "Stockholm"),
    (44, "lea@example.dk", None, "Lea", "L", True, "subscribed", "DK", "Capital", "Copenhagen"),
    (45, "max@example.de", None, "Max", "M", False, "not_subscribed", "DE", "Saxony", "Leipzig"),
    (46, "nora@example.fi", None, "Nora", "N", True, "subscribed", "FI", "Uusimaa", "Helsinki"),
    (47, "otto@example.cz", None, "Otto", "O", True, "subscribed", "CZ", "Prague", "Prague"),
    (49, "olga@example.de", None, "Olga", "O", True, "subscribed", "DE", "Bremen", "Bremen"),
    (50, "pia@example.de", None, "Pia", "P", True, "subscribed", "DE", "Bavaria", "Nuremberg"),
    (51, "quirin@example.at", None, "Quirin", "Q", True, "subscribed", "AT", "Tyrol", "Innsbruck"),
    (52, "rosa@example.nl", None, "Rosa", "R", True, "subscribed", "NL", "Utrecht", "Utrecht"),
    (53, "stijn@example.be", None, "Stijn", "S", True, "subscribed", "BE", "Flanders", "Antwerp"),
]

# When Shopify recorded a customer's last e-mail marketing consent change (a subscribed one is a newsletter
# sign-up, int_leads): 1 subscribes during the Meta session of 28 March, 8 during the newsletter session of
# 30 March, 6 with no session at all; 4 unsubscribed (no lead).
CONSENT_UPDATED_AT = {1: "2026-03-28 10:04:00", 8: "2026-03-30 19:03:30", 6: "2026-03-29 12:00:00",
                      4: "2026-03-10 08:00:00"}

# Klaviyo sign-up events (raw.klaviyo_subscription_events; int_leads counts a person once against the shop's
# consent, the earlier wins): customer 1's consent synced into Klaviyo 5 minutes after the shop recorded it (the
# shop's counts), customer 6 signed up through a Klaviyo form an hour before the shop's consent (Klaviyo's counts),
# and a visitor the shop does not know, subscribed to a list and to e-mail marketing at once (one lead).
KLAVIYO_SIGNUPS = [
    # event_id, metric_name, profile_id, email, list_name, subscribed_at
    ("kev1", "Subscribed to Email Marketing", "01FIXP1", "test.user@example.com", None, "2026-03-28 10:09:00"),
    ("kev2", "Subscribed to List", "01FIXP6", "eve@example.at", "Newsletter", "2026-03-29 11:00:00"),
    ("kev3", "Subscribed to List", "01FIXP9", "Reader@example.org", "Footer popup", "2026-03-29 09:00:00"),
    ("kev4", "Subscribed to Email Marketing", "01FIXP9", "Reader@example.org", None, "2026-03-29 09:00:02"),
]
KLAVIYO_METRIC_IDS = {"Subscribed to Email Marketing": "Y6rLvz", "Subscribed to List": "TspjNE"}

PRODUCTS = [
    # product_id, sku, title, category, price, compare_at_price, status
    (101, "MUG-01", "Stoneware mug", "Kitchen", "10.00", "15.00", "active"),
    (102, "MUG-02", "Large mug", "Kitchen", "20.00", None, "active"),
    (103, "TEA-01", "Green tea", "Pantry", "8.00", "9.00", "active"),
    (104, "TEA-02", "Black tea", "Pantry", "12.00", None, "active"),
    (105, "OLD-01", "Old teapot", "Kitchen", "30.00", None, "archived"),
    # Nobody bought it: an upsell for the buyers of MUG-02 that no co-purchase recommendation shadows.
    (106, "MUG-03", "Jumbo mug", "Kitchen", "25.00", None, "active"),
]

SHOP_ORDERS = [
    # id, customer, created_at, cancelled_at, financial, fulfillment, subtotal, discounts, test, lines
    # lines: (line_id, sku, quantity, unit price, line discount)
    (1001, 1, "2026-03-28 10:05:00", None, "paid", "fulfilled", "30.00", "0.00", False,
     [(5001, "MUG-02", 1, "20.00", "0.00"), (5002, "MUG-01", 1, "10.00", "0.00")]),
    (1002, 1, "2026-02-10 12:00:00", None, "paid", "fulfilled", "10.00", "0.00", False,
     [(5003, "MUG-01", 1, "10.00", "0.00")]),
    (1003, 1, "2026-01-05 18:00:00", None, "paid", "fulfilled", "16.00", "0.00", False,
     [(5004, "TEA-01", 2, "8.00", "0.00")]),
    (1004, 2, "2026-03-20 09:30:00", None, "partially_refunded", "fulfilled", "32.00", "2.00", False,
     [(5005, "MUG-01", 1, "10.00", "0.00"), (5006, "TEA-02", 2, "12.00", "2.00")]),
    (1005, 2, "2026-03-25 11:00:00", "2026-03-25 12:00:00", "voided", None, "20.00", "0.00", False,
     [(5007, "MUG-02", 1, "20.00", "0.00")]),
    (1006, 3, "2025-10-01 15:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5008, "TEA-01", 1, "8.00", "0.00")]),
    (1007, 3, "2026-03-30 09:05:00", None, "paid", None, "24.00", "0.00", False,
     [(5009, "TEA-02", 2, "12.00", "0.00")]),
    (1008, 4, "2026-03-15 10:00:00", None, "paid", "fulfilled", "10.00", "0.00", True,
     [(5010, "MUG-01", 1, "10.00", "0.00")]),
    (1009, 4, "2025-12-01 10:00:00", None, "refunded", "fulfilled", "20.00", "0.00", False,
     [(5011, "MUG-02", 1, "20.00", "0.00")]),
    (1010, 5, "2026-03-29 16:00:00", None, "paid", "fulfilled", "12.00", "0.00", False,
     [(5012, "TEA-02", 1, "12.00", "0.00")]),
    (1011, 1, "2026-04-02 10:00:00", None, "paid", None, "10.00", "0.00", False,
     [(5013, "MUG-01", 1, "10.00", "0.00")]),
    (1012, None, "2026-03-27 20:10:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5014, "TEA-01", 1, "8.00", "0.00")]),
    (1013, 2, "2026-03-31 08:00:00", None, "voided", None, "10.00", "0.00", False,
     [(5015, "MUG-01", 1, "10.00", "0.00")]),
    (1014, 7, "2026-03-30 14:00:00", None, "pending", "partial", "20.00", "0.00", False,
     [(5016, "MUG-02", 1, "20.00", "0.00")]),
    # 42 orders half an hour after adding to cart: not an abandoned cart.
    (1042, 42, "2026-03-29 10:30:00", None, "paid", "fulfilled", "10.00", "0.00", False,
     [(5042, "MUG-01", 1, "10.00", "0.00")]),
    # 43: first valid order exactly new_customer_days (30) before as_of_date: not a new customer; the order
    # cancelled after the checkout of 30 March does not rescue that cart, so 43 abandoned it.
    (1043, 43, "2026-03-01 12:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5043, "TEA-01", 1, "8.00", "0.00")]),
    (1044, 43, "2026-03-30 11:05:00", "2026-03-30 11:30:00", "voided", None, "12.00", "0.00", False,
     [(5044, "TEA-02", 1, "12.00", "0.00")]),
    # 44 orders at the very second of adding to cart: "no valid order at or after it" keeps 44 out of
    # abandoned_cart.
    (1045, 44, "2026-03-30 12:00:00", None, "paid", None, "20.00", "0.00", False,
     [(5045, "MUG-02", 1, "20.00", "0.00")]),
    # 45: last valid order 181 days before as_of_date (lapsed); the fully refunded order of March does not
    # make 45 active again.
    (1046, 45, "2025-10-01 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5046, "TEA-01", 1, "8.00", "0.00")]),
    (1047, 45, "2026-03-20 10:00:00", None, "refunded", "fulfilled", "12.00", "0.00", False,
     [(5047, "TEA-02", 1, "12.00", "0.00")]),
    # 46: last valid order exactly lapsed_days (180) before as_of_date: not lapsed.
    (1048, 46, "2025-10-02 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5048, "TEA-01", 1, "8.00", "0.00")]),
    # 47: first valid order 29 days before as_of_date (a new customer); the second order came through an
    # affiliate, the first did not: no advocate.
    (1049, 47, "2026-03-02 00:30:00", None, "paid", "fulfilled", "200.00", "0.00", False,
     [(5049, "MUG-02", 10, "20.00", "0.00")]),
    (1050, 47, "2026-03-20 16:10:00", None, "paid", "fulfilled", "10.00", "0.00", False,
     [(5050, "MUG-01", 1, "10.00", "0.00")]),
    # 49 buys on eBay (E-40); a cancelled shop order and one after as_of_date leave 49 marketplace-only
    # (fulfilled, so the listing feed's open quantities stay as they were).
    (1051, 49, "2026-03-21 10:00:00", "2026-03-21 11:00:00", "voided", None, "10.00", "0.00", False,
     [(5051, "MUG-01", 1, "10.00", "0.00")]),
    (1052, 49, "2026-04-05 10:00:00", None, "paid", "fulfilled", "10.00", "0.00", False,
     [(5052, "MUG-01", 1, "10.00", "0.00")]),
    # 50 buys tea every 14 days (median interval 14) and last did 22 days before as_of_date: more than
    # due_to_reorder_factor (1.5) x 14 = 21 days, so due to reorder.
    (1060, 50, "2026-02-09 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5060, "TEA-01", 1, "8.00", "0.00")]),
    (1061, 50, "2026-02-23 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5061, "TEA-01", 1, "8.00", "0.00")]),
    (1062, 50, "2026-03-09 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5062, "TEA-01", 1, "8.00", "0.00")]),
    # 51 keeps the same 14-day rhythm a day later: exactly 21 days since the last order is not more than
    # 1.5 x 14, so not (yet) due.
    (1063, 51, "2026-02-10 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5063, "TEA-01", 1, "8.00", "0.00")]),
    (1064, 51, "2026-02-24 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5064, "TEA-01", 1, "8.00", "0.00")]),
    (1065, 51, "2026-03-10 10:00:00", None, "paid", "fulfilled", "8.00", "0.00", False,
     [(5065, "TEA-01", 1, "8.00", "0.00")]),
]

# Discount codes the buyer typed at checkout (Shopify's comma-joined discountCodes), by shop order id.
ORDER_DISCOUNT_CODES = {
    # 2's first order carries 1's referral code, in lower case and beside another code: 1 referred 2.
    1004: f"SPRING5, {referral_code(1).lower()}",
    # 5 types their own code: a self-referral credits nobody.
    1010: referral_code(5),
    # 47's second order came through an affiliate link and carries 1's code: the code wins, and 1's rule pays
    # only on first orders.
    1050: referral_code(1),
}

SHOP_REFUNDS = [
    # id, order_id, created_at, line_item_id, quantity, subtotal
    (9001, 1004, "2026-03-22 10:00:00", 5006, 1, "12.00"),
    (9002, 1009, "2025-12-05 10:00:00", 5011, 1, "20.00"),
    (9047, 1047, "2026-03-22 10:00:00", 5047, 1, "12.00"),
]

FILE_ORDERS = [
    # order_id, customer_id, ordered_at, currency, total_price, email, financial_status, cancelled_at,
    # refunded_amount, discount_amount, sku, quantity, line_price, line_number
    ("F-1", "9", "2026-03-10 12:00:00", "EUR", "45.00", None, None, None, None, None, None, None, None, None),
    ("F-2", "7", "2026-02-15 12:00:00", "EUR", "25.00", "frank@example.es", "paid", None, None, "1.00",
     "TEA-01", 2, "8.00", 1),
    ("F-2", "7", "2026-02-15 12:00:00", "EUR", "25.00", "frank@example.es", "paid", None, None, "1.00",
     "MUG-01", 1, "10.00", 2),
    ("F-3", "", "2026-03-01 12:00:00", "EUR", "18.00", " ANNA@example.de", "refunded", None, "18.00", None,
     "TEA-01", 2, "9.00", 1),
    # No rate exists for CHF: held out of every sum and counted in fx_conversion_gaps.
    ("F-4", "12", "2026-03-18 12:00:00", "CHF", "99.00", None, "paid", None, None, None, None, None, None, None),
]

EBAY_ORDERS = [
    # order_id, created, fulfillment, payment, cancel_state, buyer email, total, lines (line id, sku, qty, cost)
    ("E-1", "2026-03-26 08:00:00", "NOT_STARTED", "PAID", "NONE_REQUESTED", "eve@example.at", "30.00",
     [("EL-1", "MUG-02", 1, "20.00"), ("EL-2", "MUG-01", 1, "10.00")]),
    ("E-2", "2026-03-15 08:00:00", "FULFILLED", "PAID", "CANCELED", "unknown@ebay.test", "12.00",
     [("EL-3", "TEA-02", 1, "12.00")]),
    ("E-3", "2026-02-01 08:00:00", "FULFILLED", "PAID", "NONE_REQUESTED", "eve@example.at", "8.00",
     [("EL-4", "TEA-01", 1, "8.00")]),
    ("E-4", "2026-03-12 09:00:00", "FULFILLED", "PAID", "NONE_REQUESTED", "eve@example.at", "42.00",
     [("EL-5", "TEA-02", 3, "42.00")]),
    # Shop customer 49's only valid order (linked by e-mail).
    ("E-40", "2026-03-20 08:00:00", "FULFILLED", "PAID", "NONE_REQUESTED", "olga@example.de", "8.00",
     [("EL-40", "TEA-01", 1, "8.00")]),
]

AMAZON_ORDERS = [
    # order id, purchase date, status, buyer email, total, items (item id, sku, ordered, shipped, price)
    ("A-1", "2026-03-29 07:00:00", "Unshipped", "xyz@marketplace.amazon.de", "24.00",
     [("AI-1", "TEA-02", 2, 0, "24.00")]),
    ("A-2", "2026-03-10 07:00:00", "Canceled", "frank@example.es", "10.00", [("AI-2", "MUG-01", 1, 0, "10.00")]),
    ("A-3", "2026-03-12 07:00:00", "Shipped", "frank@example.es", "10.00", [("AI-3", "MUG-01", 1, 1, "10.00")]),
    # A Saturday: converts at Friday's rate.
    ("A-4", "2026-03-14 11:00:00", "Shipped", "relay@marketplace.amazon.co.uk", "17.00",
     [("AI-4", "TEA-01", 2, 2, "17.00")]),
]

# Marketplace orders not in EUR: (currency, marketplace id).
ORDER_CURRENCIES = {"E-4": ("GBP", "EBAY_GB"), "A-4": ("GBP", "A1F83G8C2ARO7P")}

ERP_STOCK = [
    # sku, on_hand, cost, warehouse, snapshot_at, file
    ("MUG-01", 100, "4.00", "A", "2026-03-01 06:00:00", "erp_stock_20260301.csv"),
    ("MUG-01", 10, "5.00", "A", "2026-03-30 06:00:00", "erp_stock_20260330.csv"),
    ("MUG-01", 5, "5.00", "B", "2026-03-30 06:00:00", "erp_stock_20260330.csv"),
    ("MUG-02", 20, "9.00", "A", "2026-03-30 06:00:00", "erp_stock_20260330.csv"),
    ("TEA-01", 3, "8.50", "A", "2026-03-30 06:00:00", "erp_stock_20260330.csv"),
    ("TEA-02", 50, "4.00", "A", "2026-03-30 06:00:00", "erp_stock_20260330.csv"),
    ("OLD-01", 8, "10.00", "A", "2026-03-30 06:00:00", "erp_stock_20260330.csv"),
]

LISTINGS = [
    ("MUG-01", "ebay", "EB-1", True), ("MUG-01", "amazon", "MUG-01", True), ("MUG-01", "shop", "301", True),
    ("MUG-02", "ebay", "EB-2", True), ("MUG-02", "amazon", "MUG-02-AMZ", False),
    ("TEA-01", "ebay", "EB-3", True), ("TEA-01", "amazon", "TEA-01", True),
    ("TEA-02", "amazon", "TEA-02", True), ("OLD-01", "ebay", "EB-5", True),
]

BUDGET_PLAN = [
    # month, channel, spend, sessions, orders, revenue, currency (None: the reporting currency)
    ("2026-03", "paid_social", "100.00", 10, 2, "200.00", None),
    ("2026-03", "paid_search", "8.50", 5, 1, "34.00", "GBP"),  # 1 March is a Sunday: Friday 27 February's rate
    ("2026-03", "email", "0.00", 4, 1, "30.00", None),
]

PRIVACY_REQUESTS = [("5", "dirk@example.nl", "opt_out", "2026-03-30 10:00:00")]

PARTNER_LISTS = [
    # partner_id, email, consent_basis, allowed_uses, collected_at
    ("partnerblog", " Zoe@Example.org ", "consent", "email|ads", "2026-03-01 10:00:00"),
    ("partnerblog", "yan@example.org", "legitimate_interest", "email | ads", None),
    ("partnerblog", "xia@example.org", "contract", "email|ads", None),
    ("partnerblog", "wil@example.org", "consent", "email", None),
    # Opted out with the merchant: used nowhere, whatever the partner says.
    ("partnerblog", "dirk@example.nl", "consent", "email|ads", None),
    # Listed twice by one partner: used only as both rows allow (ads need consent: nothing is left).
    ("Coop-Shop", "vic@example.org", "consent", "ads", None),
    ("coop-shop", "VIC@example.org", "legitimate_interest", "ads", None),
]

META_INSIGHTS = [
    # account (digits: the extractor drops Meta's "act_"), campaign, name, date, impressions, clicks, spend,
    # purchases, purchase value, account currency
    (1, 111, "Spring Sale", "2026-03-28", 1000, 40, "50.00", 1, "30.00", "EUR"),
    (1, 111, "Spring Sale", "2026-03-29", 500, 10, "20.00", 0, "0.00", "EUR"),
    # A UK account on a Saturday: Friday 27 March's rate, which a merchant's fx_rates file overrides.
    (2, 112, "Spring Sale UK", "2026-03-28", 400, 8, "30.00", 0, "0.00", "GBP"),
]

# ECB rates per working day (units per EUR) from September 2025 to April 2026: GBP 0.85 and USD 1.10, except
# these days, chosen so a conversion at the wrong day's rate shows.
ECB_RATE_DAYS = (date(2025, 9, 1), date(2026, 4, 10))
ECB_RATES = {"GBP": "0.85", "USD": "1.10"}
ECB_RATE_EXCEPTIONS = {
    ("GBP", "2026-03-12"): "0.84",
    ("GBP", "2026-03-13"): "0.85",
    ("GBP", "2026-03-16"): "0.86",
}
# A merchant's own rate (fx_rates_*.csv): overrides the ECB's 0.85 of that Friday.
FILE_FX_RATES = [("2026-03-27", "GBP", "0.80")]

GOOGLE_STATS = [
    # customer, campaign, name, date, impressions, clicks, cost_micros, conversions, value
    (1234567890, 222, "Brand Search", "2026-02-09", 300, 20, 12_340_000, 1.0, 10.0),
    (1234567890, 222, "Brand Search", "2026-03-30", 100, 5, 5_500_000, 1.0, 20.0),
]

# Campaign settings (raw.meta_campaigns, meta_ad_sets, google_ads_campaigns, google_ads_campaign_criteria):
# Spring Sale targets a website custom audience (remarketing: that rule comes before its traffic objective's),
# Spring Sale UK has the leads objective (prospecting), Brand Search has no settings rule and is brand by its
# name.
META_CAMPAIGNS = [
    # account, campaign, name, objective, status, created, updated
    (1, 111, "Spring Sale", "OUTCOME_TRAFFIC", "ACTIVE", "2026-03-01 09:00:00", "2026-03-20 09:00:00"),
    (2, 112, "Spring Sale UK", "OUTCOME_LEADS", "ACTIVE", "2026-03-01 09:00:00", "2026-03-20 09:00:00"),
]
META_AD_SETS = [
    # account, ad set, campaign, name, custom audience ids, names
    (1, 1111, 111, "Visitors 30d", "9001", "Website visitors 30d"),
    (2, 1121, 112, "Broad UK", None, None),
]
GOOGLE_CAMPAIGNS = [
    # customer, campaign, name, status, channel type, sub type, bidding
    (1234567890, 222, "Brand Search", "ENABLED", "SEARCH", None, "TARGET_IMPRESSION_SHARE"),
]

# GA4 events whose items array names the product of their page.
PRODUCT_EVENTS = {"view_item", "add_to_cart", "add_to_wishlist"}

# GA4 sessions: (user_pseudo_id, user_id, ga_session_id or None, source, medium, campaign, gclid, events)
# events: (timestamp, event_name, page_location, transaction_id, revenue)
SESSIONS = [
    ("u1", "1", "2026-03-27 09:00:00", "(direct)", "(none)", None, None,
     [("2026-03-27 09:00:00", "page_view", "https://shop.example/", None, None)]),
    ("u1", "1", "2026-03-28 10:00:00", "facebook", "cpc", "Spring Sale", None,
     [("2026-03-28 10:00:00", "page_view", "https://shop.example/mugs?utm_source=facebook", None, None),
      ("2026-03-28 10:02:00", "view_item", "https://shop.example/p/mug-02", None, None),
      ("2026-03-28 10:03:00", "add_to_cart", "https://shop.example/p/mug-02", None, None),
      ("2026-03-28 10:05:00", "purchase", "https://shop.example/thanks", "1001", 30.0)]),
    ("u1", "1", "2026-02-09 20:00:00", "google", "cpc", "Brand Search", None,
     [("2026-02-09 20:00:00", "page_view", "https://shop.example/?gclid=x", None, None)]),
    ("u1", "1", "2026-02-10 11:50:00", "(direct)", "(none)", None, None,
     [("2026-02-10 11:50:00", "page_view", "https://shop.example/", None, None),
      ("2026-02-10 12:00:00", "purchase", "https://shop.example/thanks", "1002", 10.0)]),
    ("u2", "2", "2026-03-20 09:00:00", "newsletter", "email", "march", None,
     [("2026-03-20 09:00:00", "page_view", "https://shop.example/tea", None, None),
      ("2026-03-20 09:30:00", "purchase", "https://shop.example/thanks", "#1004", 32.0)]),
    ("u3", "3", "2025-09-30 18:00:00", "partnerblog", "affiliate", None, None,
     [("2025-09-30 18:00:00", "page_view", "https://shop.example/tea", None, None)]),
    ("u7", "7", "2026-03-30 13:50:00", None, None, "Brand Search", "gclid-abc",
     [("2026-03-30 13:50:00", "page_view", "https://shop.example/mugs", None, None),
      ("2026-03-30 14:00:00", "purchase", "https://shop.example/thanks", "1014", 20.0)]),
    ("u8", "8", "2026-03-30 19:00:00", "newsletter", "email", "march", None,
     [("2026-03-30 19:00:00", "view_item", "https://shop.example/p/tea-01", None, None),
      ("2026-03-30 19:01:00", "view_item", "https://shop.example/p/tea-02", None, None),
      ("2026-03-30 19:02:00", "view_item", "https://shop.example/p/mug-01", None, None),
      ("2026-03-30 19:03:00", "add_to_cart", "https://shop.example/p/mug-01", None, None),
      ("2026-03-30 19:04:00", "view_search_results", "https://shop.example/search?q=Black+tea", None, None),
      ("2026-03-30 19:05:00", "view_item", "https://shop.example/p/tea-01?utm_source=search#reviews", None, None),
      ("2026-03-30 19:06:00", "generate_lead", "https://shop.example/contact", None, None)]),
    ("u9", None, "2026-03-29 21:00:00", "instagram", "paid", "Spring Sale", None,
     [("2026-03-29 21:00:00", "page_view", "https://shop.example/", None, None),
      ("2026-03-29 21:01:00", "view_item", "https://shop.example/p/mug-01", None, None),
      # A lead from the paid session: GA4's recommended sign_up event.
      ("2026-03-29 21:02:00", "sign_up", "https://shop.example/account/register", None, None)]),
    ("u10", None, "2026-03-27 20:00:00", "blog.example.com", "referral", None, None,
     [("2026-03-27 20:00:00", "page_view", "https://shop.example/tea", None, None),
      ("2026-03-27 20:10:00", "purchase", "https://shop.example/thanks", "1012", 8.0)]),
    # 40 views products on 24 March (browse_abandon_days and high_intent_days before as_of_date: outside both
    # windows) and twice on 29 March, never adds to cart nor buys: a browse abandoner without high intent.
    ("u40", "40", "2026-03-24 09:00:00", "(direct)", "(none)", None, None,
     [("2026-03-24 09:00:00", "view_item", "https://shop.example/p/tea-01", None, None)]),
    ("u40", "40", "2026-03-29 09:00:00", "(direct)", "(none)", None, None,
     [("2026-03-29 09:00:00", "view_item", "https://shop.example/p/tea-01", None, None),
      ("2026-03-29 09:01:00", "view_item", "https://shop.example/p/tea-02", None, None)]),
    # 41 begins a checkout abandoned_cart_days (3) before as_of_date (outside that window) and views a product
    # later: the checkout keeps 41 out of browse_abandoner, the window out of abandoned_cart.
    ("u41", "41", "2026-03-28 12:00:00", "(direct)", "(none)", None, None,
     [("2026-03-28 12:00:00", "begin_checkout", "https://shop.example/checkout", None, None)]),
    ("u41", "41", "2026-03-29 12:00:00", "(direct)", "(none)", None, None,
     [("2026-03-29 12:00:00", "view_item", "https://shop.example/p/mug-01", None, None)]),
    # 42 adds to cart and orders (shop order 1042) half an hour later.
    # 42 arrived through 6's referral link, so 6 referred 42.
    ("u42", "42", "2026-03-29 10:00:00", "(direct)", "(none)", None, None,
     [("2026-03-29 10:00:00", "add_to_cart", f"https://shop.example/p/mug-01?ref={referral_code(6)}", None, None)]),
    # 43 begins a checkout; the order that follows (1044) was cancelled.
    ("u43", "43", "2026-03-30 11:00:00", "(direct)", "(none)", None, None,
     [("2026-03-30 11:00:00", "begin_checkout", "https://shop.example/checkout", None, None)]),
    # 44 adds to cart in the same second as order 1045.
    ("u44", "44", "2026-03-30 11:59:00", "(direct)", "(none)", None, None,
     [("2026-03-30 12:00:00", "add_to_cart", "https://shop.example/p/mug-02", None, None)]),
    # 47's second order (1050) came from an affiliate's link.
    ("u47", "47", "2026-03-20 16:00:00", "partnerblog", "affiliate", None, None,
     [("2026-03-20 16:00:00", "page_view", "https://shop.example/mugs", None, None)]),
    # 52 comes back weekly, two pages a visit (engaged sessions), four times in the last 30 days: exactly
    # frequent_browser_min_sessions_30d (4), a frequent browser. 53 visits as often, but the first visit falls
    # exactly 30 days before as_of_date, outside the window: three sessions, not a frequent browser.
    *[(user, user[1:], f"{day} 18:00:00", "(direct)", "(none)", None, None,
       [(f"{day} 18:00:00", "page_view", "https://shop.example/", None, None),
        (f"{day} 18:02:00", "page_view", "https://shop.example/tea", None, None)])
      for user, days in (("u52", ("2026-03-05", "2026-03-12", "2026-03-19", "2026-03-26")),
                         ("u53", ("2026-03-01", "2026-03-10", "2026-03-17", "2026-03-24")))
      for day in days],
]

# Browser u3 sends no ga_session_id: the 30-minute rule must split these events into two sessions.
SESSIONLESS_EVENTS = [
    # user_pseudo_id, user_id, timestamp, name, source, medium, page, transaction
    ("u3", "3", "2026-03-30 08:00:00", "page_view", "google", "organic", "https://shop.example/", None),
    ("u3", "3", "2026-03-30 08:10:00", "view_item", None, None, "https://shop.example/p/tea-02", None),
    ("u3", "3", "2026-03-30 09:00:00", "page_view", None, None, "https://shop.example/tea", None),
    ("u3", "3", "2026-03-30 09:05:00", "purchase", None, None, "https://shop.example/thanks", "1007"),
]


def _event_key(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()


def _ga4_rows(sessions: list[tuple]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """raw.ga4_events, ga4_event_params and ga4_event_items as the loader flattens the export: a product event's
    items array holds the product of its page (/p/<sku>), and GA4's enhanced measurement sets a search results
    page's search_term param from the URL's q parameter."""
    events: list[tuple] = []
    params: list[tuple] = []
    items: list[tuple] = []

    def product_and_search(key: str, day: date, name: str, page: str) -> None:
        url = urlsplit(page)
        if name in PRODUCT_EVENTS and url.path.startswith("/p/"):
            sku = url.path.removeprefix("/p/").upper()
            title, category, price = next((p[2], p[3], p[4]) for p in PRODUCTS if p[1] == sku)
            items.append((key, day, 1, sku, title, category, float(price), 1))
        if name == "view_search_results" and (term := parse_qs(url.query).get("q")):
            params.append((key, day, "search_term", term[0], None, None))

    for user, user_id, started, source, medium, campaign, gclid, session_events in sessions:
        session_id = _epoch_seconds(started)
        for ts, name, page, transaction, revenue in session_events:
            key = _event_key(user, ts, name)
            day = date.fromisoformat(ts[:10])
            events.append((key, day, _micros(ts), name, user, user_id, source, medium, campaign, gclid, source,
                           medium, "Germany", "Bavaria", "Munich", "desktop", transaction, revenue))
            params.append((key, day, "ga_session_id", None, session_id, None))
            params.append((key, day, "ga_session_number", None, 1, None))
            params.append((key, day, "page_location", page, None, None))
            product_and_search(key, day, name, page)
    for user, user_id, ts, name, source, medium, page, transaction in SESSIONLESS_EVENTS:
        key = _event_key(user, ts, name)
        day = date.fromisoformat(ts[:10])
        events.append((key, day, _micros(ts), name, user, user_id, source, medium, None, None, source, medium,
                       "France", "Ile-de-France", "Paris", "mobile", transaction, None))
        params.append((key, day, "page_location", page, None, None))
        product_and_search(key, day, name, page)
    return events, params, items


def _ecb_rates() -> list[tuple]:
    """raw.fx_rates as the ECB source loads it: every working day (no weekend rows), rate per EUR."""
    out, day = [], ECB_RATE_DAYS[0]
    while day <= ECB_RATE_DAYS[1]:
        if day.weekday() < 5:
            for currency, rate in ECB_RATES.items():
                out.append((day, currency, ECB_RATE_EXCEPTIONS.get((currency, day.isoformat()), rate), "ecb"))
        day += timedelta(days=1)
    return out


def rows(extra: dict[str, list[tuple]] | None = None) -> dict[str, list[tuple]]:
    """Every raw table's rows (contract columns only, in contract order).

    ``extra`` adds scenario rows to the lists above, by list name ('CUSTOMERS', 'FILE_ORDERS', ...), in the
    same tuple layouts: a test of its own rules writes a few rows on top of this scenario.
    """
    extra = extra or {}
    known = {"CUSTOMERS", "SHOP_ORDERS", "FILE_ORDERS", "EBAY_ORDERS", "AMAZON_ORDERS", "PRIVACY_REQUESTS", "SESSIONS"}
    if unknown := set(extra) - known:
        raise ValueError(f"no scenario list named {sorted(unknown)}")
    customers = CUSTOMERS + extra.get("CUSTOMERS", [])
    out: dict[str, list[tuple]] = {name: [] for name in RAW_TABLES}
    for cid, email, phone, first, last, accepts, state, country, province, city in customers:
        consent = CONSENT_UPDATED_AT.get(cid)
        out["shop_customers"].append((cid, email, phone, first, last, accepts, state, country, province, city,
                                      _ts("2025-01-01 00:00:00"), _ts("2026-03-01 00:00:00"), None,
                                      _ts(consent) if consent else None))
    for pid, sku, title, category, price, compare_at, status in PRODUCTS:
        out["shop_products"].append((pid, pid + 100, pid + 200, sku, title, category, "Acme", price, compare_at,
                                     status, _ts("2025-01-01 00:00:00"), _ts("2026-01-01 00:00:00")))
    for oid, cust, created, cancelled, fin, fulfil, subtotal, discounts, test, lines in (
            SHOP_ORDERS + extra.get("SHOP_ORDERS", [])):
        email = next((c[1] for c in customers if c[0] == cust), None)
        total = f"{float(subtotal) * 1.19 + 4.90:.2f}"
        out["shop_orders"].append((oid, oid, cust, email, _ts(created), _ts(created), _ts(created),
                                   _ts(cancelled) if cancelled else None, fin, fulfil, "EUR", subtotal, discounts,
                                   f"{float(subtotal) * 0.19:.2f}", "4.90", total, ORDER_DISCOUNT_CODES.get(oid), test, "web", "/", None,
                                   "DE", "EUR", total))
        for line_id, sku, qty, price, line_discount in lines:
            product_id = next(p[0] for p in PRODUCTS if p[1] == sku)
            out["shop_order_lines"].append((line_id, oid, product_id, product_id + 100, sku, sku, qty, price,
                                            line_discount))
    for rid, oid, created, line_id, qty, subtotal in SHOP_REFUNDS:
        out["shop_refunds"].append((rid, oid, _ts(created), line_id, qty, subtotal))
    for row in FILE_ORDERS + extra.get("FILE_ORDERS", []):
        # A row may end with the order's accepts_marketing; by default the file states no consent.
        oid, cust, ordered, currency, total, email, fin, cancelled, refunded, discount, sku, qty, price, line, *consent = row
        out["file_orders"].append((oid, cust, _ts(ordered), currency, total, email, fin, cancelled, refunded,
                                   discount, sku, qty, price, line, consent[0] if consent else None,
                                   "orders_export_2026.csv"))
    for oid, created, fulfil, payment, cancel, email, total, lines, *buyer in (
            EBAY_ORDERS + extra.get("EBAY_ORDERS", [])):
        # A row may name its buyer's username; by default every order has a buyer of its own.
        username = buyer[0] if buyer else "buyer-" + oid
        currency, market = ORDER_CURRENCIES.get(oid, ("EUR", "EBAY_DE"))
        out["ebay_orders"].append((oid, _ts(created), _ts(created), fulfil, payment, cancel, username, email,
                                   total, currency, market))
        for line_id, sku, qty, cost in lines:
            out["ebay_order_lines"].append((line_id, oid, sku, qty, cost, fulfil))
    for oid, purchased, status, email, total, items in AMAZON_ORDERS + extra.get("AMAZON_ORDERS", []):
        currency, market = ORDER_CURRENCIES.get(oid, ("EUR", "A1PA6795UKMFR9"))
        out["amazon_orders"].append((oid, _ts(purchased), _ts(purchased), status, market, email, total, currency))
        for item_id, sku, ordered, shipped, price in items:
            out["amazon_order_items"].append((item_id, oid, sku, ordered, shipped, price))
    for sku, on_hand, cost, warehouse, snapshot, file_name in ERP_STOCK:
        out["file_erp_stock"].append((sku, on_hand, cost, warehouse, _ts(snapshot), file_name))
    for sku, marketplace, listing_id, enabled in LISTINGS:
        out["file_marketplace_listings"].append((sku, marketplace, listing_id, enabled, "marketplace_listings.csv"))
    for month, channel, spend, sessions, orders, revenue, currency in BUDGET_PLAN:
        out["file_budget_plan"].append((month, channel, spend, sessions, orders, revenue, currency,
                                        "budget_plan_2026.csv"))
    for line, (cid, email, kind, requested) in enumerate(PRIVACY_REQUESTS + extra.get("PRIVACY_REQUESTS", []),
                                                          start=2):
        out["file_privacy_requests"].append((cid, email, kind, _ts(requested), line, "privacy_requests_20260330.csv"))
    for line, (partner, email, basis, uses, collected) in enumerate(PARTNER_LISTS, start=2):
        out["file_partner_lists"].append((partner, email, basis, uses, _ts(collected) if collected else None, line,
                                          "partner_list_2026-03.csv"))
    for account, campaign, name, day, imps, clicks, spend, purchases, value, currency in META_INSIGHTS:
        d = date.fromisoformat(day)
        out["meta_ad_insights"].append((account, campaign, name, d, d, imps, clicks, spend, purchases, value,
                                        currency))
    out["fx_rates"] = _ecb_rates()
    for day, currency, rate in FILE_FX_RATES:
        out["file_fx_rates"].append((date.fromisoformat(day), currency, rate, "fx_rates_2026-03.csv"))
    for customer, campaign, name, day, imps, clicks, micros, conversions, value in GOOGLE_STATS:
        out["google_ads_campaign_stats"].append((customer, campaign, name, date.fromisoformat(day), imps, clicks,
                                                 micros, conversions, value))
    for event_id, metric, profile, email, list_name, subscribed in KLAVIYO_SIGNUPS:
        out["klaviyo_subscription_events"].append((event_id, KLAVIYO_METRIC_IDS[metric], metric, profile, email,
                                                   list_name, _ts(subscribed)))
    for account, campaign, name, objective, status, created, updated in META_CAMPAIGNS:
        out["meta_campaigns"].append((account, campaign, name, objective, status, status, "AUCTION", _ts(created),
                                      _ts(updated)))
    for account, adset, campaign, name, audience_ids, audience_names in META_AD_SETS:
        out["meta_ad_sets"].append((account, adset, campaign, name, "ACTIVE", audience_ids, audience_names, None,
                                    _ts("2026-03-20 09:00:00")))
    for customer, campaign, name, status, channel_type, sub_type, bidding in GOOGLE_CAMPAIGNS:
        out["google_ads_campaigns"].append((customer, campaign, name, status, channel_type, sub_type, bidding))
    out["ga4_events"], out["ga4_event_params"], out["ga4_event_items"] = _ga4_rows(
        SESSIONS + extra.get("SESSIONS", []))
    return out


def write_rows(con: duckdb.DuckDBPyConnection, table: str, table_rows: list[tuple]) -> None:
    """Create raw.<table> from the contract and insert rows (audit columns filled in)."""
    con.execute(create_table_sql(table))
    width = len(RAW_TABLES[table])
    names = ", ".join(f'"{name}"' for name in columns(table))
    placeholders = ", ".join(["?"] * (width + 3))
    for row in table_rows:
        if len(row) != width:
            raise ValueError(f"raw.{table}: row has {len(row)} values, the contract has {width} columns: {row!r}")
    if table_rows:
        con.executemany(
            f"insert into raw.{table} ({names}) values ({placeholders})",
            [(*row, "fixture-batch", LOADED_AT, "fixture") for row in table_rows],
        )


def build(path: Path, extra: dict[str, list[tuple]] | None = None) -> Path:
    """Write the fixture warehouse (plus ``extra`` scenario rows, see rows()) to ``path``, replacing it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists raw")
        for table, table_rows in rows(extra).items():
            write_rows(con, table, table_rows)
    return path
