"""Journeys from raw GA4 rows to journey_events, on the fixture warehouse: product views, a cart and a site search
of customer 8 (browser u8, logged in) become browse-abandonment and high-intent events naming the products."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

ReadTable = Callable[[str], pd.DataFrame]


def test_browsing_becomes_journey_events_naming_the_products(read_table: ReadTable) -> None:
    # GIVEN customer 8 viewed TEA-01 twice, TEA-02 once, carted MUG-01 and searched 'Black tea', buying nothing
    events = read_table("journey_events").set_index(["journey_id", "customer_id"])
    # THEN TEA-01 alone was abandoned while browsing (MUG-01 went to the cart, TEA-02 was seen once)
    abandoned = events.loc[("browse_abandoner", "8")]
    assert (abandoned["skus"], abandoned["product_title"]) == ("TEA-01", "Green tea")
    # AND the URL is the product page without the campaign tags and fragment of the view that found it
    assert abandoned["product_url"] == "https://shop.example/p/tea-01"
    assert float(abandoned["product_price"]) == 8.0 and abandoned["currency"] == "EUR"
    # AND the high-intent event names the products by web interest: cart 3 + view 1, two views, view 1 + search 0.5
    assert events.loc[("high_intent", "8"), "skus"] == "MUG-01,TEA-01,TEA-02"
    scores = read_table("customer_recommendations").query("customer_id == '8'").set_index("sku")["browse_score"]
    assert scores.to_dict() == {"MUG-01": 4.0, "TEA-01": 2.0, "TEA-02": 1.5}


def test_journey_events_keep_the_audiences_consent_privacy_and_holdout(read_table: ReadTable) -> None:
    events = read_table("journey_events")
    members = read_table("audience_members")
    joined = events.merge(members, left_on=["journey_id", "customer_id"], right_on=["audience_id", "customer_id"],
                          how="left", suffixes=("", "_member"), indicator=True)
    assert len(events) > 0 and (joined["_merge"] == "both").all()
    for column in ("email", "is_holdout", "consent_email"):
        assert joined[column].equals(joined[f"{column}_member"]), column
    assert not set(events["customer_id"]) & {"4", "5"}  # 4: no consent, 5: opt-out request
