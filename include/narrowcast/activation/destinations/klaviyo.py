"""Klaviyo (JSON:API): list members via profile bulk-import jobs, list removals, and metric events.

Connection ``narrowcast_klaviyo``: ``password`` = private API key (sent as ``Klaviyo-API-Key``); extra
``revision`` (default 2024-10-15) and ``poll_interval_seconds`` (default 1.0).

* ``list_members``: adds/changes → ``POST /api/profile-bulk-import-jobs`` (≤ 10,000 profiles, upsert, with
  the list relationship) polled until complete; per-row failures read from ``import-errors``. Removals →
  profile ids looked up by ``external_id`` then ``DELETE /api/lists/{id}/relationships/profiles`` (≤ 1,000).
* ``event``: one ``POST /api/events`` per row entering the model, with ``unique_id`` = record key + UTC day,
  so a re-send after a crash is de-duplicated by Klaviyo rather than e-mailing the customer twice. In
  mirror mode a row that leaves the model is only forgotten (events cannot be deleted), so a customer who
  qualifies again later triggers the flow again.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
    chunks,
)
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError, HttpClient

LIST_LIMIT = 1_000
LOOKUP_PAGE = 100
_POINTER = re.compile(r"/profiles/data/(\d+)/")
PROFILE_FIELDS = frozenset({"email", "phone_number", "external_id", "first_name", "last_name"})


class KlaviyoClient(HttpClient):
    api_name = "klaviyo"


class Klaviyo(Destination):
    name = "klaviyo"
    connection_id = "narrowcast_klaviyo"
    objects = {
        "list_members": ObjectSpec(
            required_fields=frozenset({"email", "external_id"}),
            required_target=frozenset({"list_id"}),
            default_mode="mirror",
        ),
        "event": ObjectSpec(
            required_fields=frozenset({"external_id"}),
            required_target=frozenset({"metric"}),
            default_mode="mirror",
            allowed_modes=frozenset({"add_only", "mirror"}),
        ),
    }
    limits = Limits(max_batch_size=10_000, default_rps=10.0, default_burst=10.0, max_concurrency=4)
    client_class = KlaviyoClient

    def auth_headers(self, connection: Connection) -> dict[str, str]:
        return {
            "Authorization": f"Klaviyo-API-Key {connection.password}",
            "revision": str(connection.extra.get("revision", "2024-10-15")),
            "Accept": "application/vnd.api+json",
            "Content-Type": "application/vnd.api+json",
        }

    def send(self, batch: Batch) -> list[RowResult]:
        if self.object == "event":
            # Only entering the model is an event; a changed or departed row just updates what is confirmed.
            return [self._event(c) if c.op == "add" else RowResult(c.key, "accepted", sent=False)
                    for c in batch.changes]
        if batch.kind == "remove":
            return self._remove(batch.changes)
        return self._import(batch.changes)

    # ---- list members ----------------------------------------------------------------------------
    def _import(self, changes: list[Change]) -> list[RowResult]:
        profiles = [{"type": "profile", "attributes": _profile(c.payload)} for c in changes]
        body = {"data": {"type": "profile-bulk-import-job",
                         "attributes": {"profiles": {"data": profiles}},
                         "relationships": {"lists": {"data": [{"type": "list", "id": str(self.target["list_id"])}]}}}}
        job = self.client.post_json("api/profile-bulk-import-jobs", body)
        job_id = job["data"]["id"]
        interval = float(self.context.connection.extra.get("poll_interval_seconds", 1.0))
        while True:
            status = self.client.get_json(f"api/profile-bulk-import-jobs/{job_id}")["data"]["attributes"]["status"]
            if status in ("complete", "cancelled", "failed"):
                break
            self.context.sleep(interval)
        if status != "complete":
            return [RowResult(c.key, "rejected", f"Klaviyo import job {job_id} ended {status}") for c in changes]
        reasons: dict[int, str] = {}
        url: str | None = f"api/profile-bulk-import-jobs/{job_id}/import-errors"
        while url:
            page = self.client.get_json(url)
            for err in page.get("data", []):
                attrs = err.get("attributes", {})
                match = _POINTER.search(str((attrs.get("source") or {}).get("pointer", "")))
                if match:
                    reasons[int(match.group(1))] = f"Klaviyo import error: {attrs.get('title')}: {attrs.get('detail')}"
            url = (page.get("links") or {}).get("next")
        return [RowResult(c.key, "rejected", reasons[i]) if i in reasons else RowResult(c.key, "accepted")
                for i, c in enumerate(changes)]

    def _remove(self, changes: list[Change]) -> list[RowResult]:
        by_external = {str(c.payload.get("external_id")): c.key for c in changes}
        profile_ids: list[str] = []
        for group in chunks(sorted(by_external), LOOKUP_PAGE):
            ids = ",".join(json.dumps(v) for v in group)
            url: str | None = "api/profiles"
            params: dict[str, Any] | None = {"filter": f"any(external_id,[{ids}])", "page[size]": LOOKUP_PAGE,
                                             "fields[profile]": "external_id"}
            while url:
                page = self.client.get_json(url, params=params)
                profile_ids.extend(p["id"] for p in page.get("data", []))
                url, params = (page.get("links") or {}).get("next"), None
        for group in chunks(profile_ids, LIST_LIMIT):
            self.client.request("DELETE", f"api/lists/{self.target['list_id']}/relationships/profiles",
                                json={"data": [{"type": "profile", "id": pid} for pid in group]})
        # A profile Klaviyo does not know is not on the list either: the removal holds.
        return [RowResult(c.key, "accepted") for c in changes]

    # ---- events ----------------------------------------------------------------------------------
    def _event(self, change: Change) -> RowResult:
        payload = dict(change.payload)
        attributes: dict[str, Any] = {
            "properties": _properties(payload),
            "metric": {"data": {"type": "metric", "attributes": {"name": str(self.target["metric"])}}},
            "profile": {"data": {"type": "profile", "attributes": {
                k: payload[k] for k in PROFILE_FIELDS if payload.get(k) not in (None, "")}}},
            "unique_id": f"{change.key}:{datetime.now(UTC).date().isoformat()}",
        }
        if payload.get("time"):
            attributes["time"] = str(payload["time"])
        if payload.get("value") is not None:
            attributes["value"] = payload["value"]
        try:
            self.client.post_json("api/events", {"data": {"type": "event", "attributes": attributes}})
        except FatalApiError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403):
                return RowResult(change.key, "rejected", f"Klaviyo refused the event: {exc.message}")
            raise
        return RowResult(change.key, "accepted")


def _properties(payload: dict[str, Any]) -> dict[str, Any]:
    return {k.split(".", 1)[1]: v for k, v in payload.items() if k.startswith("properties.")}


def _profile(payload: Any) -> dict[str, Any]:
    profile = {k: payload[k] for k in PROFILE_FIELDS if payload.get(k) not in (None, "")}
    profile["external_id"] = str(payload["external_id"])
    props = _properties(payload)
    if props:
        profile["properties"] = props
    return profile
