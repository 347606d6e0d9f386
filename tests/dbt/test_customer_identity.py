"""Customer identity on a merchant's own keys: order-file ids kept as text, buyers linked across the shop, order
files and marketplaces only by documented evidence, marketplace relay e-mails never linking or activated.

The scenario adds hand-written rows to the fixture warehouse: a shop customer 17 and order-file ids 'C-17',
'00017', '17', '17.0', 'c-17' and 'Kü-17' in two unicode spellings; a file buyer tied to 17 by e-mail; a shop
customer whose only e-mail is an Amazon relay address that an Amazon order and a file row also carry; Amazon and
eBay buyers known to their marketplace only; GA4 logins as '17' and '00017'; privacy requests by text keys.
Marketing consent as the order file states it: file-only buyers 'W-1' (no, then yes), 'W-2' (yes, then no, then
an order saying nothing) and 'W-3' (yes, then an order saying nothing), and shop customers 30 and 31 whose file
orders contradict Shopify. Their orders are from mid-2025, so each is 'lapsed', a segment with an audience.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import dbt_fixture_warehouse as fixture
import dbt_pandas_reference as reference
import duckdb
import pandas as pd
import pytest
from dbt_invocation import run_dbt

pytestmark = pytest.mark.e2e  # one `dbt build` of the whole project on its own warehouse

ReadTable = Callable[[str], pd.DataFrame]
RELAY = "q7x2k@marketplace.amazon.co.uk"
KU_NFC = unicodedata.normalize("NFC", "Kü-17")
KU_NFD = unicodedata.normalize("NFD", "Kü-17")
NO_LINE = (None, None, None, None, None, None, None, None)


def file_order(order_id: str, customer_id: str, day: str, total: str, email: str | None = None) -> tuple:
    return (order_id, customer_id, f"2026-03-{day} 12:00:00", "EUR", total, email, *NO_LINE)


def consent_order(order_id: str, customer_id: str, at: str, email: str, accepts: bool | None) -> tuple:
    """A file order stating the buyer's marketing consent (``None``: the cell is empty)."""
    return (order_id, customer_id, at, "EUR", "20.00", email, *NO_LINE, accepts)


def page_view(user: str, user_id: str, at: str) -> tuple:
    return (user, user_id, at, "(direct)", "(none)", None, None, [(at, "page_view", "https://shop.example/", None, None)])


IDENTITY_ROWS: dict[str, list[tuple]] = {
    "CUSTOMERS": [
        (17, "hanna@example.de", "+49 160 1111111", "Hanna", "H", True, "subscribed", "DE", "Hesse", "Frankfurt"),
        # Imported from Amazon into the shop: the only address on file is Amazon's relay.
        (18, RELAY, None, "Quinn", "Q", True, "subscribed", "GB", "England", "London"),
        (19, "ivo@example.de", None, "Ivo", "I", True, "subscribed", "DE", "Bavaria", "Munich"),
        (30, "sam@example.de", None, "Sam", "S", False, "unsubscribed", "DE", "Saxony", "Leipzig"),
        (31, "tia@example.de", None, "Tia", "T", True, "subscribed", "DE", "Saxony", "Dresden"),
    ],
    "SHOP_ORDERS": [
        (1017, 17, "2026-03-05 10:00:00", None, "paid", "fulfilled", "10.00", "0.00", False,
         [(5017, "MUG-01", 1, "10.00", "0.00")]),
    ],
    "FILE_ORDERS": [
        file_order("F-17", "C-17", "02", "11.00"),
        file_order("F-18", "00017", "03", "12.00"),
        file_order("F-19", "17", "04", "13.00"),
        file_order("F-20", "17.0", "06", "14.00"),
        file_order("F-21", "c-17", "07", "15.00"),
        file_order("F-22", KU_NFC, "08", "16.00"),
        file_order("F-23", KU_NFD, "09", "17.00"),
        file_order("F-24", "C-20", "10", "18.00", " Hanna@Example.DE "),
        file_order("F-25", "C-21", "11", "19.00", RELAY),
        file_order("F-26", "K-19", "12", "9.00", "IVO@example.de"),
        consent_order("F-40", "W-1", "2025-06-01 12:00:00", "wanda@example.de", False),
        consent_order("F-41", "W-1", "2025-07-01 12:00:00", "wanda@example.de", True),
        consent_order("F-42", "W-2", "2025-06-01 12:00:00", "wim@example.de", True),
        consent_order("F-43", "W-2", "2025-07-01 12:00:00", "wim@example.de", False),
        consent_order("F-44", "W-2", "2025-07-10 12:00:00", "wim@example.de", None),
        consent_order("F-45", "W-3", "2025-06-01 12:00:00", "wes@example.de", True),
        consent_order("F-46", "W-3", "2025-07-10 12:00:00", "wes@example.de", None),
        consent_order("F-47", "30", "2025-07-01 12:00:00", "sam@example.de", True),
        consent_order("F-48", "31", "2025-07-01 12:00:00", "tia@example.de", False),
    ],
    "AMAZON_ORDERS": [
        ("A-10", "2026-03-15 07:00:00", "Shipped", RELAY, "8.00", [("AI-10", "TEA-01", 1, 1, "8.00")]),
        ("A-11", "2026-03-16 07:00:00", "Shipped", "zz9@marketplace.amazon.com", "12.00",
         [("AI-11", "TEA-02", 1, 1, "12.00")]),
        ("A-12", "2026-03-20 07:00:00", "Shipped", "ZZ9@marketplace.amazon.com", "10.00",
         [("AI-12", "MUG-01", 1, 1, "10.00")]),
    ],
    # eBay masks the e-mail of older orders ('Invalid Request'); the username still names the buyer.
    "EBAY_ORDERS": [
        ("E-10", "2026-03-18 08:00:00", "FULFILLED", "PAID", "NONE_REQUESTED", "Invalid Request", "8.00",
         [("EL-10", "TEA-01", 1, "8.00")], "bidder99"),
        ("E-11", "2026-03-22 08:00:00", "FULFILLED", "PAID", "NONE_REQUESTED", "Invalid Request", "10.00",
         [("EL-11", "MUG-01", 1, "10.00")], "bidder99"),
    ],
    "PRIVACY_REQUESTS": [
        ("00017", None, "delete", "2026-03-30 11:00:00"),
        ("K-19", None, "opt_out", "2026-03-30 12:00:00"),
    ],
    "SESSIONS": [
        page_view("u-17", "17", "2026-03-29 10:00:00"),
        page_view("u-00017", "00017", "2026-03-29 11:00:00"),
    ],
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory, dbt_target_path: Path) -> Iterator[ReadTable]:
    warehouse = fixture.build(tmp_path_factory.mktemp("identity") / "warehouse.duckdb", IDENTITY_ROWS)
    run_dbt(["build"], warehouse=warehouse, target_path=dbt_target_path, as_of_date=fixture.AS_OF_DATE)
    con = duckdb.connect(str(warehouse), read_only=True)

    def read_table(name: str) -> pd.DataFrame:
        return con.sql(f"select * from {name if '.' in name else 'main.' + name}").df()

    yield read_table
    con.close()


def order_customer(read: ReadTable, order_key: str) -> object:
    orders = read("int_orders").set_index("order_key")
    return orders.loc[order_key, "customer_id"]


def test_order_file_ids_are_customers_exactly_as_the_file_writes_them(read: ReadTable) -> None:
    rfm = read("customer_rfm").set_index("customer_id")
    # GIVEN file ids that a BIGINT cast would merge or drop
    # THEN each is a customer of its own, with its one order
    for key, monetary in [("C-17", 11), ("00017", 12), ("17.0", 14), ("c-17", 15), (KU_NFC, 16), (KU_NFD, 17)]:
        assert rfm.loc[key, "frequency"] == 1, key
        assert float(rfm.loc[key, "monetary"]) == monetary, key
    # AND '17' is the shop's customer 17: its shop order, the file order under '17' and the one linked by e-mail
    assert rfm.loc["17", "frequency"] == 3 and float(rfm.loc["17", "monetary"]) == 41.0
    assert KU_NFC != KU_NFD


def test_identity_links_name_the_evidence_for_each_record(read: ReadTable) -> None:
    links = read("customer_identity_links").set_index(["source", "key_kind", "source_key"])
    assert tuple(links.loc[("file", "merchant_customer_id", "17"), ["customer_id", "linked_by"]]) == ("17", "shop_id")
    assert tuple(links.loc[("file", "merchant_customer_id", "C-20"), ["customer_id", "linked_by"]]) == ("17", "email_address")
    assert tuple(links.loc[("file", "merchant_customer_id", "00017"), ["customer_id", "linked_by"]]) == (
        "00017", "own_key")
    assert tuple(links.loc[("shop", "shop_customer_id", "17"), ["customer_id", "linked_by"]]) == ("17", "own_key")
    # AND the order file's rows follow their records
    assert order_customer(read, "file:F-24") == "17"
    assert order_customer(read, "file:F-18") == "00017"


def test_a_marketplace_relay_email_links_nobody_and_is_never_activated(read: ReadTable) -> None:
    # GIVEN shop customer 18, an Amazon order and a file row that all carry the same Amazon relay address
    # THEN neither the Amazon buyer nor the file buyer becomes customer 18
    assert order_customer(read, "amazon:A-10") == "amazon:" + sha256(RELAY)
    assert order_customer(read, "file:F-25") == "C-21"
    # AND no customer carries the relay address as an identifier, so 18 (consenting, in segment geo:GB) is in
    # no audience
    customers = read("int_customers").set_index("customer_id")
    assert pd.isna(customers.loc["18", "email_normalized"]) and pd.isna(customers.loc["C-21", "email_normalized"])
    assert not customers["email_normalized"].fillna("").str.contains("marketplace.amazon").any()
    segments = read("customer_segments")
    assert "geo:GB" in set(segments.loc[segments["customer_id"] == "18", "segment"])
    members = read("audience_members")
    assert "18" not in set(members["customer_id"])
    assert not members["email"].fillna("").str.contains("marketplace.amazon").any()


def test_marketplace_only_buyers_get_rfm_segments_and_recommendations_under_namespaced_keys(read: ReadTable) -> None:
    rfm = read("customer_rfm").set_index("customer_id")
    amazon_buyer = "amazon:" + sha256("zz9@marketplace.amazon.com")  # one buyer, however the address is cased
    ebay_buyer = "ebay:" + sha256("bidder99")
    assert rfm.loc[amazon_buyer, "frequency"] == 2 and float(rfm.loc[amazon_buyer, "monetary"]) == 22.0
    assert rfm.loc[ebay_buyer, "frequency"] == 2 and float(rfm.loc[ebay_buyer, "monetary"]) == 18.0
    segments = read("customer_segments")
    for buyer in (amazon_buyer, ebay_buyer):
        assert {"marketplace_only", "rfm:" + rfm.loc[buyer, "rfm_segment"]} <= set(
            segments.loc[segments["customer_id"] == buyer, "segment"])
    recommendations = read("customer_recommendations")
    assert {amazon_buyer, ebay_buyer} <= set(recommendations["customer_id"])
    # AND without consent or a usable identifier they are never activated
    assert not {amazon_buyer, ebay_buyer} & set(read("audience_members")["customer_id"])


def test_a_ga4_login_user_id_matches_the_customer_key_text_for_text(read: ReadTable) -> None:
    identity = read("int_identity_map").set_index("user_pseudo_id")["customer_id"]
    assert identity["u-17"] == "17"
    assert identity["u-00017"] == "00017"
    links = read("customer_identity_links").set_index(["key_kind", "source_key"])
    assert tuple(links.loc[("ga4_user_pseudo_id", "u-00017"), ["customer_id", "linked_by"]]) == ("00017", "user_id")


def test_privacy_requests_block_by_the_text_key_of_any_linked_record(read: ReadTable) -> None:
    customers = read("int_customers").set_index("customer_id")
    # A delete for '00017' blocks that file customer, not shop customer 17.
    assert customers.loc["00017", "is_privacy_blocked"]
    assert not customers.loc["17", "is_privacy_blocked"]
    # An opt-out under the file key 'K-19' reaches shop customer 19, whom the file row is linked to by e-mail.
    assert customers.loc["19", "is_privacy_blocked"]
    members = set(read("audience_members")["customer_id"])
    assert "17" in members and "19" not in members


def test_identity_and_rfm_match_the_pandas_reference_on_this_scenario(read: ReadTable) -> None:
    expected = reference.identity_links(read).set_index(["source", "kind", "key"])[["customer_id", "linked_by"]]
    links = read("customer_identity_links")
    actual = links[links["key_kind"] != "ga4_user_pseudo_id"].set_index(["source", "key_kind", "source_key"])
    assert actual[["customer_id", "linked_by"]].sort_index().to_dict("index") == (
        expected.rename_axis(["source", "key_kind", "source_key"]).sort_index().to_dict("index"))
    expected_rfm = reference.rfm(read, date.fromisoformat(fixture.AS_OF_DATE)).set_index("customer_id")
    actual_rfm = read("customer_rfm").set_index("customer_id")
    assert sorted(actual_rfm.index) == sorted(expected_rfm.index)
    for column in ["frequency", "recency_days", "r_score", "f_score", "m_score"]:
        assert actual_rfm[column].astype(int).to_dict() == expected_rfm[column].astype(int).to_dict(), column
    assert actual_rfm["rfm_segment"].to_dict() == expected_rfm["rfm_segment"].to_dict()


@pytest.mark.parametrize(
    ("customer", "consents"),
    [
        pytest.param("W-1", True, id="a file-only buyer whose latest order says yes consents"),
        pytest.param("W-2", False, id="a file-only buyer whose latest stated answer is no does not"),
        pytest.param("W-3", True, id="a later order with an empty consent cell leaves the yes standing"),
        pytest.param("30", False, id="a shop customer unsubscribed in Shopify stays so whatever the file says"),
        pytest.param("31", True, id="a shop customer subscribed in Shopify stays so whatever the file says"),
    ],
)
def test_order_file_consent_makes_file_only_buyers_activatable_and_shopify_stays_authoritative(
    read: ReadTable, customer: str, consents: bool
) -> None:
    # GIVEN orders stating marketing consent (scenario in the module docstring)
    customers = read("int_customers").set_index("customer_id")
    # THEN the customer's consent is its latest stated answer, or Shopify's where it has a Shopify profile
    assert (bool(customers.loc[customer, "consent_email"]), bool(customers.loc[customer, "consent_ads"])) == (
        consents, consents)
    # AND it is in the 'lapsed' audience, reachable by e-mail, exactly when it consents
    members = read("audience_members")
    lapsed = members[(members["audience_id"] == "lapsed") & (members["customer_id"] == customer)]
    assert "lapsed" in set(read("customer_segments").query("customer_id == @customer")["segment"])
    if consents:
        assert len(lapsed) == 1 and lapsed["email"].notna().all() and lapsed["email_sha256"].notna().all()
    else:
        assert customer not in set(members["customer_id"])
