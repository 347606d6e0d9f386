"""Destination connectors, by the name a sync declaration uses in ``destination:``."""

from __future__ import annotations

from narrowcast.activation.destinations.amazon_listings import AmazonListings
from narrowcast.activation.destinations.base import Destination
from narrowcast.activation.destinations.ebay_inventory import EbayInventory
from narrowcast.activation.destinations.google_customer_match import GoogleCustomerMatch
from narrowcast.activation.destinations.klaviyo import Klaviyo
from narrowcast.activation.destinations.meta_audiences import MetaCustomAudiences
from narrowcast.activation.destinations.shopify_inventory import ShopifyInventory

DESTINATIONS: dict[str, type[Destination]] = {
    cls.name: cls
    for cls in (MetaCustomAudiences, GoogleCustomerMatch, Klaviyo, EbayInventory, AmazonListings, ShopifyInventory)
}

__all__ = ["DESTINATIONS", "Destination"]
