"""Google Ads API emulator (reporting side): ``POST /{version}/customers/{id}/googleAds:searchStream``.

Parses the GAQL it receives — SELECT list, ``FROM campaign``, a ``segments.date`` range in WHERE (BETWEEN or
comparisons), ORDER BY, LIMIT — and answers unsupported queries with ``INVALID_ARGUMENT`` as the real API
does. Responses are arrays of batches in camelCase, int64 as strings, zero values left out (proto3 JSON).
:class:`GoogleAdsErrors` is the error envelope; the Customer Match emulator reuses it.
Every error's ``status`` is a canonical google.rpc.Code (googleapis google/rpc/code.proto) with its HTTP mapping;
every ``errorCode`` is a value of its Google Ads error enum (googleapis google/ads/googleads/v25/errors/*.proto:
RequestError, QueryError, AuthenticationError, AuthorizationError, QuotaError, InternalError).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from narrowcast.apis.versions import GOOGLE_ADS
from narrowcast.sandbox.api_versions import is_sunset
from narrowcast.sandbox.emulators.world_index import KeyIndex, read_world_table
from narrowcast.sandbox.framework import Emulator
from narrowcast.sandbox.tokens import accepts, bearer

BATCH_SIZE = 10_000
_VERSION = re.compile(r"^v\d+$")
_request_ids = itertools.count(1)

# GAQL field → (JSON path in camelCase, world column, kind). int64 metrics are strings on the wire.
FIELDS: dict[str, tuple[tuple[str, str], str, str]] = {
    "campaign.id": (("campaign", "id"), "campaign_id", "int64"),
    "campaign.name": (("campaign", "name"), "campaign_name", "string"),
    "campaign.resource_name": (("campaign", "resourceName"), "", "resource"),
    "customer.id": (("customer", "id"), "customer_id", "int64"),
    "segments.date": (("segments", "date"), "date", "date"),
    "metrics.impressions": (("metrics", "impressions"), "impressions", "int64"),
    "metrics.clicks": (("metrics", "clicks"), "clicks", "int64"),
    "metrics.cost_micros": (("metrics", "costMicros"), "cost_micros", "int64"),
    "metrics.conversions": (("metrics", "conversions"), "conversions", "double"),
    "metrics.conversions_value": (("metrics", "conversionsValue"), "conversions_value", "double"),
}

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<resource>[a-z_]+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^segments\.date\s+BETWEEN\s+'(?P<a>\d{4}-\d{2}-\d{2})'\s+AND\s+'(?P<b>\d{4}-\d{2}-\d{2})'$"
    r"|^segments\.date\s*(?P<op>>=|<=|=|>|<)\s*'(?P<d>\d{4}-\d{2}-\d{2})'$",
    re.IGNORECASE,
)
# Split WHERE on AND, but not on the AND inside "BETWEEN x AND y".
_AND = re.compile(r"\s+AND\s+(?!'\d{4}-\d{2}-\d{2}'(?:\s|$))", re.IGNORECASE)


class QueryError(ValueError):
    """A GAQL query the emulator (like the API) refuses; ``code`` is the Ads ``QueryError`` enum name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    since: date
    until: date
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int | None


def parse_query(text: str) -> Query:
    """The parts of a GAQL query the emulator serves; :class:`QueryError` names what is not supported."""
    match = _QUERY.match(text or "")
    if not match:
        raise QueryError("UNEXPECTED_INPUT", "Error in query: expected SELECT <fields> FROM <resource> ...")
    fields = tuple(f.strip().lower() for f in match["select"].split(","))
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{unknown[0]}'.")
    if match["resource"].lower() != "campaign":
        raise QueryError("PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE",
                         f"The sandbox serves FROM campaign only, not '{match['resource']}'.")
    since, until = date.min, date.max
    for condition in _AND.split(match["where"] or ""):
        if not condition.strip():
            continue
        cond = _CONDITION.match(condition.strip())
        if not cond:
            # The sandbox filters on segments.date only, with BETWEEN or a comparison.
            code = "BAD_OPERATOR" if condition.strip().lower().startswith("segments.date") \
                else "PROHIBITED_FIELD_IN_WHERE_CLAUSE"
            raise QueryError(code, f"Unsupported condition: '{condition.strip()}'.")
        if cond["a"]:
            since, until = max(since, date.fromisoformat(cond["a"])), min(until, date.fromisoformat(cond["b"]))
            continue
        day, op = date.fromisoformat(cond["d"]), cond["op"]
        if op in (">=", "="):
            since = max(since, day)
        if op in ("<=", "="):
            until = min(until, day)
        if op == ">":
            since = max(since, date.fromordinal(day.toordinal() + 1))
        if op == "<":
            until = min(until, date.fromordinal(day.toordinal() - 1))
    if "segments.date" in fields and (since == date.min or until == date.max):
        raise QueryError("EXPECTED_FILTERS_ON_DATE_RANGE",
                         "Filters must be provided on segments.date with a finite date range when it is selected.")
    order = []
    for item in (match["order"] or "").split(","):
        if not item.strip():
            continue
        name, *direction = item.strip().lower().split()
        if name not in FIELDS:
            raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the ORDER BY clause: '{name}'.")
        if direction not in ([], ["asc"], ["desc"]):
            raise QueryError("UNEXPECTED_INPUT", f"Invalid ORDER BY clause: '{item.strip()}'.")
        order.append((name, direction == ["desc"]))
    return Query(fields, since, until, tuple(order), int(match["limit"]) if match["limit"] else None)


class GoogleAdsErrors:
    """Google's envelope: ``{"error": {code, message, status, details: [GoogleAdsFailure, RetryInfo]}}``."""

    api_version = GOOGLE_ADS.default

    def google_error(self, http_status: int, status: str, message: str, error_code: dict[str, str],
                     retry_delay: str | None = None) -> Response:
        failure: dict[str, Any] = {"errorCode": error_code, "message": message}
        details: list[dict[str, Any]] = [{
            "@type": f"type.googleapis.com/google.ads.googleads.{self.api_version}.errors.GoogleAdsFailure",
            "errors": [failure], "requestId": f"sandbox-{next(_request_ids)}",
        }]
        if retry_delay:
            failure["details"] = {"quotaErrorDetails": {"rateScope": "DEVELOPER", "rateName":
                                                        "Number of operations for basic access",
                                                        "retryDelay": retry_delay}}
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
        return JSONResponse({"error": {"code": http_status, "message": message, "status": status,
                                       "details": details}}, status_code=http_status)

    def rate_limited(self, retry_after: float) -> Response:
        return self.google_error(429, "RESOURCE_EXHAUSTED", "Too many requests. Retry in a few seconds.",
                                 {"quotaError": "RESOURCE_EXHAUSTED"}, retry_delay=f"{retry_after:g}s")

    def server_error(self) -> Response:
        return self.google_error(503, "UNAVAILABLE", "The service is currently unavailable.",
                                 {"internalError": "TRANSIENT_ERROR"})

    def unauthorized(self) -> Response:
        return self.google_error(
            401, "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
            "other valid authentication credential.", {"authenticationError": "OAUTH_TOKEN_INVALID"})

    def google_authorized(self, request: Request) -> Response | None:
        """``None`` when the bearer token and developer token are acceptable, else the error to return."""
        if not accepts(request, "google", bearer(request)):
            return self.unauthorized()
        if not request.headers.get("developer-token"):
            # A RequestError, refused as an invalid argument: a new access token would not help.
            return self.google_error(400, "INVALID_ARGUMENT", "The developer token is not on the request.",
                                     {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"})
        return None


def sunset_version(version: str) -> Response | None:
    """Google documents only that requests to a sunset version fail
    (https://developers.google.com/google-ads/api/docs/sunset-dates); what clients then receive is the
    front end's plain 404 "Not Found" page for a path that no longer exists, not the API's JSON envelope."""
    if not is_sunset(GOOGLE_ADS, version):
        return None
    return PlainTextResponse("Not Found", status_code=404)


def _value(row: dict[str, Any], field: str) -> Any:
    _, column, kind = FIELDS[field]
    if kind == "resource":
        return f"customers/{row['customer_id']}/campaigns/{row['campaign_id']}"
    value = row[column]
    if kind == "int64":
        return str(value) if value else None  # proto3 JSON: zeros are left out
    if kind == "double":
        return float(value) if value else None
    if kind == "date":
        return value.isoformat()
    return value


def render(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if any(f.startswith("campaign.") for f in fields):
        out["campaign"] = {"resourceName": _value(row, "campaign.resource_name")}
    for field in fields:
        value = _value(row, field)
        if value is not None:
            (group, key), _, _ = FIELDS[field]
            out.setdefault(group, {})[key] = value
    return out


class GoogleAdsReportingEmulator(GoogleAdsErrors, Emulator):
    name = "google_ads_reporting"
    prefix = "google_ads"

    def load(self) -> None:
        self.seed_stats(read_world_table(self.world_dir, "google_ads_stats"))
        # Campaign settings and user-list criteria (emulators/google_ads_metadata.py serves their queries).
        self.settings = {"campaign": read_world_table(self.world_dir, "google_ads_campaigns"),
                         "campaign_criterion": read_world_table(self.world_dir, "google_ads_campaign_criteria")}

    def seed_stats(self, rows: list[dict[str, Any]]) -> None:
        """Serve these campaign-day rows (of the world's ``google_ads_stats`` table) instead of the world's."""
        per_customer: dict[str, list[tuple[int, int, dict]]] = defaultdict(list)
        for row in rows:
            per_customer[str(row["customer_id"])].append((row["date"].toordinal(), row["campaign_id"], row))
        self.customers = {cid: KeyIndex(entries) for cid, entries in per_customer.items()}

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/{version}/customers/{customer_id}/googleAds:searchStream", self.search_stream,
                             methods=["POST"])
        router.add_api_route("/{version}/customers:listAccessibleCustomers", self.list_accessible_customers,
                             methods=["GET"])

    def list_accessible_customers(self, version: str, request: Request) -> Response:
        """CustomerService.ListAccessibleCustomers: the customers the OAuth user can reach, no customer id needed
        (the cheapest authenticated call, https://developers.google.com/google-ads/api/rest/reference/rest/
        v26/customers/listAccessibleCustomers)."""
        denied = self.google_authorized(request)
        if denied is not None:
            return denied
        if (gone := sunset_version(version)) is not None:
            return gone
        return JSONResponse({"resourceNames": [f"customers/{cid}" for cid in sorted(self.customers)]})

    async def search_stream(self, version: str, customer_id: str, request: Request) -> Response:
        denied = self.google_authorized(request)
        if denied is not None:
            return denied
        if not _VERSION.match(version):
            return self.google_error(404, "NOT_FOUND", f"Version {version} is not supported.",
                                     {"requestError": "UNSUPPORTED_VERSION"})
        if (gone := sunset_version(version)) is not None:
            return gone
        known = {str(r["customer_id"]) for rows in self.settings.values() for r in rows}
        if customer_id not in self.customers and customer_id not in known:
            return self.google_error(403, "PERMISSION_DENIED",
                                     "The caller does not have permission", {"authorizationError":
                                                                             "USER_PERMISSION_DENIED"})
        from narrowcast.sandbox.emulators.google_ads_metadata import is_settings_query

        try:
            body = await request.json()
            if is_settings_query(body["query"]):
                return self._settings_stream(customer_id, body["query"])
            query = parse_query(body["query"])
        except QueryError as exc:
            return self.google_error(400, "INVALID_ARGUMENT", str(exc), {"queryError": exc.code})
        except (ValueError, KeyError, TypeError):
            return self.google_error(400, "INVALID_ARGUMENT", "Request body must be JSON with a 'query' string.",
                                     {"requestError": "REQUIRED_FIELD_MISSING"})
        index = self.customers[customer_id]
        lo, hi = index.bounds(query.since.toordinal(), query.until.toordinal())
        rows = index.payloads[lo:hi]
        for field, descending in reversed(query.order):
            column = FIELDS[field][1] or "campaign_id"
            rows = sorted(rows, key=lambda r, c=column: r[c], reverse=descending)
        if query.limit is not None:
            rows = rows[:query.limit]
        mask = ",".join(FIELDS[f][0][0] + "." + FIELDS[f][0][1] for f in query.fields)
        request_id = f"sandbox-{next(_request_ids)}"
        batches = [{"results": [render(r, query.fields) for r in rows[i:i + BATCH_SIZE]], "fieldMask": mask,
                    "requestId": request_id} for i in range(0, len(rows), BATCH_SIZE)]
        return JSONResponse(batches or [{"fieldMask": mask, "requestId": request_id}])

    def _settings_stream(self, customer_id: str, text: str) -> Response:
        """A campaign-settings query (no metrics): one batch of every matching campaign or criterion."""
        from narrowcast.sandbox.emulators.google_ads_metadata import (
            METADATA_FIELDS,
            parse_settings_query,
            render_settings,
            select_rows,
        )

        query = parse_settings_query(text)
        rows = [r for r in self.settings[query.resource] if str(r["customer_id"]) == customer_id]
        mask = ",".join(".".join(METADATA_FIELDS[f][0]) for f in query.fields)
        request_id = f"sandbox-{next(_request_ids)}"
        results = [render_settings(r, query) for r in select_rows(rows, query)]
        batches = [{"results": results[i:i + BATCH_SIZE], "fieldMask": mask, "requestId": request_id}
                   for i in range(0, len(results), BATCH_SIZE)]
        return JSONResponse(batches or [{"fieldMask": mask, "requestId": request_id}])


EMULATOR = GoogleAdsReportingEmulator
