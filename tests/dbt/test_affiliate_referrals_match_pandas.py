"""The referral programme on the fixture warehouse: each order's referrer and commission (int_order_referrals),
affiliate_performance per partner and day, and the partner lists' consent rules, against an independent pandas
recomputation and the fixture rows written for each rule."""

from __future__ import annotations

from collections.abc import Callable

import dbt_affiliate_reference as affiliate
import dbt_fixture_warehouse as fixture
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e  # reads the session's `dbt build` of the fixture warehouse

ReadTable = Callable[[str], pd.DataFrame]
PERFORMANCE = ["sessions", "orders", "new_customers", "revenue", "commission"]


def _rounded(value: object) -> float | None:
    return None if pd.isna(value) else round(float(value), 2)


def test_each_orders_referrer_and_commission_match_pandas(read_table: ReadTable) -> None:
    # GIVEN the referrals recomputed with pandas from the documented precedence and the commission seed
    expected = {r.order_key: (r.partner_type, r.partner_id, _rounded(r.commission))
                for r in affiliate.order_referrals(read_table).itertuples()}
    # WHEN reading int_order_referrals
    actual = {r.order_key: (r.partner_type, r.partner_id, _rounded(r.commission_reporting))
              for r in read_table("int_order_referrals").itertuples()}
    # THEN the same orders are credited to the same partner at the same commission
    assert actual == expected
    assert {"customer_referral", "affiliate_partner"} <= {v[0] for v in expected.values()}


@pytest.mark.parametrize("column", PERFORMANCE)
def test_affiliate_performance_per_partner_and_day_matches_pandas(read_table: ReadTable, column: str) -> None:
    expected = affiliate.performance(read_table).set_index(["date_day", "partner_type", "partner_id"])[column]
    mart = read_table("affiliate_performance")
    mart["date_day"] = pd.to_datetime(mart["date_day"]).dt.date
    actual = mart.set_index(["date_day", "partner_type", "partner_id"])[column]
    assert {k: _rounded(v) for k, v in actual.items()} == {k: _rounded(v) for k, v in expected.items()}
    assert (mart["cost"] == mart["commission"]).all()


@pytest.mark.parametrize(
    ("order_key", "partner_id", "evidence", "commission"),
    [
        pytest.param("shop:1004", "customer:1", "discount_code", 2.00,
                     id="a friend's code typed in lower case beside another code credits the friend, 10 percent"),
        pytest.param("shop:1042", "customer:6", "referral_link", 1.00,
                     id="a landing page with a referral code credits its owner"),
        pytest.param("shop:1050", "customer:1", "discount_code", 0.00,
                     id="a code beats the affiliate link; a first-order-only rule pays nothing on a repeat order"),
        pytest.param("shop:1006", "partnerblog", "affiliate_utm", 0.64,
                     id="an affiliate session credited by the attribution credits its utm_source at 8 percent"),
    ],
)
def test_fixture_orders_are_credited_as_written(
    read_table: ReadTable, order_key: str, partner_id: str, evidence: str, commission: float
) -> None:
    referrals = read_table("int_order_referrals").set_index("order_key")
    assert (referrals.loc[order_key, "partner_id"], referrals.loc[order_key, "evidence"]) == (partner_id, evidence)
    assert float(referrals.loc[order_key, "commission_reporting"]) == pytest.approx(commission)


def test_a_buyers_own_referral_code_credits_nobody(read_table: ReadTable) -> None:
    # 5 typed their own code on order 1010 and has no session: no referrer at all
    assert fixture.ORDER_DISCOUNT_CODES[1010] == fixture.referral_code(5)
    assert "shop:1010" not in set(read_table("int_order_referrals")["order_key"])
    assert not (read_table("affiliate_performance")["partner_id"] == "customer:5").any()


def test_referral_codes_are_keyed_hashes_published_only_with_email_consent(read_table: ReadTable) -> None:
    codes = read_table("customer_referral_codes").set_index("customer_id")
    assert codes.loc["1", "referral_code"] == fixture.referral_code(1)
    assert codes.loc["1", "referral_link"].endswith("?ref=" + fixture.referral_code(1))
    assert int(codes.loc["1", "referred_orders"]) == 2 and int(codes.loc["1", "referred_customers"]) == 1
    # 3 is not subscribed to e-mail, 4 unsubscribed, 5 opted out: no published code
    assert not {"3", "4", "5"} & set(codes.index)
    assert not codes["referral_code"].str.contains("@").any()


def test_advocates_are_referrers_and_consenting_top_customers_who_have_not_referred(read_table: ReadTable) -> None:
    segments = read_table("customer_segments")
    referrers = set(segments.loc[segments["segment"] == "referrer", "customer_id"])
    candidates = set(segments.loc[segments["segment"] == "advocate_candidate", "customer_id"])
    assert referrers == {"1", "6"}
    assert candidates and not candidates & referrers
    members = read_table("audience_members")
    advocates = members[members["audience_id"] == "advocates"]
    assert set(advocates["customer_id"]) == referrers | candidates
    assert advocates["referral_code"].notna().all()


def test_partner_contacts_reach_ad_audiences_only_on_a_consent_basis(read_table: ReadTable) -> None:
    listed = read_table("raw.file_partner_lists")
    listed["email_normalized"] = listed["email"].str.strip().str.lower()
    members = read_table("partner_audience_members")
    ads = set(members.loc[members["email_sha256"].notna(), "contact_key"])
    consent = listed[(listed["consent_basis"] == "consent") & listed["allowed_uses"].str.contains("ads")]
    assert {fixture.hashlib.sha256(e.encode()).hexdigest() for e in consent["email_normalized"]} >= ads
    assert set(members.loc[members["email_sha256"].notna(), "email"]) == {"zoe@example.org"}
    assert set(members["email"].dropna()) == {"zoe@example.org", "yan@example.org", "wil@example.org"}
    # contract basis, an opt-out, and a contact whose rows disagree are used nowhere
    assert not {"xia@example.org", "dirk@example.nl", "vic@example.org"} & set(members["email"].dropna())
    assert len(members) == 3
