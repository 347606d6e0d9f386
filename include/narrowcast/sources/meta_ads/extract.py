"""Meta Insights extraction: one record per campaign and day for the days the window covers."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.money import parse_money
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_day
from narrowcast.contracts.windows import Window
from narrowcast.sources.meta_ads.client import MetaClient
from narrowcast.sources.meta_ads.settings import PURCHASE_ACTION_TYPES

ENTITIES: dict[str, tuple[str, ...]] = {
    "meta_ad_insights": ("account_id", "campaign_id", "date_start"),
}


def _purchase(actions: list[dict[str, Any]] | None, where: str) -> Decimal:
    by_type = {a.get("action_type"): a.get("value") for a in actions or []}
    for action_type in PURCHASE_ACTION_TYPES:
        if action_type in by_type:
            return parse_money(by_type[action_type], where=f"{where} {action_type}")
    return Decimal(0)


def _int(value: Any, where: str) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not an integer") from None


def insight_record(row: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} campaign {row.get('campaign_id')} {row.get('date_start')}"
    for key in ("account_id", "campaign_id", "date_start"):
        if row.get(key) in (None, ""):
            raise ValueError(f"{where}: field {key!r} is missing")
    return {
        "account_id": int(str(row["account_id"]).removeprefix("act_")),
        "campaign_id": int(row["campaign_id"]),
        "campaign_name": row.get("campaign_name"),
        "date_start": parse_day(row["date_start"], where=f"{where} date_start"),
        "date_stop": parse_day(row.get("date_stop") or row["date_start"], where=f"{where} date_stop"),
        "impressions": _int(row.get("impressions"), f"{where} impressions"),
        "clicks": _int(row.get("clicks"), f"{where} clicks"),
        "spend": parse_money(row.get("spend") or "0", where=f"{where} spend"),
        "purchases": int(_purchase(row.get("actions"), f"{where} actions")),
        "purchase_value": _purchase(row.get("action_values"), f"{where} action_values"),
        "account_currency": row.get("account_currency"),
    }


def extract(conn: Connection, window: Window, *, client: MetaClient | None = None) -> Iterator[Page]:
    """Campaign × day insights for every day ``[window.start, window.end)`` touches."""
    client = client or MetaClient.from_connection(conn)
    account_id = str(conn.require("ad_account_id")).removeprefix("act_")
    since, until = window.days()
    for rows, ref in client.insights(account_id, since, until):
        yield Page("meta_ad_insights", [insight_record(row, ref) for row in rows], ref)
