"""Meta Marketing API emulator (source side): ``GET /{version}/act_{id}/insights`` at campaign level, daily.

Numbers come back as strings, purchases inside ``actions``/``action_values``, cursor paging with
``paging.cursors.after`` and ``paging.next``. :class:`MetaErrors` is the Graph error envelope (rate limits are
HTTP 400 with code 17 and the ``X-Business-Use-Case-Usage`` header); the Custom Audiences emulator reuses it.
Error codes are those of Meta's Graph API "Handling errors" page and the Marketing API error reference (2 service
unavailable, 17 + subcode 2446079 user request limit, 100 invalid parameter (subcode 33: object does not exist),
190 invalid access token, 2500 error parsing graph query).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import defaultdict
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.apis.versions import META
from narrowcast.sandbox.api_versions import is_sunset
from narrowcast.sandbox.emulators.world_index import (
    KeyIndex,
    decode_cursor,
    encode_cursor,
    money_text,
    read_world_table,
)
from narrowcast.sandbox.framework import SANDBOX_TOKEN, Emulator

_VERSION = re.compile(r"^v\d+\.\d+$")
DEFAULT_LIMIT = 25
MAX_LIMIT = 5000
ACCOUNT_CURRENCY = "EUR"
SUPPORTED_FIELDS = frozenset({
    "account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "date_start", "date_stop",
    "impressions", "clicks", "spend", "actions", "action_values",
})
_trace_ids = itertools.count(1)


class MetaErrors:
    """Graph API error envelope ``{"error": {message, type, code, error_subcode, fbtrace_id}}``."""

    def meta_error(self, status: int, message: str, *, code: int, error_type: str = "OAuthException",
                   subcode: int | None = None, headers: dict[str, str] | None = None,
                   transient: bool | None = None) -> Response:
        error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        if transient is not None:
            error["is_transient"] = transient
        error["fbtrace_id"] = f"AsbX{next(_trace_ids):08d}"
        return JSONResponse({"error": error}, status_code=status, headers=headers)

    def invalid_parameter(self, message: str) -> Response:
        return self.meta_error(400, f"(#100) {message}", code=100)

    def rate_limited(self, retry_after: float) -> Response:
        usage = {"0": [{"type": "ads_insights", "call_count": 100, "total_cputime": 28, "total_time": 34,
                        "estimated_time_to_regain_access": max(1, math.ceil(retry_after / 60))}]}
        return self.meta_error(
            400, "(#17) User request limit reached", code=17, subcode=2446079, transient=True,
            headers={"Retry-After": f"{retry_after:g}", "X-Business-Use-Case-Usage": json.dumps(usage)},
        )

    def server_error(self) -> Response:
        return self.meta_error(500, "An unexpected error has occurred. Please retry your request later.", code=2,
                               transient=True)

    def unauthorized(self) -> Response:
        return self.meta_error(401, "Invalid OAuth access token - Cannot parse access token", code=190)

    def expired_version(self, version: str) -> Response | None:
        """The Marketing API's refusal of an expired version: "(#2635) You are calling a deprecated version of the
        Ads API" (developers.facebook.com/blog/post/2024/04/16/upcoming-change-in-marketing-api-version-
        deprecation). Meta may instead auto-upgrade unaffected endpoints; the sandbox answers as an app that
        opted out, so a pinned old version cannot go unnoticed."""
        if not is_sunset(META, version):
            return None
        return self.meta_error(400, "(#2635) You are calling a deprecated version of the Ads API. Please update "
                                    f"to the latest version: {META.default}.", code=2635)

    def meta_authorized(self, request: Request, token: str | None = None) -> bool:
        """Token from ``access_token`` (query or form, passed in) or an ``Authorization: Bearer`` header."""
        token = token or request.query_params.get("access_token")
        if not token:
            auth = request.headers.get("Authorization", "")
            token = auth.split(" ", 1)[1] if " " in auth else None
        return token == SANDBOX_TOKEN


def _insight(row: dict[str, Any]) -> dict[str, Any]:
    actions = [{"action_type": "link_click", "value": str(row["clicks"])}]
    values = []
    if row["purchases"]:
        # Meta reports the pixel purchase under both types with the same count: a client must not add them.
        for action_type in ("offsite_conversion.fb_pixel_purchase", "purchase"):
            actions.append({"action_type": action_type, "value": str(row["purchases"])})
            values.append({"action_type": action_type, "value": money_text(row["purchase_value"])})
    day = row["date"].isoformat()
    return {
        "account_id": str(row["account_id"]), "account_name": f"Ad account {row['account_id']}",
        "account_currency": ACCOUNT_CURRENCY, "campaign_id": str(row["campaign_id"]),
        "campaign_name": row["campaign_name"], "date_start": day, "date_stop": day,
        "impressions": str(row["impressions"]), "clicks": str(row["clicks"]), "spend": money_text(row["spend"]),
        "actions": actions, "action_values": values,
    }


class MetaInsightsEmulator(MetaErrors, Emulator):
    name = "meta_insights"
    prefix = "meta"

    def load(self) -> None:
        per_account: dict[str, list[tuple[int, int, dict]]] = defaultdict(list)
        for row in read_world_table(self.world_dir, "meta_insights"):
            per_account[str(row["account_id"])].append((row["date"].toordinal(), row["campaign_id"], _insight(row)))
        self.accounts = {account: KeyIndex(entries) for account, entries in per_account.items()}

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/{version}/{account}/insights", self.insights, methods=["GET"])

    def insights(self, version: str, account: str, request: Request) -> Response:
        if not self.meta_authorized(request):
            return self.unauthorized()
        if not _VERSION.match(version):
            return self.meta_error(400, f"Unknown path components: /{version}", code=2500)
        if (expired := self.expired_version(version)) is not None:
            return expired
        if not account.startswith("act_"):
            return self.invalid_parameter(f"Unsupported get request. Object with ID '{account}' does not exist")
        account_id = account.removeprefix("act_")
        if account_id not in self.accounts:
            return self.meta_error(
                400, f"Unsupported get request. Object with ID 'act_{account_id}' does not exist, cannot be "
                     "loaded due to missing permissions, or does not support this operation", code=100, subcode=33)
        query = request.query_params
        if query.get("level", "campaign") != "campaign":
            return self.invalid_parameter("the sandbox serves level=campaign only")
        if query.get("time_increment") != "1":
            return self.invalid_parameter("the sandbox serves daily rows only: pass time_increment=1")
        fields = [f for f in query.get("fields", "campaign_id,spend,date_start,date_stop").split(",") if f]
        unknown = sorted(set(fields) - SUPPORTED_FIELDS)
        if unknown:
            return self.invalid_parameter(f"{unknown[0]} is not valid for fields param")
        try:
            limit = max(1, min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT))
            time_range = json.loads(query["time_range"])
            since, until = date.fromisoformat(time_range["since"]), date.fromisoformat(time_range["until"])
            after = tuple(decode_cursor(query["after"])["key"]) if "after" in query else None
        except KeyError as exc:
            return self.invalid_parameter(f"param {exc.args[0]} is required (time_range with since and until)")
        except (ValueError, TypeError):
            return self.invalid_parameter("time_range, limit or after is malformed")
        if until < since:
            return self.invalid_parameter("time_range: since must be on or before until")
        index = self.accounts[account_id]
        lo, hi = index.bounds(since.toordinal(), until.toordinal())
        start = max(lo, index.after(after)) if after else lo
        stop = min(hi, start + limit)
        data = [{f: row[f] for f in fields} for row in index.payloads[start:stop]]
        body: dict[str, Any] = {"data": data}
        if data:
            cursors = {"before": encode_cursor({"key": list(index.keys[start])}),
                       "after": encode_cursor({"key": list(index.keys[stop - 1])})}
            body["paging"] = {"cursors": cursors}
            if stop < hi:
                params = {k: v for k, v in query.items() if k != "after"}
                body["paging"]["next"] = str(request.url.replace(query=urlencode({**params,
                                                                                  "after": cursors["after"]})))
        return JSONResponse(body)


EMULATOR = MetaInsightsEmulator
