"""The table of known API versions: defaults, sunsets from vendor dates or vendor rules, and the 90-day warning."""

from __future__ import annotations

from datetime import date

import pytest

from narrowcast.apis import versions
from narrowcast.apis.versions import Support

TODAY = date(2026, 12, 5)


@pytest.mark.parametrize(("api", "version", "support", "text"), [
    pytest.param(versions.GOOGLE_ADS, "v18", Support.SUNSET, "version v18 was sunset on 2025-08-20",
                 id="google-ads-v18-sunset-on-its-date"),
    pytest.param(versions.GOOGLE_ADS, "v15", Support.SUNSET, "version v15 was sunset by 2025-08-20",
                 id="google-ads-older-than-the-table-is-gone-too"),
    pytest.param(versions.GOOGLE_ADS, "v26", Support.SUPPORTED, "version v26", id="google-ads-v26-current"),
    pytest.param(versions.GOOGLE_ADS, "v27", Support.UNKNOWN, "version v27 is not a version Narrowcast knows",
                 id="google-ads-newer-than-the-table-is-unknown"),
    pytest.param(versions.META, "v24.0", Support.SUNSET, "version v24.0 was sunset on 2026-11-10",
                 id="meta-v24-expired-last-month"),
    pytest.param(versions.META, "v25.0", Support.ENDING, "version v25.0 is sunset on 2027-02-23",
                 id="meta-v25-expires-within-90-days"),
    pytest.param(versions.SHOPIFY, "2025-10", Support.SUNSET, "version 2025-10 was sunset on 2026-10-01",
                 id="shopify-supported-twelve-months"),
    pytest.param(versions.SHOPIFY, "2026-01", Support.ENDING, "version 2026-01 is sunset on 2027-01-01",
                 id="shopify-2026-01-ends-within-90-days"),
    pytest.param(versions.SHOPIFY, "unstable", Support.UNKNOWN, "version unstable is not a version Narrowcast knows",
                 id="shopify-unstable-is-not-a-stable-version"),
    pytest.param(versions.KLAVIYO, "2024-10-15", Support.SUNSET, "version 2024-10-15 was sunset on 2026-10-15",
                 id="klaviyo-retired-after-two-years"),
    pytest.param(versions.KLAVIYO, "2026-10-15", Support.SUPPORTED, "version 2026-10-15 (supported until 2028-10-15)",
                 id="klaviyo-current-revision"),
    pytest.param(versions.AMAZON_ORDERS, "v0", Support.SUPPORTED, "version v0 (supported until 2027-03-27)",
                 id="amazon-orders-v0-until-its-migration-date"),
])
def test_a_version_is_judged_by_the_vendors_dates(api, version, support, text):
    status = api.status(version, TODAY)
    assert status.support is support and status.describe() == text


def test_every_default_is_supported_today():
    assert all(api.status(api.default, TODAY).support is Support.SUPPORTED for api in versions.KNOWN.values())


def test_an_old_version_warns_ninety_days_ahead_and_no_earlier():
    # v25.0 expires 2027-02-23: 90 days before is 2026-11-25.
    assert versions.META.status("v25.0", date(2026, 11, 25)).support is Support.ENDING
    assert versions.META.status("v25.0", date(2026, 11, 24)).support is Support.SUPPORTED
