"""Destinations declare themselves: the package's connectors are collected, an outside one is named by import
path, and a sync without ``connection`` takes the destination's own."""

from __future__ import annotations

from typing import Any

import pytest

from narrowcast.activation import SyncConfigError
from narrowcast.activation.destinations import DESTINATIONS, register_destination
from narrowcast.activation.destinations.base import Destination
from narrowcast.activation.spec import parse_sync

SYNC: dict[str, Any] = {
    "id": "champions_meta", "model": "audience_members", "destination": "meta_audiences",
    "object": "custom_audience", "target": {"audience_id": "1"}, "key": "customer_id",
    "fields": {"EMAIL": "email_sha256"}, "schedule": "audiences",
}


def test_every_connector_module_of_the_package_is_collected_under_its_name() -> None:
    assert set(DESTINATIONS) == {"meta_audiences", "google_audiences", "google_customer_match", "klaviyo", "ebay_inventory",
                                 "amazon_listings", "shopify_inventory", "ebay_shipments", "amazon_shipments",
                                 "ebay_listings", "amazon_listing_content", "etsy_listings",
                                 "etsy_listing_content", "shopify_products", "shopify_customer_profile",
                                 "shopify_discount_codes"}
    assert all(cls.name == name for name, cls in DESTINATIONS.items())


def test_a_sync_without_a_connection_uses_the_one_its_destination_declares() -> None:
    assert parse_sync(SYNC).connection == "narrowcast_meta"
    assert parse_sync({**SYNC, "connection": "narrowcast_meta_eu"}).connection == "narrowcast_meta_eu"


def test_a_destination_named_by_import_path_is_registered_under_its_own_name() -> None:
    spec = parse_sync({**SYNC, "destination": "narrowcast.activation.destinations.klaviyo:Klaviyo",
                       "object": "list_members", "target": {"list_id": "L1"}, "fields": {"email": "email", "external_id": "customer_id"}})
    assert (spec.destination, spec.connection) == ("klaviyo", "narrowcast_klaviyo")


@pytest.mark.parametrize(("reference", "problem"), [
    pytest.param("nowhere.at_all:Thing", "cannot be imported", id="a missing module"),
    pytest.param("json:dumps", "is not a concrete narrowcast Destination", id="something that is no destination"),
    pytest.param("tiktok", "'tiktok' is unknown", id="an unknown name"),
])
def test_a_destination_that_cannot_be_resolved_fails_the_declaration_naming_it(reference: str, problem: str) -> None:
    with pytest.raises(SyncConfigError, match=f"key 'destination': .*{problem}"):
        parse_sync({**SYNC, "destination": reference})


def test_a_second_connector_cannot_take_a_name_already_registered() -> None:
    class Impostor(Destination):
        name = "klaviyo"
        objects = {}
        limits = DESTINATIONS["klaviyo"].limits

        def send(self, batch):  # pragma: no cover - never sent
            return []

    with pytest.raises(ValueError, match="'klaviyo' is taken by narrowcast.activation.destinations.klaviyo.Klaviyo"):
        register_destination(Impostor)
