"""Klaviyo sign-up extraction: the events of the sign-up metrics whose datetime is in a half-open window.

Metric ids differ per account, so each run first reads them by name (:data:`settings.SIGNUP_METRICS`); a metric
the account does not have yet (no one ever signed up that way) is skipped. Each event lands with its profile's
id and e-mail (from the answer's ``included`` profiles) and the list it subscribed to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.pages import Page
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.contracts.windows import Window
from narrowcast.sources.klaviyo.client import KlaviyoEventsClient
from narrowcast.sources.klaviyo.settings import SIGNUP_METRICS

ENTITIES: dict[str, tuple[str, ...]] = {"klaviyo_subscription_events": ("event_id",)}
log = logging.getLogger(__name__)


def _subscribed_at(event: dict[str, Any], where: str) -> datetime:
    attributes = event.get("attributes") or {}
    moment = parse_timestamp(attributes.get("datetime"), where=f"{where} datetime")
    if moment is None and attributes.get("timestamp") is not None:
        # timestamp: the same moment in epoch seconds (EventResponseObjectResource), for an event without datetime
        try:
            moment = datetime.fromtimestamp(int(attributes["timestamp"]), UTC).replace(tzinfo=None)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{where}: timestamp {attributes['timestamp']!r} is not epoch seconds") from exc
    if moment is None:
        raise ValueError(f"{where}: the event has neither datetime nor timestamp")
    return moment


def subscription_record(event: dict[str, Any], profiles: dict[str, dict[str, Any]], metric_id: str,
                        metric_name: str, ref: str) -> dict[str, Any]:
    """One sign-up event as a row; its profile is the one the event's relationship names."""
    where = f"{ref} event {event.get('id')}"
    if not event.get("id"):
        raise ValueError(f"{where}: the event has no id")
    profile_id = ((event.get("relationships") or {}).get("profile") or {}).get("data") or {}
    profile_id = str(profile_id["id"]) if profile_id.get("id") else None
    profile = (profiles.get(profile_id) or {}).get("attributes") or {} if profile_id else {}
    properties = (event.get("attributes") or {}).get("event_properties") or {}
    if not isinstance(properties, dict):
        raise ValueError(f"{where}: event_properties is not an object")
    return {
        "event_id": str(event["id"]),
        "metric_id": metric_id,
        "metric_name": metric_name,
        "profile_id": profile_id,
        "email": profile.get("email") or None,
        "list_name": None if properties.get("List") in (None, "") else str(properties["List"]),
        "subscribed_at": _subscribed_at(event, where),
    }


def extract(conn: Connection, window: Window, *, client: KlaviyoEventsClient | None = None) -> Iterator[Page]:
    """Sign-up events with a datetime in ``[window.start, window.end)``."""
    client = client or KlaviyoEventsClient.from_connection(conn)
    metrics = client.metrics()
    absent = [name for name in SIGNUP_METRICS if name not in metrics]
    if absent:
        log.info("Klaviyo account has no metric %s yet: no such sign-ups to read", ", ".join(map(repr, absent)))
    seen: set[str] = set()
    for name in SIGNUP_METRICS:
        if name not in metrics:
            continue
        for events, profiles, ref in client.events(metrics[name], window.start, window.end):
            records = [subscription_record(e, profiles, metrics[name], name, ref) for e in events]
            # The API filters on the window already; an event outside it is left to the window that holds it.
            kept = [r for r in records if window.contains(r["subscribed_at"]) and r["event_id"] not in seen]
            seen.update(r["event_id"] for r in kept)
            yield Page("klaviyo_subscription_events", kept, ref)
