"""The external API versions Narrowcast knows: each API's default and the day each older version stops answering.

One table, read by the ``narrowcast.apis`` modules (their defaults, which a connection's extras may override), by
``narrowcast doctor`` (a connection pinned to a version past or near its sunset) and by the sandbox emulators
(which versions they still answer). Dates are the vendors' own as published on 2026-12-05; when a vendor
announces a version or a sunset, change it here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from narrowcast.contracts.connections import Connection

# A version this close to its sunset still works, but the merchant should plan the upgrade now.
WARN_DAYS = 90


class Support(Enum):
    SUPPORTED = "supported"
    ENDING = "ending"  # supported, sunset within WARN_DAYS
    SUNSET = "sunset"  # no longer answered as that version
    UNKNOWN = "unknown"  # not a version this table knows (a typo, or newer than the table)


@dataclass(frozen=True)
class VersionStatus:
    version: str
    support: Support
    sunset: date | None
    # False when the date is the oldest sunset the table lists, which an older version predates.
    exact: bool = True

    def describe(self) -> str:
        if self.support is Support.SUNSET:
            return f"version {self.version} was sunset {'on' if self.exact else 'by'} {self.sunset}"
        if self.support is Support.ENDING:
            return f"version {self.version} is sunset on {self.sunset}"
        if self.support is Support.UNKNOWN:
            return f"version {self.version} is not a version Narrowcast knows"
        return f"version {self.version}" + (f" (supported until {self.sunset})" if self.sunset else "")


@dataclass(frozen=True)
class ApiVersions:
    """One API's versions: ``default`` is sent unless a connection names another; ``sunsets`` maps a version
    to the first day it is no longer served; ``lifetime`` derives that day from the version itself where the
    vendor publishes a rule instead of dates. ``sort_key`` orders versions, so one older than every listed
    sunset is known to be gone too."""

    api: str
    default: str
    source: str
    sort_key: Callable[[str], tuple]
    sunsets: Mapping[str, date] = field(default_factory=dict)
    lifetime: Callable[[str], date | None] | None = None
    # The connection extra that pins another version (Klaviyo calls its versions revisions).
    extra_key: str = "api_version"

    def of_connection(self, conn: Connection) -> str:
        """The version a connection pins in its extras, or the default."""
        return str(conn.extra.get(self.extra_key) or self.default)

    def sunset(self, version: str) -> date | None:
        if version in self.sunsets:
            return self.sunsets[version]
        if self.lifetime is not None:
            return self.lifetime(version)
        oldest = min(self.sunsets, key=self.sort_key, default=None)
        if oldest is not None and self.sort_key(version) < self.sort_key(oldest):
            return self.sunsets[oldest]
        return None

    def status(self, version: str, today: date) -> VersionStatus:
        try:
            sunset = self.sunset(version)
        except ValueError:
            return VersionStatus(version, Support.UNKNOWN, None)
        if sunset is not None and sunset <= today:
            exact = version in self.sunsets or self.lifetime is not None
            return VersionStatus(version, Support.SUNSET, sunset, exact)
        if sunset is not None and (sunset - today).days <= WARN_DAYS:
            return VersionStatus(version, Support.ENDING, sunset)
        if self.sort_key(version) > self.sort_key(self.default) and version not in self.sunsets:
            return VersionStatus(version, Support.UNKNOWN, None)
        return VersionStatus(version, Support.SUPPORTED, sunset)


def _major(prefix: str) -> Callable[[str], tuple]:
    """Order ``v26`` / ``v27.0`` style versions numerically; anything else raises ValueError."""
    def key(version: str) -> tuple:
        if not version.startswith(prefix):
            raise ValueError(version)
        return tuple(int(part) for part in version[len(prefix):].split("."))
    return key


def _dated(version: str) -> tuple:
    """Order ``YYYY-MM`` / ``YYYY-MM-DD`` versions; anything else raises ValueError."""
    parts = tuple(int(part) for part in version.split("-"))
    if len(parts) not in (2, 3):
        raise ValueError(version)
    return parts


def _shopify_support_end(version: str) -> date:
    # "Each stable version is supported for a minimum of 12 months": 2023-01 is supported until 2024-01-01
    # (https://shopify.dev/docs/api/usage/versioning, release schedule table).
    year, month = _dated(version)
    return date(year + 1, month, 1)


def _klaviyo_retirement(version: str) -> date:
    # A revision is stable for a year, deprecated for a second, then retired: two years after its date
    # (https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy).
    year, month, day = _dated(version)
    return date(year + 2, month, day)


# https://developers.google.com/google-ads/api/docs/sunset-dates (and the release notes). v26 is the newest
# major (2026-10-14; v26.1 is a minor release of the same surface); v23 and later have no sunset announced yet.
GOOGLE_ADS = ApiVersions(
    "google_ads", "v26", "https://developers.google.com/google-ads/api/docs/sunset-dates", _major("v"),
    sunsets={"v18": date(2025, 8, 20), "v19": date(2026, 2, 11), "v20": date(2026, 6, 10),
             "v21": date(2026, 8, 5), "v22": date(2026, 10, 7)},
)

# https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions
# The newest (v27.0, 2026-11-04) is the default rather than v26.0: a Marketing API version lives about a year
# (v25.0: 2026-02-18 to 2027-02-23) and the previous one is only promised 90 days after a release
# (…/marketing-api/overview/versioning), so v26.0 could end as early as February 2027 while v27.0 gives the
# merchant the longest runway. The Insights and Custom Audiences shapes Narrowcast uses are the same in both.
META = ApiVersions(
    "meta", "v27.0",
    "https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions",
    _major("v"),
    sunsets={"v21.0": date(2025, 9, 9), "v22.0": date(2026, 2, 19), "v23.0": date(2026, 6, 9),
             "v24.0": date(2026, 11, 10), "v25.0": date(2027, 2, 23)},
)

# https://shopify.dev/docs/api/usage/versioning and https://shopify.dev/changelog: 2026-10 is the newest stable
# (released 2026-10-01); a request to an unsupported version falls forward to the oldest supported one.
SHOPIFY = ApiVersions("shopify", "2026-10", "https://shopify.dev/docs/api/usage/versioning", _dated,
                      lifetime=_shopify_support_end)

# https://developers.klaviyo.com/en/changelog: 2026-10-15 is the newest stable revision (all 2024-* are retired).
KLAVIYO = ApiVersions("klaviyo", "2026-10-15",
                      "https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy", _dated,
                      lifetime=_klaviyo_retirement, extra_key="revision")

# Amazon SP-API and eBay version each API in its path. Orders v2026-01-01 (searchOrders, orders_2026-01-01.json) is
# the current version; v0 is deprecated, a connection may still pin it (extra ``api_version: v0``) until its
# removal on 2027-03-27 (https://developer-docs.amazon.com/sp-api/docs/orders-api-migration-guide).
AMAZON_ORDERS = ApiVersions("amazon_orders", "2026-01-01",
                            "https://developer-docs.amazon.com/sp-api/docs/orders-api-migration-guide",
                            lambda v: (0,) if v == "v0" else _dated(v.removeprefix("v")),
                            sunsets={"v0": date(2027, 3, 27)})
AMAZON_LISTINGS = ApiVersions("amazon_listings", "2021-08-01",
                              "https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-reference",
                              _dated)
AMAZON_FEEDS = ApiVersions("amazon_feeds", "2021-06-30",
                           "https://developer-docs.amazon.com/sp-api/docs/feeds-api-v2021-06-30-reference", _dated)
# https://developer.ebay.com/api-docs/sell/fulfillment/overview.html, …/sell/inventory/overview.html
EBAY_FULFILLMENT = ApiVersions("ebay_fulfillment", "v1", "https://developer.ebay.com/api-docs/sell/fulfillment/overview.html",
                               _major("v"))
EBAY_INVENTORY = ApiVersions("ebay_inventory", "v1", "https://developer.ebay.com/api-docs/sell/inventory/overview.html",
                             _major("v"))
# Finances: eBay's Sell Finances API v1 (apiz host, https://developer.ebay.com/api-docs/sell/finances/overview.html);
# Amazon's Finances 2024-06-19 (listTransactions, finances_2024-06-19.json) is the current version: v0
# listFinancialEvents is still served but Amazon's newer model covers every transaction type in one shape.
EBAY_FINANCES = ApiVersions("ebay_finances", "v1", "https://developer.ebay.com/api-docs/sell/finances/overview.html",
                            _major("v"))
AMAZON_FINANCES = ApiVersions("amazon_finances", "2024-06-19",
                              "https://developer-docs.amazon.com/sp-api/docs/finances-api-v2024-06-19-reference",
                              _dated)
# https://developers.google.com/data-manager/api/reference/rest (every method under /v1/); no other version and
# no sunset announced.
DATA_MANAGER = ApiVersions("data_manager", "v1", "https://developers.google.com/data-manager/api/reference/rest",
                           _major("v"))
# https://developers.etsy.com/documentation/ (Open API v3, every path under /v3/); v2 was shut down in 2022
# and no v3 sunset is announced.
ETSY = ApiVersions("etsy", "v3", "https://developers.etsy.com/documentation/", _major("v"))

KNOWN: dict[str, ApiVersions] = {v.api: v for v in (
    GOOGLE_ADS, META, SHOPIFY, KLAVIYO, AMAZON_ORDERS, AMAZON_LISTINGS, AMAZON_FEEDS, EBAY_FULFILLMENT, EBAY_INVENTORY,
    DATA_MANAGER, ETSY)}
