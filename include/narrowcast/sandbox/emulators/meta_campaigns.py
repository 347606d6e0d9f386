"""Meta Marketing API emulator (campaign metadata): ``GET /{version}/act_{id}/campaigns`` and ``.../adsets``.

Follows the Ad Account Campaigns and Ad Account Adsets edges (developers.facebook.com/docs/marketing-api/
reference/ad-account/campaigns, .../ad-account/adsets): ``fields``, ``limit``, cursor paging with
``paging.cursors.after`` and ``paging.next``, ``effective_status`` (a JSON list; without it the edges leave out
DELETED and ARCHIVED objects), and ``filtering`` (a JSON list of ``{field, operator, value}`` filter objects, the
Graph API's generic list filter; the sandbox serves ``<object>.updated_time`` with GREATER_THAN / LESS_THAN and
``<object>.id`` with IN). Ids are strings, times ``YYYY-MM-DDTHH:MM:SS+0000``. Errors reuse the Graph envelope of
:class:`MetaErrors` (code 100 invalid parameter, subcode 33 for an unknown object, 190 bad token).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.meta import DEFAULT_LIMIT, MAX_LIMIT, MetaErrors
from narrowcast.sandbox.emulators.world_index import decode_cursor, encode_cursor, read_world_table
from narrowcast.sandbox.framework import Emulator

_VERSION = re.compile(r"^v\d+\.\d+$")
# Object fields the sandbox serves, per edge (a subset of the Campaign and Ad Set objects' fields).
EDGE_FIELDS = {
    "campaigns": frozenset({"id", "account_id", "name", "objective", "status", "effective_status", "buying_type",
                            "created_time", "updated_time", "start_time", "stop_time"}),
    "adsets": frozenset({"id", "account_id", "campaign_id", "name", "status", "effective_status", "targeting",
                         "created_time", "updated_time"}),
}
EDGE_PREFIX = {"campaigns": "campaign", "adsets": "adset"}
DEFAULT_FIELDS = "id"  # an edge read without ``fields`` returns ids only
# What the edges return when effective_status is not given: deleted and archived objects are left out.
DEFAULT_STATUSES = frozenset({"ACTIVE", "PAUSED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED",
                              "PENDING_BILLING_INFO", "CAMPAIGN_PAUSED", "ADSET_PAUSED", "IN_PROCESS",
                              "WITH_ISSUES"})


def graph_time(value: datetime | None) -> str | None:
    """Graph API timestamps: ISO 8601 with a ``+0000`` offset."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _campaign(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(row["campaign_id"]), "account_id": str(row["account_id"]), "name": row["name"],
            "objective": row["objective"], "status": row["status"], "effective_status": row["status"],
            "buying_type": "AUCTION", "created_time": graph_time(row["created_time"]),
            "updated_time": graph_time(row["updated_time"]), "start_time": graph_time(row["created_time"])}


def _ad_set(row: dict[str, Any]) -> dict[str, Any]:
    targeting: dict[str, Any] = {"geo_locations": {"countries": ["DE", "AT", "CH"]}, "age_min": 18, "age_max": 65}
    audiences = json.loads(row["custom_audiences"] or "[]")
    if audiences:
        targeting["custom_audiences"] = [{"id": str(a["id"]), "name": a["name"]} for a in audiences]
    return {"id": str(row["adset_id"]), "account_id": str(row["account_id"]),
            "campaign_id": str(row["campaign_id"]), "name": row["name"], "status": row["status"],
            "effective_status": row["status"], "targeting": targeting,
            "created_time": graph_time(row["created_time"]), "updated_time": graph_time(row["updated_time"])}


class _BadFilter(ValueError):
    pass


def _epoch(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _BadFilter(f"filtering value {value!r} is not a unix timestamp") from None


def _matches(obj: dict[str, Any], filters: list[dict[str, Any]], prefix: str) -> bool:
    for f in filters:
        field, operator, value = f.get("field"), f.get("operator"), f.get("value")
        if field in (f"{prefix}.updated_time", "updated_time"):
            updated = int(datetime.strptime(obj["updated_time"], "%Y-%m-%dT%H:%M:%S+0000")
                          .replace(tzinfo=UTC).timestamp())
            if operator == "GREATER_THAN" and not updated > _epoch(value):
                return False
            if operator == "LESS_THAN" and not updated < _epoch(value):
                return False
            if operator not in ("GREATER_THAN", "LESS_THAN"):
                raise _BadFilter(f"Filtering operator {operator} is not supported for field {field}")
        elif field in (f"{prefix}.id", "id", "campaign.id") and operator == "IN" and isinstance(value, list):
            own = obj["campaign_id"] if field == "campaign.id" and prefix == "adset" else obj["id"]
            if own not in {str(v) for v in value}:
                return False
        else:
            raise _BadFilter(f"Filtering field {field} with operation {operator} is not supported")
    return True


class MetaCampaignsEmulator(MetaErrors, Emulator):
    name = "meta_campaigns"
    prefix = "meta"

    def load(self) -> None:
        per_account: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"campaigns": [],
                                                                                      "adsets": []})
        # An account with spend but no metadata in the world exists and lists nothing.
        for account in {str(r["account_id"]) for r in read_world_table(self.world_dir, "meta_insights",
                                                                       ["account_id"])}:
            per_account.setdefault(account, {"campaigns": [], "adsets": []})
        for row in read_world_table(self.world_dir, "meta_campaigns"):
            per_account[str(row["account_id"])]["campaigns"].append(_campaign(row))
        for row in read_world_table(self.world_dir, "meta_ad_sets"):
            per_account[str(row["account_id"])]["adsets"].append(_ad_set(row))
        for edges in per_account.values():
            for objects in edges.values():
                objects.sort(key=lambda o: int(o["id"]))
        self.accounts = dict(per_account)

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/{version}/{account}/campaigns", self.campaigns, methods=["GET"])
        router.add_api_route("/{version}/{account}/adsets", self.adsets, methods=["GET"])

    def campaigns(self, version: str, account: str, request: Request) -> Response:
        return self._edge("campaigns", version, account, request)

    def adsets(self, version: str, account: str, request: Request) -> Response:
        return self._edge("adsets", version, account, request)

    def _edge(self, edge: str, version: str, account: str, request: Request) -> Response:
        if not self.meta_authorized(request):
            return self.unauthorized()
        if not _VERSION.match(version):
            return self.meta_error(400, f"Unknown path components: /{version}", code=2500)
        if (expired := self.expired_version(version)) is not None:
            return expired
        account_id = account.removeprefix("act_")
        if not account.startswith("act_") or account_id not in self.accounts:
            return self.meta_error(
                400, f"Unsupported get request. Object with ID '{account}' does not exist, cannot be loaded due "
                     "to missing permissions, or does not support this operation", code=100, subcode=33)
        query = request.query_params
        fields = [f for f in query.get("fields", DEFAULT_FIELDS).split(",") if f]
        unknown = sorted(set(fields) - EDGE_FIELDS[edge])
        if unknown:
            return self.invalid_parameter(f"Tried accessing nonexisting field ({unknown[0]}) on node type "
                                          f"({'Campaign' if edge == 'campaigns' else 'AdSet'})")
        try:
            limit = max(1, min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT))
            statuses = set(json.loads(query["effective_status"])) if "effective_status" in query \
                else DEFAULT_STATUSES
            filters = json.loads(query.get("filtering", "[]"))
            if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
                raise _BadFilter("filtering must be a list of filter objects")
            after = int(decode_cursor(query["after"])["id"]) if "after" in query else None
            objects = [o for o in self.accounts[account_id][edge]
                       if o["effective_status"] in statuses and _matches(o, filters, EDGE_PREFIX[edge])]
        except _BadFilter as exc:
            return self.invalid_parameter(str(exc))
        except (ValueError, TypeError, KeyError):
            return self.invalid_parameter("effective_status, filtering, limit or after is malformed")
        if after is not None:
            objects = [o for o in objects if int(o["id"]) > after]
        chunk = objects[:limit]
        body: dict[str, Any] = {"data": [{f: o[f] for f in fields if o.get(f) is not None} | {"id": o["id"]}
                                         for o in chunk]}
        if chunk:
            cursors = {"before": encode_cursor({"id": chunk[0]["id"]}), "after": encode_cursor({"id": chunk[-1]["id"]})}
            body["paging"] = {"cursors": cursors}
            if len(objects) > limit:
                params = {k: v for k, v in query.items() if k != "after"}
                body["paging"]["next"] = str(request.url.replace(query=urlencode({**params,
                                                                                  "after": cursors["after"]})))
        return JSONResponse(body)


EMULATOR = MetaCampaignsEmulator
