"""GAQL over campaign settings for the Google Ads reporting emulator: ``FROM campaign`` (type, sub-type, bidding)
and ``FROM campaign_criterion`` (user-list criteria), without metrics or segments.

Field names, enum names and resource-name formats follow googleapis google/ads/googleads/v22:
resources/campaign.proto (``advertising_channel_type``, ``advertising_channel_sub_type``,
``bidding_strategy_type``, resource ``customers/{customer_id}/campaigns/{campaign_id}``),
resources/campaign_criterion.proto (``criterion_id``, ``type``, ``negative``, ``status``, ``user_list.user_list``,
resource ``customers/{customer_id}/campaignCriteria/{campaign_id}~{criterion_id}``), enums/criterion_type.proto
(USER_LIST) and enums/campaign_status.proto. Responses are proto3 JSON: camelCase, int64 as strings, default
values (``negative: false``) left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from narrowcast.sandbox.emulators.google_ads import QueryError

# GAQL field → (JSON path in camelCase, world column, kind).
METADATA_FIELDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "campaign.id": (("campaign", "id"), "campaign_id", "int64"),
    "campaign.name": (("campaign", "name"), "name", "string"),
    "campaign.status": (("campaign", "status"), "status", "enum"),
    "campaign.advertising_channel_type": (("campaign", "advertisingChannelType"), "advertising_channel_type",
                                          "enum"),
    "campaign.advertising_channel_sub_type": (("campaign", "advertisingChannelSubType"),
                                              "advertising_channel_sub_type", "enum"),
    "campaign.bidding_strategy_type": (("campaign", "biddingStrategyType"), "bidding_strategy_type", "enum"),
    "campaign_criterion.criterion_id": (("campaignCriterion", "criterionId"), "criterion_id", "int64"),
    "campaign_criterion.type": (("campaignCriterion", "type"), "type", "enum"),
    "campaign_criterion.negative": (("campaignCriterion", "negative"), "negative", "bool"),
    "campaign_criterion.status": (("campaignCriterion", "status"), "criterion_status", "enum"),
    "campaign_criterion.user_list.user_list": (("campaignCriterion", "userList", "userList"), "user_list",
                                               "string"),
}
# Fields only the settings path serves: a query selecting one of them (and no metric) is a settings query.
SETTINGS_ONLY = frozenset(METADATA_FIELDS) - {"campaign.id", "campaign.name"}
RESOURCES = ("campaign", "campaign_criterion")

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<resource>[a-z_]+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"^(?P<field>[a-z_.]+)\s*(?P<op>!=|=)\s*'(?P<value>[A-Z_]+)'$", re.IGNORECASE)


@dataclass(frozen=True)
class SettingsQuery:
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[tuple[str, str, str], ...]  # (field, operator, value)
    limit: int | None


def is_settings_query(text: str) -> bool:
    match = _QUERY.match(text or "")
    if not match:
        return False
    fields = {f.strip().lower() for f in match["select"].split(",")}
    return match["resource"].lower() == "campaign_criterion" or bool(fields & SETTINGS_ONLY)


def parse_settings_query(text: str) -> SettingsQuery:
    match = _QUERY.match(text or "")
    if not match:
        raise QueryError("UNEXPECTED_INPUT", "Error in query: expected SELECT <fields> FROM <resource> ...")
    resource = match["resource"].lower()
    if resource not in RESOURCES:
        raise QueryError("PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE",
                         f"The sandbox serves settings FROM campaign or campaign_criterion, not '{resource}'.")
    fields = tuple(f.strip().lower() for f in match["select"].split(","))
    for field in fields:
        if field not in METADATA_FIELDS:
            raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{field}'.")
        if resource == "campaign" and field.startswith("campaign_criterion."):
            raise QueryError("PROHIBITED_FIELD_IN_SELECT_CLAUSE",
                             f"Cannot select a field of campaign_criterion FROM campaign: '{field}'.")
    conditions = []
    for condition in re.split(r"\s+AND\s+", match["where"] or "", flags=re.IGNORECASE):
        if not condition.strip():
            continue
        cond = _CONDITION.match(condition.strip())
        if not cond or cond["field"].lower() not in METADATA_FIELDS:
            raise QueryError("PROHIBITED_FIELD_IN_WHERE_CLAUSE", f"Unsupported condition: '{condition.strip()}'.")
        conditions.append((cond["field"].lower(), cond["op"], cond["value"].upper()))
    for item in (match["order"] or "").split(","):
        name = item.strip().lower().split(" ")[0] if item.strip() else ""
        if name and name not in METADATA_FIELDS:
            raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the ORDER BY clause: '{name}'.")
    return SettingsQuery(fields, resource, tuple(conditions), int(match["limit"]) if match["limit"] else None)


def _value(row: dict[str, Any], field: str) -> Any:
    _, column, kind = METADATA_FIELDS[field]
    value = row.get(column)
    if kind == "int64":
        return str(value) if value else None
    if kind == "bool":
        return True if value else None  # proto3 JSON leaves out false
    return value


def select_rows(rows: list[dict[str, Any]], query: SettingsQuery) -> list[dict[str, Any]]:
    """The world rows a query selects (conditions applied, ordered by campaign then criterion id)."""
    out = []
    for row in rows:
        keep = True
        for field, op, value in query.conditions:
            actual = row.get(METADATA_FIELDS[field][1])
            keep = keep and ((actual == value) if op == "=" else (actual != value))
        if keep:
            out.append(row)
    out.sort(key=lambda r: (r["campaign_id"], r.get("criterion_id") or 0))
    return out[:query.limit] if query.limit is not None else out


def render_settings(row: dict[str, Any], query: SettingsQuery) -> dict[str, Any]:
    customer, campaign = row["customer_id"], row["campaign_id"]
    out: dict[str, Any] = {}
    if any(f.startswith("campaign.") for f in query.fields):
        out["campaign"] = {"resourceName": f"customers/{customer}/campaigns/{campaign}"}
    if query.resource == "campaign_criterion":
        out["campaignCriterion"] = {
            "resourceName": f"customers/{customer}/campaignCriteria/{campaign}~{row['criterion_id']}"}
    for field in query.fields:
        value = _value(row, field)
        if value is None:
            continue
        path, _, _ = METADATA_FIELDS[field]
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out
