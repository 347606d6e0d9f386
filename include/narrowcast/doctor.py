"""``narrowcast doctor``: whether each configured connection is ready for a scheduled run, one line each.

For every ``AIRFLOW_CONN_*`` connection of an API Narrowcast speaks, it checks that the service answers and
accepts the credential (one cheap documented read), that the API version is still served (the table in
``narrowcast.apis.versions``; a warning within 90 days of sunset), when the token expires where that is knowable
(OAuth refresh, Meta's ``debug_token`` or the connection's declared ``token_expires_at``) and the scopes the
token endpoint reports. Exits non-zero when any connection has a problem. Never prints a credential.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from narrowcast.apis import amazon, data_manager, ebay, etsy, google_ads, klaviyo, meta, shopify, versions
from narrowcast.contracts.connections import Connection, ConnectionNotUsable, connections_from_env
from narrowcast.http import ApiError, Auth, FatalApiError, RefreshingAuth, RetryPolicy, TokenRefreshError

# A doctor answers in seconds: one quick retry, short timeouts.
PROBE = {"retry": RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0), "timeout": (5.0, 15.0)}
# A token this close to its expiry is worth a warning (Meta system-user tokens can be set to expire).
TOKEN_WARN = timedelta(days=7)
META_SCOPES = ("ads_read", "ads_management")


@dataclass
class Diagnosis:
    """What was found about one connection: problems fail the doctor, warnings do not."""

    conn_id: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "FAIL" if self.problems else "WARN" if self.warnings else "ok"

    def line(self) -> str:
        return f"{self.conn_id:<24} {self.status:<4}  " + "; ".join(self.problems + self.warnings + self.notes)


def check_version(diagnosis: Diagnosis, api: versions.ApiVersions, version: str, today: date) -> None:
    status = api.status(version, today)
    text = f"{api.api} {status.describe()}"
    if status.support is versions.Support.SUNSET:
        diagnosis.problems.append(f"{text}; use {api.default} ({api.source})")
    elif status.support in (versions.Support.ENDING, versions.Support.UNKNOWN):
        diagnosis.warnings.append(f"{text}; the current one is {api.default}")
    else:
        diagnosis.notes.append(text)


def check_token(diagnosis: Diagnosis, auth: Auth, *, required_scope: str | None = None) -> bool:
    """Refresh an OAuth token now (so a revoked refresh token shows here, not mid-run); False when it failed or
    the token endpoint reports a grant without ``required_scope`` (every call would be refused)."""
    if not isinstance(auth, RefreshingAuth):
        diagnosis.warnings.append("static access token: it expires within hours; configure a refresh_token")
        return True
    try:
        auth.token()
    except TokenRefreshError as exc:
        diagnosis.problems.append(f"refreshing the access token at {exc.token_url} failed: {exc.detail}")
        return False
    if auth.expires_at is not None:
        diagnosis.notes.append("token refreshed")
    if required_scope and auth.scopes is not None and required_scope not in auth.scopes:
        diagnosis.problems.append(f"the token lacks the scope {required_scope}")
        return False
    return True


def check_expiry(diagnosis: Diagnosis, expires: datetime | None, now: datetime, what: str) -> None:
    if expires is None:
        return
    if expires <= now:
        diagnosis.problems.append(f"{what} expired on {expires:%Y-%m-%d %H:%M} UTC")
    elif expires - now <= TOKEN_WARN:
        diagnosis.warnings.append(f"{what} expires on {expires:%Y-%m-%d %H:%M} UTC")
    else:
        diagnosis.notes.append(f"{what} valid until {expires:%Y-%m-%d}")


# ---- one check per service -------------------------------------------------------------------------------
def _shopify(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    version = versions.SHOPIFY.of_connection(conn)
    check_version(diagnosis, versions.SHOPIFY, version, today)
    client = shopify.ShopifyApi.from_connection(conn, **PROBE)
    response = client.request("POST", client.graphql_path, json={"query": "{ shop { name } }"})
    served = response.headers.get("X-Shopify-API-Version")
    # Shopify answers an unsupported version with the oldest supported one instead of failing.
    if served and served != version:
        diagnosis.problems.append(f"Shopify answered with version {served}, not {version}")
    diagnosis.notes.append("authenticated")


def _meta(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    check_version(diagnosis, versions.META, versions.META.of_connection(conn), today)
    declared = conn.extra.get("token_expires_at")
    if declared:
        expires = _moment(declared)
        if expires is None:
            diagnosis.problems.append(f"token_expires_at {declared!r} is not an ISO date or timestamp")
        check_expiry(diagnosis, expires, now, "token (declared)")
    client = meta.GraphApi.from_connection(conn, **PROBE)
    data = client.get_json(f"{client.api_version}/debug_token",
                           params={"input_token": client.auth.token()}).get("data") or {}
    if not data.get("is_valid"):
        reason = (data.get("error") or {}).get("message") or "no reason given"
        diagnosis.problems.append(f"debug_token says the token is not valid: {reason}")
        return
    diagnosis.notes.append("authenticated")
    expires_at = int(data.get("expires_at") or 0)
    if expires_at:
        check_expiry(diagnosis, datetime.fromtimestamp(expires_at, UTC), now, "token")
    else:
        diagnosis.notes.append("token does not expire")
    missing = [scope for scope in META_SCOPES if scope not in (data.get("scopes") or [])]
    if missing:
        diagnosis.problems.append(f"the token lacks the permissions {', '.join(missing)}")


def _google_ads(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    check_version(diagnosis, versions.GOOGLE_ADS, versions.GOOGLE_ADS.of_connection(conn), today)
    client = google_ads.GoogleAdsApi.from_connection(conn, **PROBE)
    if check_token(diagnosis, client.auth, required_scope=google_ads.SCOPE):
        client.get_json(f"{client.api_version}/customers:listAccessibleCustomers")
        diagnosis.notes.append("authenticated")


def _ebay(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    for api in (versions.EBAY_FULFILLMENT, versions.EBAY_INVENTORY):
        check_version(diagnosis, api, api.default, today)
    client = ebay.EbayApi.from_connection(conn, **PROBE)
    if check_token(diagnosis, client.auth):
        client.get_json(f"{ebay.FULFILLMENT}/order", params={"limit": 1})
        diagnosis.notes.append("authenticated")


def _etsy(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    check_version(diagnosis, versions.ETSY, versions.ETSY.default, today)
    client = etsy.EtsyApi.from_connection(conn, **PROBE)
    if check_token(diagnosis, client.auth):
        client.get_json(f"{etsy.APPLICATION}/shops/{etsy.shop_id(conn)}/receipts", params={"limit": 1})
        diagnosis.notes.append("authenticated")


def _amazon(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    orders_version = versions.AMAZON_ORDERS.of_connection(conn)
    check_version(diagnosis, versions.AMAZON_ORDERS, orders_version, today)
    for api in (versions.AMAZON_LISTINGS, versions.AMAZON_FEEDS):
        check_version(diagnosis, api, api.default, today)
    marketplace = (amazon.marketplace_list(conn.extra.get("marketplace_ids") or conn.extra.get("marketplace_id"))
                   or ["A1PA6795UKMFR9"])[0]
    client = amazon.SellingPartnerApi.from_connection(conn, **PROBE)
    if check_token(diagnosis, client.auth):
        since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        # One order of the last day, with the operation of the Orders version the source will call.
        params = ({"MarketplaceIds": marketplace, "LastUpdatedAfter": since, "MaxResultsPerPage": 1}
                  if orders_version == "v0" else
                  {"marketplaceIds": marketplace, "lastUpdatedAfter": since, "maxResultsPerPage": 1})
        client.get_json(amazon.orders_path(orders_version), params=params)
        diagnosis.notes.append("authenticated")


def _data_manager(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    check_version(diagnosis, versions.DATA_MANAGER, versions.DATA_MANAGER.of_connection(conn), today)
    client = data_manager.DataManagerApi.from_connection(conn, **PROBE)
    if check_token(diagnosis, client.auth, required_scope=data_manager.SCOPE):
        client.probe()
        diagnosis.notes.append("authenticated")


def _klaviyo(conn: Connection, diagnosis: Diagnosis, today: date, now: datetime) -> None:
    check_version(diagnosis, versions.KLAVIYO, versions.KLAVIYO.of_connection(conn), today)
    client = klaviyo.KlaviyoApi.from_connection(conn, **PROBE)
    client.get_json("api/profiles/", params={"filter": 'equals(email,"doctor@narrowcast.invalid")',
                                             "page[size]": 1})
    diagnosis.notes.append("authenticated")


CHECKS: dict[str, Callable[[Connection, Diagnosis, date, datetime], None]] = {
    shopify.CONNECTION_ID: _shopify,
    meta.CONNECTION_ID: _meta,
    google_ads.CONNECTION_ID: _google_ads,
    ebay.CONNECTION_ID: _ebay,
    amazon.CONNECTION_ID: _amazon,
    klaviyo.CONNECTION_ID: _klaviyo,
    data_manager.CONNECTION_ID: _data_manager,
    etsy.CONNECTION_ID: _etsy,
}


def diagnose(conn: Connection, *, today: date | None = None, now: datetime | None = None) -> Diagnosis:
    """Every check of one connection; failures become problems in the diagnosis, never exceptions."""
    now = now or datetime.now(UTC)
    diagnosis = Diagnosis(conn.conn_id)
    check = CHECKS.get(conn.conn_id)
    if check is None:
        diagnosis.notes.append("not an API connection the doctor checks")
        return diagnosis
    try:
        check(conn, diagnosis, today or now.date(), now)
    except TokenRefreshError as exc:  # a renewal after a rejected token
        diagnosis.problems.append(f"refreshing the access token at {exc.token_url} failed: {exc.detail}")
    except FatalApiError as exc:
        what = "not authenticated" if exc.status in (401, 403) else "the check call failed"
        diagnosis.problems.append(f"{what}: {exc}")
    except ApiError as exc:
        diagnosis.problems.append(f"unreachable: {exc}")
    except ValueError as exc:  # the connection lacks a field the API needs
        diagnosis.problems.append(str(exc))
    return diagnosis


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="narrowcast doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="judge API version sunsets as of this date (default: today), to plan ahead")
    args = parser.parse_args(argv)
    try:
        found = connections_from_env(environ)
    except ConnectionNotUsable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not found:
        print("no connections configured: set AIRFLOW_CONN_NARROWCAST_* (see .env.example)", file=sys.stderr)
        return 2
    diagnoses = [diagnose(conn, today=args.today) for conn in found.values()]
    for diagnosis in diagnoses:
        print(diagnosis.line())
    return 1 if any(d.problems for d in diagnoses) else 0


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


if __name__ == "__main__":
    raise SystemExit(main())
