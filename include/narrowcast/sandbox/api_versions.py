"""Which API versions the emulators still serve, judged by the one table in ``narrowcast.apis.versions``.

Each emulator answers a sunset version the way its vendor documents it (the answer itself lives in the
emulator, beside the vendor's error envelope); this module only says whether a version is gone, and for
Shopify, which version a request falls forward to.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from narrowcast.apis.versions import SHOPIFY, ApiVersions, Support


def today() -> date:
    return datetime.now(UTC).date()


def is_sunset(api: ApiVersions, version: str) -> bool:
    return api.status(version, today()).support is Support.SUNSET


def shopify_served_version(requested: str) -> str:
    """The version Shopify answers with: the requested one while supported, else the oldest supported stable
    version ("falls forward", https://shopify.dev/docs/api/usage/versioning)."""
    if not is_sunset(SHOPIFY, requested):
        return requested
    now = today()
    year, month = now.year - 1, (now.month - 1) // 3 * 3 + 1
    while True:
        candidate = f"{year:04d}-{month:02d}"
        if not is_sunset(SHOPIFY, candidate):
            return candidate
        year, month = (year + 1, 1) if month == 10 else (year, month + 3)
