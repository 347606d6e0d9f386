"""Klaviyo sign-up client: the ids of the sign-up metrics (``get_metrics``) and their events in a window
(``get_events``), page by page through ``links.next``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from narrowcast.apis.klaviyo import PAGES, KlaviyoApi, filter_datetime, filter_string
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate
from narrowcast.sources.klaviyo.settings import METRIC_INTEGRATION, PAGE_SIZE

METRICS_PATH = "api/metrics"
EVENTS_PATH = "api/events"


def events_filter(metric_id: str, start: datetime, end: datetime) -> str:
    """The events of one metric whose datetime is in ``[start, end)`` (naive UTC)."""
    return (f"and(equals(metric_id,{filter_string(metric_id)}),greater-or-equal(datetime,{filter_datetime(start)}),"
            f"less-than(datetime,{filter_datetime(end)}))")


class KlaviyoEventsClient(KlaviyoApi):
    """Klaviyo's Metrics and Events APIs (``base_url`` e.g. ``https://a.klaviyo.com``)."""

    def metrics(self) -> dict[str, str]:
        """name -> id of the account's metrics of Klaviyo's own integration."""
        params = {"filter": f"equals(integration.name,{filter_string(METRIC_INTEGRATION)})",
                  "fields[metric]": "name,integration"}
        found: dict[str, str] = {}
        for page in paginate(self, METRICS_PATH, params, PAGES):
            for metric in self._data(page, f"GET /{METRICS_PATH} page {page.number}", "metrics"):
                name = (metric.get("attributes") or {}).get("name")
                if name and metric.get("id"):
                    found.setdefault(str(name), str(metric["id"]))
        return found

    def events(self, metric_id: str, start: datetime, end: datetime,
               ) -> Iterator[tuple[list[dict[str, Any]], dict[str, dict[str, Any]], str]]:
        """Every page of the metric's events in ``[start, end)``, oldest first, as (events, profiles by id,
        source_ref); each event's profile comes in the same answer (``include=profile``)."""
        params = {"filter": events_filter(metric_id, start, end), "sort": "datetime", "include": "profile",
                  "fields[event]": "datetime,event_properties", "fields[profile]": "email",
                  "page[size]": PAGE_SIZE}
        for page in paginate(self, EVENTS_PATH, params, PAGES):
            ref = f"GET /{EVENTS_PATH} metric {metric_id} page {page.number}"
            events = self._data(page, ref, "events")
            included = page.json().get("included") or []
            profiles = {str(p["id"]): p for p in included
                        if isinstance(p, dict) and p.get("type") == "profile" and p.get("id")}
            yield events, profiles, ref

    def _data(self, page: Any, ref: str, what: str) -> list[dict[str, Any]]:
        try:
            data = page.json()["data"]
            if not isinstance(data, list):
                raise TypeError("data is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise FatalApiError(self.api_name, "GET", page.response.url, page.response.status_code,
                                f"{ref}: response is not a JSON:API collection of {what} ({exc})") from exc
        return data
