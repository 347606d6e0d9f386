"""Journeys to Klaviyo: every journey of the seed has a valid event sync that sends only members with e-mail consent
outside the holdout, and an event carries the products the journey is about."""

from __future__ import annotations

import csv
from typing import Any

import pytest

from narrowcast.activation import load_syncs, run_sync
from narrowcast.settings import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "dbt_project" / "seeds"
JOURNEY_EVENTS_DDL = """create table journey_events (
    journey_id varchar, customer_id varchar, email varchar, skus varchar, product_titles varchar,
    product_sku varchar, product_title varchar, product_image_url varchar, product_url varchar,
    product_price decimal(18,2), currency varchar, because_of_sku varchar, because_of_title varchar,
    discount_code varchar, rfm_segment varchar, is_holdout boolean, consent_email boolean)"""
PRODUCT_PROPERTIES = {"skus", "product_titles", "sku", "product_name", "image_url", "url", "price", "currency"}


def seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def journey_syncs() -> dict[str, Any]:
    return {s.filter["journey_id"]: s for s in load_syncs() if s.model == "journey_events"}


def test_every_journey_is_an_audience_with_one_klaviyo_event_sync():
    journeys = {row["journey_id"] for row in seed("journeys")}
    assert journeys >= {"browse_abandoner", "high_intent", "upsell", "lapsed"}
    assert journeys <= {row["audience_id"] for row in seed("audiences")}
    syncs = journey_syncs()
    assert set(syncs) == journeys
    for journey, spec in syncs.items():
        assert (spec.destination, spec.object, spec.mode) == ("klaviyo", "event", "mirror"), journey
        assert tuple(spec.key) == ("customer_id",) and "email" in spec.pii
        products = {f.split(".", 1)[1] for f in spec.fields if f.startswith("properties.")}
        assert products >= PRODUCT_PROPERTIES, journey
        # nothing personal beyond the e-mail Klaviyo matches the profile by
        assert {m.column for m in spec.fields.values()} <= {
            "email", "customer_id", "skus", "product_titles", "product_sku", "product_title", "product_image_url",
            "product_url", "product_price", "currency", "because_of_sku", "because_of_title", "discount_code",
            "rfm_segment"}, journey


@pytest.mark.parametrize("sync_id", [
    pytest.param(s.id, id=s.id) for s in load_syncs()
    if s.model == "journey_events" or s.filter.get("audience_id") == "vip"
])
def test_a_journey_sync_sends_only_consenting_members_outside_the_holdout(sync_id):
    (spec,) = [s for s in load_syncs() if s.id == sync_id]
    assert spec.filter.get("consent_email") is True
    assert spec.filter.get("is_holdout") is False


def journey_row(customer_id: str, journey_id: str = "browse_abandoner", **overrides: Any) -> dict[str, Any]:
    return {
        "journey_id": journey_id, "customer_id": customer_id, "email": f"c{customer_id}@example.com",
        "skus": "MUG-1,MUG-2", "product_titles": "Stoneware mug | Travel mug", "product_sku": "MUG-1",
        "product_title": "Stoneware mug", "product_image_url": "https://cdn.example/mug.jpg",
        "product_url": "https://shop.example/products/mug", "product_price": 12.5, "currency": "EUR",
        "because_of_sku": None, "because_of_title": None, "discount_code": None, "rfm_segment": "Champions",
        "is_holdout": False, "consent_email": True, **overrides,
    }


def test_browse_abandonment_events_reach_only_consenting_members_outside_the_holdout(
        emulators, connections, warehouse):
    # GIVEN journey_events with a member who may be e-mailed, one in the holdout, one without e-mail consent
    # (the mart then has no e-mail) and a member of another journey
    warehouse.execute(JOURNEY_EVENTS_DDL)
    warehouse.replace("journey_events", [
        journey_row("1"),
        journey_row("2", is_holdout=True),
        journey_row("3", email=None, consent_email=False),
        journey_row("4", journey_id="high_intent"),
    ])
    # WHEN the shipped browse-abandonment sync runs
    report = run_sync(journey_syncs()["browse_abandoner"], connections=connections, warehouse=warehouse.path)
    # THEN one event went to Klaviyo, for customer 1, with the products the e-mail shows
    events = emulators["klaviyo"].snapshot()["events"]
    assert (report.planned_adds, report.accepted, len(events)) == (1, 1, 1)
    (event,) = events
    assert event["metric"] == "Browse Abandonment" and event["external_id"] == "1"
    assert event["properties"] == {
        "skus": "MUG-1,MUG-2", "product_titles": "Stoneware mug | Travel mug", "sku": "MUG-1",
        "product_name": "Stoneware mug", "image_url": "https://cdn.example/mug.jpg",
        "url": "https://shop.example/products/mug", "price": 12.5, "currency": "EUR",
    }
