"""Meta campaign metadata: campaigns and ad sets created or changed in the window, and every active one.

Two reads per object type: ``filtering`` on ``<object>.updated_time`` after the window's start (any status),
then ``effective_status=["ACTIVE"]``, so a first run already knows every running campaign; records are merged
on the id, so an object in both reads lands once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from narrowcast.apis.meta import PAGES
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate
from narrowcast.sources.meta_ads.client import MetaClient
from narrowcast.sources.meta_campaigns.settings import (
    AD_SET_FIELDS,
    ALL_STATUSES,
    CAMPAIGN_FIELDS,
    PAGE_LIMIT,
)

ENTITIES: dict[str, tuple[str, ...]] = {
    "meta_campaigns": ("account_id", "campaign_id"),
    "meta_ad_sets": ("account_id", "adset_id"),
}


def _id(row: dict[str, Any], key: str, where: str) -> int:
    value = row.get(key)
    try:
        return int(str(value).removeprefix("act_"))
    except (TypeError, ValueError):
        raise ValueError(f"{where}: field {key!r} = {value!r} is not a numeric id") from None


def campaign_record(row: dict[str, Any], account_id: int, ref: str) -> dict[str, Any]:
    where = f"{ref} campaign {row.get('id')}"
    return {
        "account_id": _id(row, "account_id", where) if row.get("account_id") else account_id,
        "campaign_id": _id(row, "id", where),
        "campaign_name": row.get("name"),
        "objective": row.get("objective"),
        "status": row.get("status"),
        "effective_status": row.get("effective_status"),
        "buying_type": row.get("buying_type"),
        "created_time": parse_timestamp(row.get("created_time"), where=f"{where} created_time"),
        "updated_time": parse_timestamp(row.get("updated_time"), where=f"{where} updated_time"),
    }


def _audiences(targeting: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    audiences = targeting.get(key) or []
    if not isinstance(audiences, list) or not all(isinstance(a, dict) and a.get("id") for a in audiences):
        raise ValueError(f"{where}: targeting.{key} is not a list of {{id, name}} objects")
    return audiences


def ad_set_record(row: dict[str, Any], account_id: int, ref: str) -> dict[str, Any]:
    where = f"{ref} ad set {row.get('id')}"
    targeting = row.get("targeting") or {}
    if not isinstance(targeting, dict):
        raise ValueError(f"{where}: targeting is not an object")
    included = _audiences(targeting, "custom_audiences", where)
    excluded = _audiences(targeting, "excluded_custom_audiences", where)
    return {
        "account_id": _id(row, "account_id", where) if row.get("account_id") else account_id,
        "adset_id": _id(row, "id", where),
        "campaign_id": _id(row, "campaign_id", where),
        "adset_name": row.get("name"),
        "status": row.get("status"),
        "custom_audience_ids": ",".join(str(a["id"]) for a in included) or None,
        "custom_audience_names": " | ".join(str(a.get("name") or "") for a in included) or None,
        "excluded_custom_audience_ids": ",".join(str(a["id"]) for a in excluded) or None,
        "updated_time": parse_timestamp(row.get("updated_time"), where=f"{where} updated_time"),
    }


def _read(client: MetaClient, path: str, params: dict[str, Any]) -> Iterator[tuple[list[dict[str, Any]], str]]:
    for page in paginate(client, path, params, PAGES):
        ref = f"GET /{path} page {page.number}"
        try:
            rows = page.json()["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FatalApiError(client.api_name, "GET", page.response.url, page.response.status_code,
                                f"{ref}: response has no 'data' list") from exc
        yield rows, ref


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def requests_for(edge: str, prefix: str, fields: tuple[str, ...], window: Window) -> list[dict[str, Any]]:
    """The two reads of one edge: changed since the window's start (any status), then every active object."""
    since = int(window.start.replace(tzinfo=UTC).timestamp())
    base = {"fields": ",".join(fields), "limit": PAGE_LIMIT}
    return [
        {**base, "effective_status": _compact(list(ALL_STATUSES)),
         "filtering": _compact([{"field": f"{prefix}.updated_time", "operator": "GREATER_THAN", "value": since}])},
        {**base, "effective_status": _compact(["ACTIVE"])},
    ]


def extract(conn: Connection, window: Window, *, client: MetaClient | None = None) -> Iterator[Page]:
    """Campaigns, then ad sets, created or changed in ``[window.start, ...)`` or active now."""
    client = client or MetaClient.from_connection(conn)
    account = str(conn.require("ad_account_id")).removeprefix("act_")
    account_id = int(account)
    reads = (("meta_campaigns", "campaigns", "campaign", CAMPAIGN_FIELDS, campaign_record),
             ("meta_ad_sets", "adsets", "adset", AD_SET_FIELDS, ad_set_record))
    for entity, edge, prefix, fields, record in reads:
        path = f"{client.api_version}/act_{account}/{edge}"
        seen: set[int] = set()  # an object in both reads lands once: a batch's keys are unique
        key = ENTITIES[entity][1]
        for params in requests_for(edge, prefix, fields, window):
            for rows, ref in _read(client, path, params):
                records = [r for r in (record(row, account_id, ref) for row in rows) if r[key] not in seen]
                seen.update(r[key] for r in records)
                yield Page(entity, records, ref)
